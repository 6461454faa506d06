"""The token client sends its secret only to a checked token endpoint, and never through a redirect."""

from __future__ import annotations

import pytest

from kcguard.client import ClientSettings, KeycloakUnreachable, TokenClient
from tests.support.local_issuer import LocalIssuer
from tests.support.misbehaving import MisbehavingServer

SECRET = "test-only-client-secret"


def client_for(issuer: LocalIssuer) -> TokenClient:
    settings = ClientSettings(issuer=issuer.issuer, client_id="test_client", client_secret=SECRET, timeout=2)
    return TokenClient(settings)


def test_plain_http_token_endpoint_from_discovery_is_refused(local_issuer: LocalIssuer):
    local_issuer.metadata["token_endpoint"] = "http://keycloak.invalid/token"
    with pytest.raises(KeycloakUnreachable) as raised:
        client_for(local_issuer).get_token()
    assert "token_endpoint from the discovery document uses plain http" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_redirect_from_the_token_endpoint_is_not_followed(local_issuer: LocalIssuer):
    with MisbehavingServer("refuse") as elsewhere, MisbehavingServer("redirect", location=elsewhere.url) as hop:
        local_issuer.metadata["token_endpoint"] = hop.url
        with pytest.raises(KeycloakUnreachable):
            client_for(local_issuer).get_token()
        assert hop.requests == 1
    assert elsewhere.requests == 0
