"""Fixtures: a live Keycloak, the app built against it, tokens, and a local test issuer.

Keycloak comes, in this order, from ``KEYCLOAK_URL`` (a server you run),
testcontainers (when a Docker engine answers), or the no-Docker launcher.
Without any of them the Keycloak tests are skipped, or fail when
``REQUIRE_KEYCLOAK=1`` (CI sets it).
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from kcguard import create_app
from kcguard.devstack import REALM, REALM_FILE, DevStackError, KeycloakServer, demo_client_secrets, free_port
from tests.local_issuer import LocalIssuer

DEMO_SECRETS = demo_client_secrets()


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


def _docker_answers() -> bool:
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
def _keycloak_from_testcontainers() -> Iterator[Keycloak]:
    from testcontainers.community.keycloak import KeycloakContainer

    from kcguard.devstack import KEYCLOAK_VERSION

    container = KeycloakContainer(f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}", password=uuid.uuid4().hex)
    container.with_realm_import_file(str(REALM_FILE))
    with container:
        url = container.get_url().rstrip("/")
        issuer = requests.get(f"{url}/realms/{REALM}/.well-known/openid-configuration", timeout=10).json()["issuer"]
        yield Keycloak(url, issuer, container.username, container.password)


@pytest.fixture(scope="session")
def keycloak() -> Iterator[Keycloak]:
    url = os.environ.get("KEYCLOAK_URL", "").rstrip("/")
    if url:
        discovery = f"{url}/realms/{REALM}/.well-known/openid-configuration"
        issuer = requests.get(discovery, timeout=10).json()["issuer"]
        yield Keycloak(
            url,
            issuer,
            os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
            os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", ""),
        )
        return
    if _docker_answers():
        with _keycloak_from_testcontainers() as found:
            yield found
        return
    try:
        server = KeycloakServer()
        server.start()
    except DevStackError as error:
        unavailable(f"no Keycloak: no KEYCLOAK_URL, no Docker engine, and the launcher failed: {error}")
    try:
        yield Keycloak(server.url, server.issuer, server.admin_username, server.admin_password, server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def get_token(keycloak: Keycloak) -> Callable[..., dict[str, Any]]:
    """Client-credentials token response from the real token endpoint (raises on error)."""

    def fetch(client_id: str = "test_api_client", scope: str = "", secret: str | None = None) -> dict[str, Any]:
        response = token_request(keycloak, client_id, scope, secret)
        assert response.status_code == 200, response.text
        return response.json()

    return fetch


def token_request(
    keycloak: Keycloak | KeycloakServer, client_id: str, scope: str = "", secret: str | None = None
) -> requests.Response:
    """A client-credentials request to the realm's token endpoint; the demo secret unless ``secret`` is given."""
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    auth = (client_id, DEMO_SECRETS[client_id] if secret is None else secret)
    token_url = f"{keycloak.url}/realms/{REALM}/protocol/openid-connect/token"
    return requests.post(token_url, data=data, auth=auth, timeout=10)


@pytest.fixture
def make_app(keycloak: Keycloak, tmp_path) -> Callable[..., Any]:
    """Build the API against the live Keycloak; keyword arguments override settings."""

    def build(**overrides: Any) -> Any:
        settings = {
            "issuer": keycloak.issuer,
            "discovery_url": keycloak.discovery_url,
            "database": str(tmp_path / f"books-{uuid.uuid4().hex}.sqlite"),
            "jwks_refresh_cooldown": 1.0,
            **overrides,
        }
        return create_app(**settings)

    return build


@pytest.fixture
def api_client(make_app: Callable[..., Any]) -> Any:
    return make_app().test_client()


class LiveServer:
    """A WSGI app served over real HTTP on 127.0.0.1 in a thread."""

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture
def live_api(make_app: Callable[..., Any]) -> Iterator[LiveServer]:
    with LiveServer(make_app()) as server:
        yield server


@pytest.fixture
def local_issuer() -> Iterator[LocalIssuer]:
    """A test-only OpenID provider on 127.0.0.1 that signs whatever a test asks for."""
    with LocalIssuer(port=free_port()) as issuer:
        yield issuer


@pytest.fixture
def local_app(local_issuer: LocalIssuer, tmp_path) -> Any:
    """The API trusting the local issuer, with a short refetch cooldown the tests control."""
    return create_app(
        issuer=local_issuer.issuer,
        database=str(tmp_path / "books.sqlite"),
        jwks_refresh_cooldown=60.0,
        http_timeout=2.0,
    )
