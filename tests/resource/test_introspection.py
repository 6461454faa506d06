"""Revocation: a signed JWT outlives its revocation unless the API asks Keycloak (introspection mode)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.support.auth import bearer
from tests.support.keycloak import Keycloak, revoke

pytestmark = pytest.mark.keycloak


def test_revoked_token_is_refused_in_introspection_mode(keycloak: Keycloak, make_introspecting_app, get_token):
    client = make_introspecting_app().test_client()
    token = get_token("test_api_client")["access_token"]
    headers = bearer(token)
    assert client.get("/api/private", headers=headers).status_code == 200

    revoke(keycloak, token)
    response = client.get("/api/private", headers=headers)
    assert response.status_code == 401
    assert response.json == {"error": "invalid_token", "error_description": "The token is no longer active."}


def test_introspection_result_is_cached_for_its_ttl(keycloak: Keycloak, make_introspecting_app, get_token):
    client = make_introspecting_app(ttl=300).test_client()
    token = get_token("test_api_client")["access_token"]
    headers = bearer(token)
    assert client.get("/api/private", headers=headers).status_code == 200
    revoke(keycloak, token)
    # Within the TTL the cached "active" answer stands: the documented price of the cache.
    assert client.get("/api/private", headers=headers).status_code == 200


def test_without_introspection_a_revoked_token_stays_valid_until_exp(keycloak: Keycloak, api_client, get_token):
    token = get_token("test_api_client")["access_token"]
    revoke(keycloak, token)
    assert api_client.get("/api/private", headers=bearer(token)).status_code == 200


def test_revoked_token_replayed_costs_keycloak_one_introspection_call(
    keycloak: Keycloak, make_introspecting_app, get_token
):
    app = make_introspecting_app()
    introspector = app.extensions["kcguard.validator"]._introspector
    metadata = introspector._metadata
    asked: list[str] = []

    def counting_endpoint(name: str) -> str:
        asked.append(name)
        return metadata.endpoint(name)

    introspector._metadata = SimpleNamespace(endpoint=counting_endpoint)
    client = app.test_client()
    token = get_token("test_api_client")["access_token"]
    revoke(keycloak, token)
    statuses = [client.get("/api/private", headers=bearer(token)).status_code for _ in range(20)]
    assert statuses == [401] * 20
    # The "inactive" answer is remembered by the token's digest until its exp.
    assert asked == ["introspection_endpoint"]
