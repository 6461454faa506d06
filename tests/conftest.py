"""Fixtures: a live Keycloak, the app built against it, tokens, and a local test issuer.

Keycloak comes, in this order, from ``KEYCLOAK_URL`` (a server you run),
testcontainers (when a Docker engine answers), or the no-Docker launcher.
Without any of them the Keycloak tests are skipped, or fail when
``REQUIRE_KEYCLOAK=1`` (CI sets it). Helpers that are not fixtures live in
``tests/support``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kcguard.app import create_app
from kcguard.devstack import (
    PARTNER_REALM,
    REALM,
    DevStackError,
    KeycloakCluster,
    KeycloakServer,
    PostgresServer,
    free_port,
)
from tests.support.keycloak import (
    DEMO_SECRETS,
    Keycloak,
    docker_answers,
    from_testcontainers,
    from_url,
    token_request,
    unavailable,
)
from tests.support.live import LiveServer
from tests.support.local_issuer import LocalIssuer


@pytest.fixture(scope="session")
def keycloak() -> Iterator[Keycloak]:
    url = os.environ.get("KEYCLOAK_URL", "").rstrip("/")
    if url:
        yield from_url(url)
        return
    if docker_answers():
        with from_testcontainers() as found:
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


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright (Debian's chromium package, or ``CHROMIUM_PATH``)."""
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not chromium:
        unavailable("no Chromium (Debian package chromium; or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL on 127.0.0.1 (Debian's postgresql package); tests create their own databases."""
    server = PostgresServer()
    try:
        server.start()
    except DevStackError as error:
        unavailable(f"no PostgreSQL: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database with its own role (a ``DATABASE_URL``)."""
    name = f"kcguard_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    postgres.create_database(name, name, password)
    return postgres.url(name, name, password)


@pytest.fixture(scope="module")
def keycloak_cluster(postgres: PostgresServer) -> Iterator[KeycloakCluster]:
    """Two clustered Keycloak nodes on one PostgreSQL database, both seeing a cluster of 2."""
    name = f"keycloak_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    postgres.create_database(name, name, password)
    cluster = KeycloakCluster(db_url=postgres.jdbc_url(name), db_username=name, db_password=password)
    try:
        cluster.start()
    except DevStackError as error:
        unavailable(f"the launcher could not start a Keycloak cluster: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def get_token(keycloak: Keycloak) -> Callable[..., dict[str, Any]]:
    """Client-credentials token response from the real token endpoint (raises on error)."""

    def fetch(
        client_id: str = "test_api_client", scope: str = "", secret: str | None = None, realm: str = REALM
    ) -> dict[str, Any]:
        response = token_request(keycloak, client_id, scope, secret, realm)
        assert response.status_code == 200, response.text
        return response.json()

    return fetch


@pytest.fixture(scope="session")
def partner_token(keycloak: Keycloak) -> Callable[[], dict[str, Any]]:
    """A token of the second realm's service client (``partner``), whose ``aud`` names the API too."""

    def fetch() -> dict[str, Any]:
        response = token_request(keycloak, "partner_client", realm=PARTNER_REALM)
        if response.status_code == 404:
            unavailable("this Keycloak has no partner realm (import keycloak/partner-realm.json)")
        assert response.status_code == 200, response.text
        return response.json()

    return fetch


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
def make_introspecting_app(make_app: Callable[..., Any]) -> Callable[..., Any]:
    """Build the API in introspection mode (as test_api_resource); ``ttl`` is how long an answer is cached."""

    def build(ttl: float = 0.0) -> Any:
        return make_app(
            introspection=True,
            introspection_client_secret=DEMO_SECRETS["test_api_resource"],
            introspection_cache_ttl=ttl,
        )

    return build


@pytest.fixture
def api_client(make_app: Callable[..., Any]) -> Any:
    return make_app().test_client()


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
def make_local_app(local_issuer: LocalIssuer, tmp_path) -> Callable[..., Any]:
    """Build the API trusting the local issuer; keyword arguments override settings."""

    def build(**overrides: Any) -> Any:
        settings = {
            "issuer": local_issuer.issuer,
            "database": str(tmp_path / f"books-{uuid.uuid4().hex}.sqlite"),
            **overrides,
        }
        return create_app(**settings)

    return build


@pytest.fixture
def local_app(make_local_app: Callable[..., Any]) -> Any:
    """The API trusting the local issuer, with a refetch cooldown the tests control."""
    return make_local_app(jwks_refresh_cooldown=60.0, http_timeout=2.0)
