"""The API over real HTTP under each production server: granian (the default) and gunicorn's two worker kinds.

Each server gets what gunicorn gave before granian became the default: the
routes' exact answers, bounded bodies (also when chunked), no query strings in
the access log, the worker count from ``WEB_CONCURRENCY`` and a clean stop on
SIGTERM. Tokens come from the local issuer, so no Keycloak is needed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from kcguard.devstack import GUNICORN_ARGS, free_port, stop_process, wait_http
from tests.support.local_issuer import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
SERVERS = {
    # What scripts/serve and the Dockerfile run.
    "granian": [sys.executable, "-m", "kcguard.devstack", "serve"],
    "gunicorn sync": [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", *GUNICORN_ARGS],
    "gunicorn gthread": [
        *[sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--worker-class", "gthread"],
        *["--threads", "4", *GUNICORN_ARGS],
    ],
}


@dataclass
class Served:
    url: str
    issuer: LocalIssuer
    process: subprocess.Popen[bytes]
    log: Path

    def bearer(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.sign(scope=scope)}"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(port=free_port()) as local:
        yield local


@pytest.fixture(scope="module", params=list(SERVERS))
def served(request, issuer: LocalIssuer, tmp_path_factory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("server")
    port = free_port()
    environment = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "OIDC_ISSUER": issuer.issuer,
        "OIDC_DISCOVERY_URL": "",
        "OIDC_JWKS_URL": "",
        "DATABASE": str(workdir / "books.sqlite"),
        "WEB_CLIENT_ID": "",
    }
    command = [part.format(port=port) for part in SERVERS[request.param]]
    log = workdir / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", 30, process)
        yield Served(url, issuer, process, log)
    finally:
        stop_process(process)
        # A server that died hard leaves its workers running: end its whole process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def test_routes_answer_as_in_the_test_client(served):
    assert requests.get(f"{served.url}/api/public", timeout=5).status_code == 200
    private = requests.get(f"{served.url}/api/private", headers=served.bearer("profile"), timeout=5)
    assert private.status_code == 200
    assert private.json()["scopes"] == ["profile"]
    missing = requests.get(f"{served.url}/api/private", timeout=5)
    assert missing.status_code == 401
    metadata = f'resource_metadata="{served.url}/.well-known/oauth-protected-resource"'
    assert missing.headers["WWW-Authenticate"] == (
        f'Bearer realm="local", {metadata}, DPoP algs="ES256 RS256 PS256 EdDSA", {metadata}'
    )
    scoped = requests.get(f"{served.url}/api/private-scoped", headers=served.bearer("profile"), timeout=5)
    assert scoped.status_code == 403
    assert scoped.json()["error"] == "insufficient_scope"


def test_books_can_be_added_and_read(served):
    headers = served.bearer("books.admin books.read")
    added = requests.post(
        f"{served.url}/api/books",
        json={"title": "Dune", "author": "Herbert", "num_pages": 412, "cost": 9.99},
        headers=headers,
        timeout=5,
    )
    assert added.status_code == 201
    listed = requests.get(f"{served.url}/api/books", headers=headers, timeout=5)
    assert listed.status_code == 200
    assert added.json() in listed.json()["books"]


def test_an_oversized_body_is_413_with_a_length(served):
    headers = {**served.bearer("books.admin"), "Content-Type": "application/json"}
    response = requests.post(f"{served.url}/api/books", data="x" * (64 * 1024 + 1), headers=headers, timeout=5)
    assert response.status_code == 413
    assert response.json()["error"] == "request_entity_too_large"


def test_an_oversized_chunked_body_is_413(served):
    headers = {**served.bearer("books.admin"), "Content-Type": "application/json"}
    chunks = (b"x" * 8192 for _ in range(10))  # a generator: requests sends Transfer-Encoding: chunked
    response = requests.post(f"{served.url}/api/books", data=chunks, headers=headers, timeout=5)
    assert response.status_code == 413
    assert response.json()["error"] == "request_entity_too_large"


def test_the_access_log_has_the_path_without_the_query(served):
    assert requests.get(f"{served.url}/api/public?code=not-for-logs", timeout=5).status_code == 200
    wait_http(f"{served.url}/healthz", 5, served.process)  # the access line is written by then
    log = served.log.read_text(errors="replace")
    assert "GET /api/public" in log
    assert "not-for-logs" not in log


def test_workers_come_from_web_concurrency(served):
    children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children").read_text().split()
    assert len(children) == WORKERS


def test_sigterm_stops_every_worker_cleanly(served):
    workers = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children").read_text().split()
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=40) == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
