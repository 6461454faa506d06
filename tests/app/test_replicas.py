"""Two API replicas (gunicorn processes on their own ports) on one PostgreSQL database, as behind a load balancer.

A browser signs in for real through replica A (Keycloak's login page); the
same cookie then works on replica B, because the session row lives in the
shared database and both replicas sign cookies with the same SECRET_KEY.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from keycloak import KeycloakAdmin

from kcguard.devstack import wait_http
from tests.support.auth import bearer
from tests.support.keycloak import DEMO_SECRETS, Keycloak
from tests.support.replicas import ApiReplica

pytestmark = pytest.mark.keycloak

SECRET_KEY = "test-only-replicas-" + "r" * 32


def _register_origins(keycloak: Keycloak, urls: list[str]) -> None:
    """Let Keycloak's web_app client send browsers back to each replica (sign-in and sign-out)."""
    admin = KeycloakAdmin(
        server_url=keycloak.url,
        realm_name="myorg",
        client_id="api_admin",
        client_secret_key=DEMO_SECRETS["api_admin"],
        timeout=10,
    )
    internal = admin.get_client_id("web_app")
    client = admin.get_client(internal)
    attributes = dict(client.get("attributes", {}))
    logout_uris = [uri for uri in attributes.get("post.logout.redirect.uris", "").split("##") if uri]
    attributes["post.logout.redirect.uris"] = "##".join([*logout_uris, *(f"{url}/" for url in urls)])
    redirect_uris = [*client["redirectUris"], *(f"{url}/callback" for url in urls)]
    admin.update_client(internal, {"redirectUris": redirect_uris, "attributes": attributes})


@pytest.fixture
def replicas(keycloak: Keycloak, database_url: str) -> Iterator[tuple[ApiReplica, ApiReplica]]:
    """Replicas A and B started at the same moment on a fresh database; both ready (schema created)."""
    environment = {
        "OIDC_ISSUER": keycloak.issuer,
        "OIDC_DISCOVERY_URL": keycloak.discovery_url,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "WEB_CLIENT_ID": "web_app",
        "LOG_LEVEL": "INFO",
    }
    pair = (ApiReplica(environment), ApiReplica(environment))
    try:
        for replica in pair:
            replica.start()
        for replica in pair:
            assert replica.process is not None
            wait_http(f"{replica.url}/readyz", 60, replica.process)
        _register_origins(keycloak, [replica.url for replica in pair])
        yield pair
        for replica in pair:
            assert "Traceback" not in replica.output()
    finally:
        for replica in pair:
            replica.stop()


def test_replicas_started_together_create_the_schema_once(replicas, get_token):
    a, b = replicas
    headers = bearer(get_token("reporting_client", "books.read"))
    for replica in (a, b):
        response = requests.get(f"{replica.url}/api/books", headers=headers, timeout=10)
        assert response.status_code == 200
        assert [book["id"] for book in response.json()["books"]] == [1, 2]


def test_book_created_on_a_is_read_on_b(replicas, get_token):
    a, b = replicas
    headers = bearer(get_token("test_api_client", "books.read books.admin"))
    book = {"title": "Database Internals", "author": "Alex Petrov", "year": 2019}
    created = requests.post(f"{a.url}/api/books", json=book, headers=headers, timeout=10)
    assert created.status_code == 201
    assert created.json() == {"id": 3, **book}
    fetched = requests.get(f"{b.url}/api/books/3", headers=headers, timeout=10)
    assert fetched.status_code == 200
    assert fetched.json() == {"id": 3, **book}


def test_signed_in_on_a_is_signed_in_on_b_and_signing_out_on_b_ends_it_on_a(browser, replicas):
    a, b = replicas
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{a.url}/login")
        page.wait_for_selector("#username", timeout=30_000)
        page.fill("#username", "alice")
        page.fill("#password", "demo-only-alice-password")
        page.click("#kc-login")
        page.wait_for_url(f"{a.url}/profile", timeout=30_000)
        assert page.locator("#profile-name").inner_text() == "Alice Example"
        cookie = next(c for c in context.cookies() if c["name"] == "kcguard")

        # Cookies are per host, not per port: the browser sends A's cookie to B unchanged.
        page.goto(f"{b.url}/profile")
        assert page.url == f"{b.url}/profile"
        assert page.locator("#profile-name").inner_text() == "Alice Example"
        assert page.locator("#api-status").inner_text() == "200"

        page.goto(f"{b.url}/logout")
        page.wait_for_url(re.compile(rf"{re.escape(b.url)}/(\?state=[\w-]+)?$"), timeout=30_000)
        assert page.locator("h1").inner_text() == "Not signed in"
    finally:
        context.close()

    # The cookie the browser had while signed in no longer signs anyone in on A: the row is gone.
    replayed = requests.get(f"{a.url}/profile", cookies={"kcguard": cookie["value"]}, allow_redirects=False, timeout=10)
    assert replayed.status_code == 302
    assert replayed.headers["Location"].endswith("/login")
