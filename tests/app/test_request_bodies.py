"""Hostile request bodies: JSON nested too deeply, and oversized chunked bodies, under each server."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcguard.devstack import GUNICORN_ARGS, free_port, wait_http
from tests.support.auth import bearer
from tests.support.live import LiveServer
from tests.support.local_issuer import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 64 * 1024
BOOK = json.dumps({"title": "Chunked", "author": "A. Writer", "num_pages": 10, "cost": 1.5}).encode()


def admin_headers(issuer: LocalIssuer) -> dict[str, str]:
    # The body is what is hostile here; any valid token with books.admin will do.
    return {**bearer(issuer.sign(scope="books.admin")), "Content-Type": "application/json"}


def chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def post_chunked(base_port: int, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", base_port, timeout=10)
    try:
        connection.request("POST", "/api/books", body=chunks(body), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_deeply_nested_json_is_400_not_500(local_issuer: LocalIssuer, make_local_app):
    response = make_local_app().test_client().post("/api/books", data="[" * 60_000, headers=admin_headers(local_issuer))
    assert response.status_code == 400
    assert response.json == {
        "error": "invalid_request",
        "error_description": "The body is not valid JSON.",
    }


def test_oversized_chunked_body_is_413_in_the_test_client(local_issuer: LocalIssuer, make_local_app):
    response = (
        make_local_app()
        .test_client()
        .post(
            "/api/books",
            input_stream=io.BytesIO(b" " * (LIMIT + 1)),
            headers={**admin_headers(local_issuer), "Transfer-Encoding": "chunked"},
            # What a WSGI server sets for a chunked body: no CONTENT_LENGTH, the input terminated by the server.
            environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True},
        )
    )
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"


def test_chunked_bodies_under_werkzeugs_server(local_issuer: LocalIssuer, make_local_app):
    with LiveServer(make_local_app()) as server:
        port = int(server.url.rsplit(":", 1)[1])
        status, body = post_chunked(port, admin_headers(local_issuer), b" " * (LIMIT + 1))
        assert (status, body["error"]) == (413, "request_entity_too_large")
        status, body = post_chunked(port, admin_headers(local_issuer), BOOK)
        assert (status, body["title"]) == (201, "Chunked")


@pytest.fixture
def gunicorn_api(local_issuer: LocalIssuer, tmp_path) -> Iterator[int]:
    """The app under gunicorn with the production arguments, trusting the local issuer; yields its port."""
    port = free_port()
    environment = {
        **os.environ,
        "OIDC_ISSUER": local_issuer.issuer,
        "DATABASE": str(tmp_path / "db.sqlite"),
        "SECRET_KEY": "test-only-" + "k" * 40,
    }
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *GUNICORN_ARGS]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_chunked_bodies_under_gunicorn(local_issuer: LocalIssuer, gunicorn_api: int):
    status, body = post_chunked(gunicorn_api, admin_headers(local_issuer), b" " * (LIMIT + 1))
    assert (status, body["error"]) == (413, "request_entity_too_large")
    status, body = post_chunked(gunicorn_api, admin_headers(local_issuer), b"[" * 60_000)
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = post_chunked(gunicorn_api, admin_headers(local_issuer), BOOK)
    assert (status, body["title"]) == (201, "Chunked")
