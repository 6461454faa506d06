"""Key rotation, unknown-kid floods and Keycloak outages, with a local test issuer."""

from __future__ import annotations

import uuid

from kcguard.devstack import free_port
from tests.support.auth import bearer
from tests.support.local_issuer import LocalIssuer


def get(app, token: str, path: str = "/api/private"):
    return app.test_client().get(path, headers=bearer(token))


def test_keys_are_not_fetched_before_they_are_needed(local_app, local_issuer: LocalIssuer):
    assert local_app.test_client().get("/api/public").status_code == 200
    assert local_app.test_client().get("/healthz").status_code == 200
    assert local_issuer.jwks_fetches == 0


def test_rotated_in_key_is_accepted_after_one_refetch(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_refresh_cooldown=0)
    assert get(app, local_issuer.sign()).status_code == 200
    assert local_issuer.jwks_fetches == 1

    new_key = LocalIssuer.new_key("key-2")
    local_issuer.keys.insert(0, new_key)
    assert get(app, local_issuer.sign(key=new_key)).status_code == 200
    assert local_issuer.jwks_fetches == 2
    assert get(app, local_issuer.sign(key=new_key)).status_code == 200
    assert get(app, local_issuer.sign(key=local_issuer.keys[1])).status_code == 200
    assert local_issuer.jwks_fetches == 2


def test_unknown_kid_flood_fetches_the_jwks_at_most_once_per_cooldown(local_app, local_issuer: LocalIssuer):
    assert get(local_app, local_issuer.sign()).status_code == 200
    assert local_issuer.jwks_fetches == 1
    strangers = [LocalIssuer.new_key(f"forged-{i}") for i in range(3)]
    statuses = [get(local_app, local_issuer.sign(key=strangers[i % 3])).status_code for i in range(60)]
    assert statuses == [401] * 60
    # The first unknown kid may refetch once the initial load is older than the cooldown; here it is not.
    assert local_issuer.jwks_fetches == 1


def test_unknown_kid_refetch_waits_for_the_cooldown(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_refresh_cooldown=0)
    stranger = LocalIssuer.new_key(f"forged-{uuid.uuid4().hex}")
    for _ in range(5):
        assert get(app, local_issuer.sign(key=stranger)).status_code == 401
    # With no cooldown every unknown kid may refetch: initial load + one refetch per request.
    assert local_issuer.jwks_fetches == 6


def test_cached_keys_keep_working_while_keycloak_is_down(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_refresh_cooldown=0)
    assert get(app, local_issuer.sign()).status_code == 200
    local_issuer.down = True
    assert get(app, local_issuer.sign()).status_code == 200
    stranger = LocalIssuer.new_key("while-down")
    response = get(app, local_issuer.sign(key=stranger))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert app.test_client().get("/readyz").status_code == 200


def test_failed_ttl_refresh_keeps_the_last_good_keys(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app(jwks_cache_ttl=0, jwks_refresh_cooldown=0)
    assert get(app, local_issuer.sign()).status_code == 200
    local_issuer.down = True
    assert get(app, local_issuer.sign()).status_code == 200
    assert get(app, local_issuer.sign()).status_code == 200
    assert local_issuer.jwks_fetches == 3


def test_api_starts_without_keycloak_and_validates_once_it_is_up(make_local_app):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/realms/local"
    app = make_local_app(issuer=issuer, jwks_refresh_cooldown=0, http_timeout=1)
    client = app.test_client()
    assert client.get("/api/public").status_code == 200
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["error"] == "not_ready"

    with LocalIssuer(port=port) as local_issuer:
        assert local_issuer.issuer == issuer
        response = get(app, local_issuer.sign())
        assert response.status_code == 200
        assert client.get("/readyz").status_code == 200


def test_private_route_answers_503_while_no_key_was_ever_loaded(make_local_app):
    port = free_port()
    app = make_local_app(issuer=f"http://127.0.0.1:{port}/realms/local", http_timeout=1)
    with LocalIssuer(port=free_port()) as elsewhere:
        response = get(app, elsewhere.sign())
    assert response.status_code == 503
    assert response.json == {
        "error": "temporarily_unavailable",
        "error_description": "Signing keys are not available yet; try again shortly.",
    }
    assert response.headers["Retry-After"] == "5"
