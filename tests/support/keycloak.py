"""Reaching a test Keycloak: a server you run, testcontainers, or the launcher; and its token endpoint."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from kcguard.devstack import (
    KEYCLOAK_VERSION,
    PARTNER_REALM_FILE,
    REALM,
    REALM_FILES,
    KeycloakServer,
    demo_client_secrets,
)

#: Every demo client secret of both realms (client ids are distinct across them).
DEMO_SECRETS = {**demo_client_secrets(), **demo_client_secrets(PARTNER_REALM_FILE)}


def unavailable(reason: str) -> None:
    """Skip for a missing dependency of a test, or fail when REQUIRE_KEYCLOAK=1 (CI)."""
    if os.environ.get("REQUIRE_KEYCLOAK") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Keycloak:
    """A reachable Keycloak with the myorg realm."""

    url: str
    issuer: str
    admin_username: str
    admin_password: str
    server: KeycloakServer | None = None

    @property
    def realm_url(self) -> str:
        return f"{self.url}/realms/{REALM}"

    @property
    def discovery_url(self) -> str:
        return f"{self.realm_url}/.well-known/openid-configuration"

    @property
    def token_url(self) -> str:
        return f"{self.realm_url}/protocol/openid-connect/token"

    def issuer_of(self, realm: str) -> str:
        """The ``iss`` of another realm's tokens on this Keycloak."""
        return self.issuer.rsplit("/realms/", 1)[0] + f"/realms/{realm}"

    def discovery_url_of(self, realm: str) -> str:
        return f"{self.url}/realms/{realm}/.well-known/openid-configuration"


def token_request(
    keycloak: Keycloak | KeycloakServer,
    client_id: str,
    scope: str = "",
    secret: str | None = None,
    realm: str = REALM,
) -> requests.Response:
    """A client-credentials request to ``realm``'s token endpoint; the demo secret unless ``secret`` is given."""
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    auth = (client_id, DEMO_SECRETS[client_id] if secret is None else secret)
    token_url = f"{keycloak.url}/realms/{realm}/protocol/openid-connect/token"
    return requests.post(token_url, data=data, auth=auth, timeout=10)


def revoke(keycloak: Keycloak, token: str, client_id: str = "test_api_client") -> None:
    """Revoke ``token`` at Keycloak (only the client it was issued to may)."""
    response = requests.post(
        f"{keycloak.realm_url}/protocol/openid-connect/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        auth=(client_id, DEMO_SECRETS[client_id]),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def from_url(url: str) -> Keycloak:
    """A Keycloak someone runs (``KEYCLOAK_URL``); its admin password from ``KC_BOOTSTRAP_ADMIN_PASSWORD``."""
    issuer = requests.get(f"{url}/realms/{REALM}/.well-known/openid-configuration", timeout=10).json()["issuer"]
    return Keycloak(
        url,
        issuer,
        os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
        os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", ""),
    )


def docker_answers() -> bool:
    """True when a Docker engine answers a ping (checked without leaking the client's socket)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        return False
    import docker

    try:
        with contextlib.closing(docker.from_env(timeout=3)) as client:
            return bool(client.ping())
    except docker.errors.DockerException:
        return False


@contextlib.contextmanager
def from_testcontainers() -> Iterator[Keycloak]:
    from testcontainers.community.keycloak import KeycloakContainer

    container = KeycloakContainer(f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}", password=uuid.uuid4().hex)
    for realm_file in REALM_FILES:
        container.with_realm_import_file(str(realm_file))
    with container:
        url = container.get_url().rstrip("/")
        issuer = requests.get(f"{url}/realms/{REALM}/.well-known/openid-configuration", timeout=10).json()["issuer"]
        yield Keycloak(url, issuer, container.username, container.password)
