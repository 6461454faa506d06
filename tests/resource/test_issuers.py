"""Several issuers: Keycloak realms myorg and partner as tenants of one API, against the real Keycloak.

The third realm is the local test issuer: it counts every request it gets,
so the test can show that a token naming it never makes the API call it.
"""

from __future__ import annotations

import pytest

from kcguard.devstack import PARTNER_REALM, free_port
from tests.support.auth import bearer
from tests.support.keycloak import Keycloak
from tests.support.local_issuer import LocalIssuer
from tests.support.metrics import parse, value

pytestmark = pytest.mark.keycloak


def entry(keycloak: Keycloak, realm: str, audience: str = "") -> str:
    """``OIDC_ISSUERS`` entry for ``realm``: its issuer, audience (or the default) and discovery URL."""
    return f"{keycloak.issuer_of(realm)}|{audience}|{keycloak.discovery_url_of(realm)}"


@pytest.fixture
def both_realms(keycloak: Keycloak) -> tuple[str, str]:
    return entry(keycloak, "myorg"), entry(keycloak, PARTNER_REALM)


def test_tokens_of_both_realms_pass_with_both_configured(make_app, both_realms, get_token, partner_token):
    client = make_app(issuers=both_realms).test_client()
    mine = client.get("/api/private", headers=bearer(get_token()))
    assert mine.status_code == 200
    assert mine.json["client_id"] == "test_api_client"
    partner = client.get("/api/private", headers=bearer(partner_token()))
    assert partner.status_code == 200
    assert partner.json["client_id"] == "partner_client"


def test_a_partner_token_is_refused_with_only_myorg_configured(make_app, partner_token):
    response = make_app().test_client().get("/api/private", headers=bearer(partner_token()))
    assert response.status_code == 401
    assert response.json == {"error": "invalid_token", "error_description": "The token was signed with an unknown key."}


def test_a_third_realms_token_is_refused_without_a_request_to_it(make_app, both_realms, local_issuer: LocalIssuer):
    app = make_app(issuers=both_realms)
    client = app.test_client()
    response = client.get("/api/private", headers=bearer(local_issuer.sign()))
    assert response.status_code == 401
    assert response.json == {"error": "invalid_token", "error_description": "The token's issuer is not accepted here."}
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="myorg", error="invalid_token"')
    assert local_issuer.requests == 0
    samples = parse(client.get("/metrics").get_data(as_text=True))
    assert value(samples, "kcguard_token_validations_total", issuer="none", outcome="wrong_issuer") == 1


def test_a_per_issuer_audience_applies_to_that_issuer_only(make_app, keycloak: Keycloak, get_token, partner_token):
    issuers = (entry(keycloak, "myorg"), entry(keycloak, PARTNER_REALM, audience="another_api"))
    client = make_app(issuers=issuers).test_client()
    assert client.get("/api/private", headers=bearer(get_token())).status_code == 200
    response = client.get("/api/private", headers=bearer(partner_token()))
    assert response.status_code == 401
    assert response.json["error_description"] == "Invalid claim: 'aud'."


def test_readyz_reports_each_issuer(make_app, both_realms, keycloak: Keycloak):
    response = make_app(issuers=both_realms).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ready",
        "issuers": [
            {"issuer": keycloak.issuer_of("myorg"), "ready": True},
            {"issuer": keycloak.issuer_of(PARTNER_REALM), "ready": True},
        ],
    }


def test_readyz_is_degraded_while_one_issuer_is_down(make_app, keycloak: Keycloak):
    down = f"http://127.0.0.1:{free_port()}/realms/gone"
    app = make_app(issuers=(entry(keycloak, "myorg"), down), http_timeout=1)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert [(one["issuer"], one["ready"]) for one in response.json["issuers"]] == [
        (keycloak.issuer_of("myorg"), True),
        (down, False),
    ]
    assert response.json["issuers"][1]["problem"].startswith(f"{down}/.well-known/openid-configuration unreachable")


def test_the_browser_sign_in_stays_with_the_first_issuer(make_app, both_realms, keycloak: Keycloak):
    app = make_app(issuers=both_realms)
    assert app.config["SETTINGS"].resource.issuer == keycloak.issuer_of("myorg")
    provider = app.extensions["kcguard.oauth"].keycloak.provider
    assert (provider._url, provider._issuer) == (keycloak.discovery_url_of("myorg"), keycloak.issuer_of("myorg"))
