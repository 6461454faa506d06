"""Revocation: a signed JWT outlives its revocation unless the API asks Keycloak (introspection mode)."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import DEMO_SECRETS, Keycloak

pytestmark = pytest.mark.keycloak


def revoke(keycloak: Keycloak, token: str, client_id: str = "test_api_client") -> None:
    response = requests.post(
        f"{keycloak.realm_url}/protocol/openid-connect/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        auth=(client_id, DEMO_SECRETS[client_id]),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def introspecting_app(make_app, ttl: float = 0.0):
    return make_app(
        introspection=True,
        introspection_client_secret=DEMO_SECRETS["test_api_resource"],
        introspection_cache_ttl=ttl,
    )


def test_revoked_token_is_refused_in_introspection_mode(keycloak: Keycloak, make_app, get_token):
    client = introspecting_app(make_app).test_client()
    token = get_token("test_api_client")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/private", headers=headers).status_code == 200

    revoke(keycloak, token)
    response = client.get("/api/private", headers=headers)
    assert response.status_code == 401
    assert response.json == {"error": "invalid_token", "error_description": "The token is no longer active."}


def test_introspection_result_is_cached_for_its_ttl(keycloak: Keycloak, make_app, get_token):
    client = introspecting_app(make_app, ttl=300).test_client()
    token = get_token("test_api_client")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/private", headers=headers).status_code == 200
    revoke(keycloak, token)
    # Within the TTL the cached "active" answer stands: the documented price of the cache.
    assert client.get("/api/private", headers=headers).status_code == 200


def test_without_introspection_a_revoked_token_stays_valid_until_exp(keycloak: Keycloak, api_client, get_token):
    token = get_token("test_api_client")["access_token"]
    revoke(keycloak, token)
    assert api_client.get("/api/private", headers={"Authorization": f"Bearer {token}"}).status_code == 200
