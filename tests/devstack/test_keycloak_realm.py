"""The myorg realm as Keycloak serves it: clients, scopes and token claims."""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.keycloak import DEMO_SECRETS, Keycloak, token_request

pytestmark = pytest.mark.keycloak


def test_client_credentials_token_has_the_claims_the_api_relies_on(keycloak: Keycloak, get_token):
    from kcguard.client.cli import decode_claims

    response = get_token("test_api_client")
    assert response["token_type"] == "Bearer"
    claims = decode_claims(response["access_token"])
    assert claims["iss"] == keycloak.issuer
    assert "test_api_resource" in claims["aud"]
    assert claims["typ"] == "Bearer"
    assert claims["azp"] == "test_api_client"
    assert isinstance(claims["sub"], str) and claims["sub"]
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert claims["iat"] <= time.time() + 5 < claims["exp"]
    assert isinstance(claims["scope"], str)


def test_requested_scope_is_in_the_token(get_token):
    from kcguard.client.cli import decode_claims

    claims = decode_claims(get_token("test_api_client", "test_api_access")["access_token"])
    assert "test_api_access" in claims["scope"].split()


def test_scope_not_requested_is_not_in_the_token(get_token):
    from kcguard.client.cli import decode_claims

    claims = decode_claims(get_token("test_api_client")["access_token"])
    assert "test_api_access" not in claims["scope"].split()
    assert "books.admin" not in claims["scope"].split()


def test_reporting_client_is_refused_books_admin(keycloak: Keycloak):
    response = token_request(keycloak, "reporting_client", "books.admin")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_reporting_client_may_have_books_read(get_token):
    assert get_token("reporting_client", "books.read")["scope"].split().count("books.read") == 1


def test_wrong_secret_is_refused_with_401(keycloak: Keycloak):
    response = token_request(keycloak, "test_api_client", secret="not-the-secret")
    assert response.status_code == 401
    # Keycloak 26 says unauthorized_client for a known client with a wrong secret ...
    assert response.json()["error"] == "unauthorized_client"


def test_unknown_client_is_refused_with_401_invalid_client(keycloak: Keycloak):
    import requests

    response = requests.post(
        keycloak.token_url, data={"grant_type": "client_credentials"}, auth=("no_such_client", "x"), timeout=10
    )
    assert response.status_code == 401
    # ... and invalid_client for an unknown one.
    assert response.json()["error"] == "invalid_client"


def test_the_api_client_has_no_flows_of_its_own(keycloak: Keycloak):
    response = token_request(keycloak, "test_api_resource")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize("origin", ["http://localhost:50100", "http://127.0.0.1:50100"])
def test_the_token_endpoint_answers_the_explorers_origin(keycloak: Keycloak, origin: str):
    """The explorer asks for test_api_client's token from the page: Keycloak allows its web origins (CORS)."""
    response = _token_request_from(keycloak, origin)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


def test_the_token_endpoint_refuses_another_origin(keycloak: Keycloak):
    """Keycloak does not just leave out the CORS header: it refuses to issue the token (seen on 26.7.3)."""
    response = _token_request_from(keycloak, "http://127.0.0.1:50101")
    assert response.status_code == 403
    assert response.json() == {"error": "Invalid origin"}
    assert "Access-Control-Allow-Origin" not in response.headers


def _token_request_from(keycloak: Keycloak, origin: str) -> requests.Response:
    return requests.post(
        keycloak.token_url,
        data={"grant_type": "client_credentials", "scope": "books.read"},
        auth=("test_api_client", DEMO_SECRETS["test_api_client"]),
        headers={"Origin": origin},
        timeout=10,
    )


def test_the_partner_realms_tokens_name_the_api_and_their_own_issuer(keycloak: Keycloak, partner_token):
    from kcguard.client.cli import decode_claims

    claims = decode_claims(partner_token()["access_token"])
    assert claims["iss"] == keycloak.issuer_of("partner") != keycloak.issuer
    assert "test_api_resource" in claims["aud"]
    assert claims["typ"] == "Bearer"
    assert claims["azp"] == "partner_client"
    assert isinstance(claims["sub"], str) and claims["sub"]
