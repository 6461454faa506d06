"""What Keycloak 26.7.3 asks and answers for DPoP (RFC 9449), as the API and the client rely on it."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from kcguard.client.dpop import DPoPKey
from tests.support.keycloak import DEMO_SECRETS, Keycloak

pytestmark = pytest.mark.keycloak


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def dpop_token_request(keycloak: Keycloak, proof: str | None, scope: str = "test_api_access") -> requests.Response:
    headers = {"DPoP": proof} if proof else {}
    data = {"grant_type": "client_credentials", "scope": scope}
    auth = ("dpop_client", DEMO_SECRETS["dpop_client"])
    return requests.post(keycloak.token_url, data=data, auth=auth, headers=headers, timeout=10)


def test_dpop_client_needs_a_proof(keycloak: Keycloak):
    response = dpop_token_request(keycloak, None)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "DPoP proof is missing"}


def test_dpop_client_token_is_bound_to_the_proof_key(keycloak: Keycloak):
    key = DPoPKey()
    response = dpop_token_request(keycloak, key.proof("POST", keycloak.token_url))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    assert "DPoP-Nonce" not in response.headers
    claims = claims_of(response.json()["access_token"])
    assert claims["typ"] == "DPoP"
    assert claims["cnf"] == {"jkt": key.jkt, "kc-jkt-type": "DPoP"}
    assert "test_api_resource" in claims["aud"]
    assert "test_api_access" in claims["scope"].split()


def test_keycloak_refuses_a_replayed_proof_at_its_token_endpoint(keycloak: Keycloak):
    proof = DPoPKey().proof("POST", keycloak.token_url)
    assert dpop_token_request(keycloak, proof).status_code == 200
    replay = dpop_token_request(keycloak, proof)
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_request", "error_description": "DPoP proof has already been used"}


def test_introspection_reports_the_binding(keycloak: Keycloak):
    key = DPoPKey()
    token = dpop_token_request(keycloak, key.proof("POST", keycloak.token_url)).json()["access_token"]
    auth = ("test_api_resource", DEMO_SECRETS["test_api_resource"])
    answer = requests.post(keycloak.token_url + "/introspect", data={"token": token}, auth=auth, timeout=10).json()
    assert answer["active"] is True
    assert answer["token_type"] == "DPoP"
    assert answer["cnf"]["jkt"] == key.jkt
