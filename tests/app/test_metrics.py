"""GET /metrics: never behind the bearer check, off or on a port of its own, exact counts under two workers.

The token sequences are signed by the local test issuer, because Keycloak
will not sign expired, forged or unknown-key tokens on request.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
import requests

from kcguard.app.metrics import LISTENER
from kcguard.app.settings import AppSettings
from kcguard.config import ConfigError
from kcguard.devstack import free_port
from tests.support.auth import bearer
from tests.support.local_issuer import LocalIssuer
from tests.support.metrics import delta, parse, value
from tests.support.production import production_server

VALIDATIONS = "kcguard_token_validations_total"
REQUESTS = "kcguard_http_requests_total"


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse(response.get_data(as_text=True))


def test_metrics_need_no_token_and_ignore_a_bad_one(local_app):
    client = local_app.test_client()
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer not.a.token"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 200


def test_metrics_off_serves_nothing(make_local_app):
    response = make_local_app(metrics="off").test_client().get("/metrics")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_metrics_on_a_port_of_their_own_leave_the_api_port(make_local_app, caplog):
    port = free_port()
    app = make_local_app(metrics=str(port))
    listener = app.extensions[LISTENER]
    try:
        assert app.test_client().get("/metrics").status_code == 404
        app.test_client().get("/api/public")
        answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert answer.status_code == 200
        assert value(parse(answer.text), REQUESTS, route="/api/public", status="200") == 1
        second = make_local_app(metrics=str(port))  # as a second worker would: the port is taken, no error
        assert second.extensions[LISTENER] is None
        assert f"metrics listener on 127.0.0.1:{port} is served by another worker" in caplog.text
    finally:
        listener.shutdown()
        listener.server_close()


def test_requests_are_counted_by_route_template_and_bounded_labels(local_app, local_issuer: LocalIssuer):
    client = local_app.test_client()
    token = bearer(local_issuer.sign(scope="books.read"))
    assert client.get("/api/books/1", headers=token).status_code == 200
    assert client.get("/api/books/2", headers=token).status_code == 200
    assert client.get(f"/no-such-page/{uuid.uuid4()}").status_code == 404
    assert client.open("/api/public", method="BREW").status_code == 405
    samples = scrape(client)
    book_route = next(rule.rule for rule in local_app.url_map.iter_rules() if rule.endpoint == "api.get_book")
    assert book_route.startswith("/api/books/<int")
    assert value(samples, REQUESTS, method="GET", route=book_route, status="200") == 2
    assert value(samples, REQUESTS, method="GET", route="unmatched", status="404") == 1
    assert value(samples, REQUESTS, method="OTHER", route="unmatched", status="405") == 1
    assert value(samples, "kcguard_http_request_duration_seconds_count", route=book_route) == 2
    routes = {dict(labels)["route"] for (name, labels) in samples if name == REQUESTS}
    assert routes == {book_route, "unmatched"}


def test_key_and_cache_series_follow_the_validator(local_app, local_issuer: LocalIssuer):
    client = local_app.test_client()
    for _ in range(2):
        assert client.get("/api/private", headers=bearer(local_issuer.sign())).status_code == 200
    samples = scrape(client)
    issuer = local_issuer.issuer
    assert value(samples, "kcguard_jwks_fetches_total", issuer=issuer, reason="initial_load", result="ok") == 1
    assert value(samples, "kcguard_jwks_keys", issuer=issuer) == 1
    assert value(samples, "kcguard_token_cache_entries", issuer=issuer) == 2
    assert 0 <= value(samples, "kcguard_jwks_seconds_since_last_success", issuer=issuer) < 60
    assert value(samples, "kcguard_jwks_last_success_timestamp_seconds", issuer=issuer) == pytest.approx(
        time.time(), abs=60
    )


@pytest.mark.parametrize(("variable", "raw"), [("METRICS", "sometimes"), ("METRICS", "70000"), ("LOG_FORMAT", "xml")])
def test_bad_operations_settings_name_the_variable(variable: str, raw: str):
    with pytest.raises(ConfigError, match=variable):
        AppSettings.from_env({variable: raw})


def test_a_missing_multiprocess_directory_stops_start_up(make_local_app, tmp_path):
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        make_local_app(metrics_dir=str(tmp_path / "missing"))


def test_exact_counts_under_two_gunicorn_workers(local_issuer: LocalIssuer, tmp_path):
    """Good, expired, wrongly signed and unknown-kid tokens, each counted once, the two workers' counts summed.

    A half-sent request holds one sync worker (connections are accepted in
    order, so it is the first one taken), and the other serves the
    sequence; the held request then finishes with a good token. Both
    workers have counted, and every scrape, whichever worker answers it,
    shows the sum.
    """
    directory = tmp_path / "metrics"
    directory.mkdir()
    environment = {
        "OIDC_ISSUER": local_issuer.issuer,
        "OIDC_JWKS_REFRESH_COOLDOWN": "60",
        "DATABASE": str(tmp_path / "db.sqlite"),
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "LOG_FORMAT": "json",
        "WEB_CONCURRENCY": "2",
    }
    now = int(time.time())
    impostor = LocalIssuer.new_key(local_issuer.key.kid)  # same kid, other key: a wrong signature
    stranger = LocalIssuer.new_key("stranger")
    sequence = {
        "ok": [local_issuer.sign() for _ in range(3)],
        "expired": [local_issuer.sign(exp=now - 120, iat=now - 420) for _ in range(2)],
        "bad_signature": [local_issuer.sign(key=impostor) for _ in range(2)],
        "unknown_kid": [local_issuer.sign(key=stranger) for _ in range(2)],
    }
    repeated = local_issuer.sign()
    log = tmp_path / "gunicorn.log"
    with production_server(environment, log) as url:
        held = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10)
        with held:
            held.sendall(b"GET /api/private HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            before = parse(requests.get(f"{url}/metrics", timeout=5).text)
            for outcome, tokens in sequence.items():
                for token in tokens:
                    answer = requests.get(f"{url}/api/private", headers=bearer(token), timeout=5)
                    assert answer.status_code == (200 if outcome == "ok" else 401), outcome
            for _ in range(4):
                assert requests.get(f"{url}/api/private", headers=bearer(repeated), timeout=5).status_code == 200
            held.sendall(f"Authorization: Bearer {local_issuer.sign()}\r\nConnection: close\r\n\r\n".encode())
            assert held.recv(64).startswith(b"HTTP/1.1 200 ")
        scrapes = [parse(requests.get(f"{url}/metrics", timeout=5).text) for _ in range(4)]
    after = scrapes[0]
    issuer = local_issuer.issuer

    def validations(outcome: str) -> float:
        return delta(before, after, VALIDATIONS, issuer=issuer, outcome=outcome)

    assert validations("ok") == 3 + 1 + 1  # the distinct good tokens, the repeated one's first use, the held one
    assert validations("cache_hit") == 3
    assert validations("expired") == 2
    assert validations("bad_signature") == 2
    assert validations("unknown_kid") == 2
    for outcome in ("wrong_issuer", "wrong_audience", "malformed", "unavailable", "insufficient_scope"):
        assert validations(outcome) == 0, outcome
    assert delta(before, after, REQUESTS, route="/api/private", status="200") == 3 + 4 + 1
    assert delta(before, after, REQUESTS, route="/api/private", status="401") == 6
    assert delta(before, after, "kcguard_http_request_duration_seconds_count", route="/api/private") == 14
    assert value(after, "kcguard_jwks_fetches_total", issuer=issuer, reason="initial_load", result="ok") == 2
    for later in scrapes[1:]:
        assert value(later, VALIDATIONS, issuer=issuer) == value(after, VALIDATIONS, issuer=issuer)
        assert value(later, REQUESTS, route="/api/private") == value(after, REQUESTS, route="/api/private")
    assert list(directory.glob("gauge_live*")) == []  # each worker marked its live gauges dead on exit
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    private = [line for line in lines if line.get("route") == "/api/private"]
    assert len(private) == 14
    assert len({line["process"] for line in private}) == 2


def test_exact_counts_under_two_granian_workers(local_issuer: LocalIssuer, tmp_path):
    """The same multiprocess directory works for granian (skipped unless it is installed)."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    environment = {
        "OIDC_ISSUER": local_issuer.issuer,
        "DATABASE": str(tmp_path / "db.sqlite"),
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "LOG_FORMAT": "json",
    }
    now = int(time.time())
    with production_server(environment, tmp_path / "granian.log", server="granian") as url:
        before = parse(requests.get(f"{url}/metrics", timeout=5).text)
        for token in [local_issuer.sign() for _ in range(6)]:
            assert requests.get(f"{url}/api/private", headers=bearer(token), timeout=5).status_code == 200
        for token in [local_issuer.sign(exp=now - 120, iat=now - 420) for _ in range(3)]:
            assert requests.get(f"{url}/api/private", headers=bearer(token), timeout=5).status_code == 401
        scrapes = [parse(requests.get(f"{url}/metrics", timeout=5).text) for _ in range(4)]
    for after in scrapes:
        assert delta(before, after, VALIDATIONS, outcome="ok") == 6
        assert delta(before, after, VALIDATIONS, outcome="expired") == 3
        assert delta(before, after, REQUESTS, route="/api/private", status="200") == 6
    assert len(list(directory.glob("counter_*.db"))) == 2
