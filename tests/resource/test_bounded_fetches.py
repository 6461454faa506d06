"""Every call to Keycloak is bounded (bytes, total time), follows no redirect, and checks discovery's endpoints."""

from __future__ import annotations

import logging

import pytest

from tests.support.auth import bearer
from tests.support.local_issuer import LocalIssuer
from tests.support.misbehaving import MisbehavingServer


def private(app, token: str):
    return app.test_client().get("/api/private", headers=bearer(token))


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_huge_jwks_is_refused_without_being_read_whole(local_issuer: LocalIssuer, make_local_app):
    with MisbehavingServer("huge", size=64 * 1024 * 1024) as server:
        app = make_local_app(jwks_url=server.url, http_timeout=5)
        assert_unavailable(private(app, local_issuer.sign()))
    # 64 MiB offered; the client hung up after its 512 KiB limit (plus what socket buffers took).
    assert server.sent < 16 * 1024 * 1024


@pytest.mark.parametrize("behaviour", ["drip_body", "drip_headers"])
def test_dripped_answer_is_cut_at_the_total_deadline(local_issuer: LocalIssuer, make_local_app, behaviour, caplog):
    caplog.set_level(logging.WARNING)
    with MisbehavingServer(behaviour, interval=0.1) as server:
        app = make_local_app(jwks_url=server.url, http_timeout=1)
        assert_unavailable(private(app, local_issuer.sign()))
        app.extensions["kcguard.validator"].keys.join(10)
    # A byte every 0.1 s for over 20 s; a per-read timeout of 1 s would have read it all.
    assert server.sent < 120
    assert "took longer than 1 s" in caplog.text


def test_redirect_from_keycloak_is_not_followed(local_issuer: LocalIssuer, make_local_app, caplog):
    caplog.set_level(logging.WARNING)
    jwks = f"{local_issuer.issuer}/protocol/openid-connect/certs"
    with MisbehavingServer("redirect", location=jwks) as server:
        app = make_local_app(jwks_url=server.url, http_timeout=2)
        assert_unavailable(private(app, local_issuer.sign()))
    assert local_issuer.jwks_fetches == 0
    assert "redirects are not followed" in caplog.text


def test_plain_http_introspection_endpoint_from_discovery_is_refused(local_issuer: LocalIssuer, make_local_app, caplog):
    caplog.set_level(logging.WARNING)
    local_issuer.metadata["introspection_endpoint"] = "http://keycloak.invalid/introspect"
    app = make_local_app(introspection=True, introspection_client_secret="test-only-secret", http_timeout=2)
    response = private(app, local_issuer.sign())
    assert_unavailable(response)
    assert response.json["error_description"] == "Token introspection is unavailable; try again shortly."
    assert "introspection_endpoint from the discovery document uses plain http" in caplog.text


def test_plain_http_jwks_uri_from_discovery_is_refused(local_issuer: LocalIssuer, make_local_app, caplog):
    caplog.set_level(logging.WARNING)
    local_issuer.metadata["jwks_uri"] = "http://keycloak.invalid/certs"
    app = make_local_app(http_timeout=2)
    assert_unavailable(private(app, local_issuer.sign()))
    assert "plain http on a non-loopback host (keycloak.invalid)" in caplog.text
