"""Against a real Keycloak: key rotation through the admin REST API, and an outage with a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from kcguard.devstack import DevStackError, KeycloakServer
from tests.support.auth import bearer
from tests.support.clock import SteppedClock
from tests.support.keycloak import Keycloak, token_request, unavailable
from tests.support.local_issuer import LocalIssuer
from tests.support.realm_admin import RealmAdmin
from tests.support.secrets import assert_nothing_secret_logged

pytestmark = pytest.mark.keycloak


def test_rotated_realm_key_is_accepted_after_one_refetch_and_a_withdrawn_key_is_refused_after_the_next_refresh(
    keycloak: Keycloak, make_app, get_token, caplog
):
    caplog.set_level(logging.DEBUG)
    admin = RealmAdmin(keycloak)
    app = make_app(jwks_refresh_cooldown=30)
    keys = app.extensions["kcguard.validator"].keys
    clock = SteppedClock()
    keys.clock = clock
    client = app.test_client()

    old_token = get_token("test_api_client")["access_token"]
    assert client.get("/api/private", headers=bearer(old_token)).status_code == 200
    assert keys.fetch_count == 1
    old_providers = set(admin.rs256_kids().values())

    new_provider = admin.add_rsa_key(priority=1000 + int(time.time()) % 1000)
    new_token = get_token("test_api_client")["access_token"]
    new_kid = next(kid for kid, provider in admin.rs256_kids().items() if provider == new_provider)
    from joserfc import jws

    assert jws.extract_compact(new_token.encode()).headers()["kid"] == new_kid
    # Within the cooldown of the initial load: the refetch budget is not spent by it.
    assert client.get("/api/private", headers=bearer(new_token)).status_code == 200
    assert keys.fetch_count == 2
    assert client.get("/api/private", headers=bearer(new_token)).status_code == 200
    assert keys.fetch_count == 2

    for provider in old_providers:
        admin.disable_key_provider(provider)
    # Policy: a token verified with a key stays accepted until the next refresh shows the key is gone ...
    assert client.get("/api/private", headers=bearer(old_token)).status_code == 200
    clock.advance(600)  # OIDC_JWKS_CACHE_TTL: this request starts a background refresh
    assert client.get("/api/private", headers=bearer(new_token)).status_code == 200
    keys.join(10)
    # ... then it is refused, cached as verified or not.
    refused = client.get("/api/private", headers=bearer(old_token))
    assert refused.status_code == 401
    assert refused.json["error_description"] == "The token was signed with an unknown key."
    assert client.get("/api/private", headers=bearer(new_token)).status_code == 200
    assert_nothing_secret_logged(caplog.text, [old_token, new_token])


@pytest.fixture(scope="module")
def own_keycloak() -> Iterator[KeycloakServer]:
    """A Keycloak of this module's own, so it can be stopped and started again."""
    server = KeycloakServer()
    try:
        server.start()
    except DevStackError as error:
        unavailable(f"the launcher could not start a second Keycloak: {error}")
    try:
        yield server
    finally:
        server.stop()


def own_token(server: KeycloakServer) -> str:
    response = token_request(server, "test_api_client")
    assert response.status_code == 200
    return response.json()["access_token"]


def test_outage_keeps_issued_tokens_working_and_a_restart_needs_no_api_restart(
    own_keycloak: KeycloakServer, make_local_app, caplog
):
    caplog.set_level(logging.DEBUG)
    timeout = 2.0
    app = make_local_app(
        issuer=own_keycloak.issuer,
        jwks_refresh_cooldown=1,
        http_timeout=timeout,
        token_cache_size=0,
    )
    client = app.test_client()
    before = own_token(own_keycloak)
    assert client.get("/api/private", headers=bearer(before)).status_code == 200

    own_keycloak.stop()
    started = time.monotonic()
    assert client.get("/api/private", headers=bearer(before)).status_code == 200
    # The refetch budget is unspent, so the unknown kid below really asks the stopped Keycloak.
    stranger = LocalIssuer.new_key("unknown-during-outage")
    forged = LocalIssuer(port=0).sign(key=stranger, iss=own_keycloak.issuer)
    unknown = client.get("/api/private", headers=bearer(forged))
    assert unknown.status_code == 401
    assert unknown.json["error_description"] == "The token was signed with an unknown key."
    assert time.monotonic() - started < 2 * timeout + 2
    assert client.get("/readyz").status_code == 200

    own_keycloak.start()  # same ports and issuer; a fresh in-memory realm with new keys
    after = own_token(own_keycloak)
    assert client.get("/api/private", headers=bearer(after)).status_code == 200
    # The old realm's key is gone with it: tokens signed by it are now refused, not a 5xx.
    assert client.get("/api/private", headers=bearer(before)).status_code == 401
    assert_nothing_secret_logged(caplog.text, [before, after, forged])
