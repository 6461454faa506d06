"""Request ids on every response and log line; JSON logs; no token, secret or query string in a whole run's logs."""

from __future__ import annotations

import base64
import json
import logging
import re

import pytest
import requests

from kcguard.app.logs import configure_logging
from kcguard.app.settings import AppSettings
from tests.support.auth import bearer
from tests.support.keycloak import DEMO_SECRETS, Keycloak
from tests.support.local_issuer import LocalIssuer
from tests.support.production import production_server
from tests.support.secrets import assert_nothing_secret_logged

#: gunicorn's master writes its own lines before any app code runs (start-up, signals, shutdown).
GUNICORN_MASTER_LINE = re.compile(r"\[[^\]]+\] \[\d+\] \[(INFO|WARNING|ERROR|CRITICAL)\] ")


@pytest.fixture
def logged(capsys):
    """Configure the app's logging to stderr in a format; give back a reader of the JSON lines written."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)

    def configure(log_format: str):
        configure_logging(AppSettings(log_format=log_format))
        return lambda: capsys.readouterr().err.splitlines()

    yield configure
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_a_safe_request_id_is_echoed(local_app):
    response = local_app.test_client().get("/api/public", headers={"X-Request-ID": "trace-42.a_b"})
    assert response.headers["X-Request-ID"] == "trace-42.a_b"


@pytest.mark.parametrize("given", ["", "with space", "x" * 65, "semi;colon", "ünïcode", "a\tb"])
def test_an_unsafe_request_id_is_replaced(local_app, given: str):
    response = local_app.test_client().get("/api/public", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_every_response_gets_an_id_even_refusals(local_app):
    client = local_app.test_client()
    ids = {client.get(path).headers["X-Request-ID"] for path in ("/api/private", "/nowhere", "/metrics", "/healthz")}
    assert len(ids) == 4


def test_json_lines_carry_the_request_id_of_their_request(logged, make_local_app, local_issuer: LocalIssuer):
    read = logged("json")
    app = make_local_app(log_format="json")
    response = app.test_client().get("/api/private", headers={**bearer(local_issuer.sign()), "X-Request-ID": "r-1"})
    assert response.status_code == 200
    lines = [json.loads(line) for line in read()]
    of_request = [line for line in lines if line["request_id"] == "r-1"]
    assert [line["logger"] for line in of_request] == [
        "kcguard.resource.discovery",
        "kcguard.resource.keys",
        "kcguard.access",
    ]
    assert of_request[-1] | {"time": "-", "duration_ms": 0, "process": 0} == {
        "time": "-",
        "level": "INFO",
        "logger": "kcguard.access",
        "message": "GET /api/private 200",
        "request_id": "r-1",
        "process": 0,
        "method": "GET",
        "path": "/api/private",
        "route": "/api/private",
        "status": 200,
        "duration_ms": 0,
    }


def test_text_lines_carry_the_request_id_too(logged, make_local_app, local_issuer: LocalIssuer):
    read = logged("text")
    app = make_local_app()
    app.test_client().get("/api/private", headers={**bearer(local_issuer.sign()), "X-Request-ID": "r-2"})
    lines = read()
    expected = " INFO kcguard.resource.keys [r-2]: loaded 1 signing keys (initial load)"
    assert any(line.endswith(expected) for line in lines)
    assert not any("kcguard.access" in line for line in lines)  # text mode leaves the access log to the server


@pytest.mark.keycloak
def test_a_whole_json_run_under_gunicorn_logs_ids_and_no_secret(keycloak: Keycloak, get_token, tmp_path):
    """Good and bad tokens, tokens in query strings, a sign-in callback with a code, credentials in headers."""
    secret_key = "test-only-secret-key-" + "s" * 24
    environment = {
        "OIDC_ISSUER": keycloak.issuer,
        "OIDC_DISCOVERY_URL": keycloak.discovery_url,
        "OIDC_INTROSPECTION": "1",
        "OIDC_INTROSPECTION_CLIENT_SECRET": DEMO_SECRETS["test_api_resource"],
        "OIDC_INTROSPECTION_CACHE_TTL": "0",
        "DATABASE": str(tmp_path / "db.sqlite"),
        "SECRET_KEY": secret_key,
        "LOG_FORMAT": "json",
    }
    good = get_token("test_api_client", "test_api_access")["access_token"]
    head, payload, signature = good.split(".")
    forged = f"{head}.{payload}.{signature[::-1]}"
    basic = base64.b64encode(f"test_api_client:{DEMO_SECRETS['test_api_client']}".encode()).decode()
    code = "sign-in-code-that-must-not-be-logged"
    log = tmp_path / "gunicorn.log"
    with production_server(environment, log) as url:
        first_headers = {**bearer(good), "X-Request-ID": "first-private"}
        first = requests.get(f"{url}/api/private", headers=first_headers, timeout=10)
        assert first.status_code == 200
        assert first.headers["X-Request-ID"] == "first-private"
        calls = [
            ("/api/private", bearer(good)),
            ("/api/private", bearer(forged)),
            ("/api/private-scoped", bearer(get_token("test_api_client")["access_token"])),
            ("/api/private", {"Authorization": f"Basic {basic}"}),
            (f"/api/public?access_token={good}", {}),
            (f"/callback?code={code}&state=forged-state", {}),
            (f"/nowhere?client_secret={DEMO_SECRETS['test_api_client']}", {}),
            ("/api/public", {"X-Request-ID": "x" * 65}),
            ("/api/public", {"X-Request-ID": "has space"}),
        ]
        answers = [requests.get(url + path, headers=headers, timeout=10) for path, headers in calls]
    assert [answer.status_code for answer in answers] == [200, 401, 403, 400, 200, 400, 404, 200, 200]

    text = log.read_text()
    assert_nothing_secret_logged(text, [good, forged])
    for never in (code, secret_key, "forged-state", "has space", "x" * 65, "?", "access_token=", "client_secret"):
        assert never not in text, never

    records = []
    for line in text.splitlines():
        if GUNICORN_MASTER_LINE.match(line):
            continue
        records.append(json.loads(line))  # everything else is one JSON object per line
    assert len(records) >= len(calls) + 1
    by_id: dict[str, list[dict]] = {}
    for record in records:
        by_id.setdefault(record["request_id"], []).append(record)
    first_lines = by_id["first-private"]
    assert [record["logger"] for record in first_lines] == [
        "kcguard.resource.discovery",
        "kcguard.resource.keys",
        "kcguard.access",
    ]
    assert {record["process"] for record in first_lines} == {first_lines[0]["process"]}
    for answer in answers:
        rid = answer.headers["X-Request-ID"]
        assert [record["logger"] for record in by_id[rid]][-1] == "kcguard.access"
    access = [record for record in records if record["logger"] == "kcguard.access"]
    assert {record["request_id"] for record in access} >= {a.headers["X-Request-ID"] for a in answers}
    assert all(record["request_id"] != "-" for record in records if record["logger"].startswith("kcguard."))
