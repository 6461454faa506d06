"""Against a real Keycloak: key rotation through the admin REST API, and an outage with a restart."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from kcguard.devstack import DevStackError, KeycloakServer
from tests.conftest import DEMO_SECRETS, Keycloak, token_request, unavailable
from tests.local_issuer import LocalIssuer

pytestmark = pytest.mark.keycloak


def assert_nothing_secret_logged(text: str, tokens: list[str]) -> None:
    for token in tokens:
        assert token not in text
        assert token.split(".")[2][:16] not in text
    for secret in DEMO_SECRETS.values():
        assert secret not in text


class RealmAdmin:
    """Just enough of Keycloak's admin REST API to rotate realm keys."""

    def __init__(self, keycloak: Keycloak) -> None:
        response = requests.post(
            f"{keycloak.url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": keycloak.admin_username,
                "password": keycloak.admin_password,
            },
            timeout=10,
        )
        assert response.status_code == 200, "the Keycloak admin credentials were refused"
        self._headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        self._base = f"{keycloak.url}/admin/realms/myorg"

    def get(self, path: str):
        response = requests.get(self._base + path, headers=self._headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def rs256_kids(self) -> dict[str, str]:
        """Active RS256 signing keys: kid -> key provider (component) id."""
        keys = self.get("/keys")["keys"]
        return {k["kid"]: k["providerId"] for k in keys if k["algorithm"] == "RS256" and k["status"] == "ACTIVE"}

    def add_rsa_key(self, priority: int) -> str:
        realm_id = self.get("")["id"]
        component = {
            "name": f"rotated-{uuid.uuid4().hex[:8]}",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id,
            "config": {"priority": [str(priority)], "enabled": ["true"], "active": ["true"], "algorithm": ["RS256"]},
        }
        response = requests.post(f"{self._base}/components", json=component, headers=self._headers, timeout=10)
        assert response.status_code == 201, response.text
        return response.headers["Location"].rsplit("/", 1)[1]

    def disable_key_provider(self, component_id: str) -> None:
        component = self.get(f"/components/{component_id}")
        component["config"]["enabled"] = ["false"]
        response = requests.put(
            f"{self._base}/components/{component_id}", json=component, headers=self._headers, timeout=10
        )
        assert response.status_code == 204, response.text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_rotated_realm_key_is_accepted_after_one_refetch_and_disabled_key_follows_policy(
    keycloak: Keycloak, make_app, get_token, caplog
):
    caplog.set_level(logging.DEBUG)
    admin = RealmAdmin(keycloak)
    app = make_app(jwks_refresh_cooldown=0)
    strict = make_app(jwks_refresh_cooldown=0, jwks_cache_ttl=0, token_cache_size=0)
    keys = app.extensions["kcguard.keys"]
    client, strict_client = app.test_client(), strict.test_client()

    old_token = get_token("test_api_client")["access_token"]
    assert client.get("/api/private", headers=bearer(old_token)).status_code == 200
    assert strict_client.get("/api/private", headers=bearer(old_token)).status_code == 200
    assert keys.fetch_count == 1
    old_providers = set(admin.rs256_kids().values())

    new_provider = admin.add_rsa_key(priority=1000 + int(time.time()) % 1000)
    new_token = get_token("test_api_client")["access_token"]
    new_kid = next(kid for kid, provider in admin.rs256_kids().items() if provider == new_provider)
    from joserfc import jws

    assert jws.extract_compact(new_token.encode()).headers()["kid"] == new_kid
    assert client.get("/api/private", headers=bearer(new_token)).status_code == 200
    assert keys.fetch_count == 2
    assert client.get("/api/private", headers=bearer(new_token)).status_code == 200
    assert keys.fetch_count == 2

    for provider in old_providers:
        admin.disable_key_provider(provider)
    # Policy: a token verified before its key was withdrawn stays accepted until its exp (verified-token cache) ...
    assert client.get("/api/private", headers=bearer(old_token)).status_code == 200
    # ... and is refused once the key set no longer has its key and nothing cached it.
    refused = strict_client.get("/api/private", headers=bearer(old_token))
    assert refused.status_code == 401
    assert refused.json["error_description"] == "The token was signed with an unknown key."
    assert strict_client.get("/api/private", headers=bearer(new_token)).status_code == 200
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
    own_keycloak: KeycloakServer, tmp_path, caplog
):
    from kcguard import create_app

    caplog.set_level(logging.DEBUG)
    timeout = 2.0
    app = create_app(
        issuer=own_keycloak.issuer,
        database=str(tmp_path / "books.sqlite"),
        jwks_refresh_cooldown=0,
        http_timeout=timeout,
        token_cache_size=0,
    )
    client = app.test_client()
    before = own_token(own_keycloak)
    assert client.get("/api/private", headers=bearer(before)).status_code == 200

    own_keycloak.stop()
    started = time.monotonic()
    assert client.get("/api/private", headers=bearer(before)).status_code == 200
    # With no cooldown, the unknown kid below really asks the stopped Keycloak.
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
