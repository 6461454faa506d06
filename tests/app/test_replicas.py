"""Two API replicas (gunicorn processes on their own ports) on one PostgreSQL database, as behind a load balancer.

A browser signs in for real through replica A (Keycloak's login page); the
same cookie then works on replica B, because the session row lives in the
shared database and both replicas sign cookies with the same SECRET_KEY.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
import requests

from kcguard.devstack import wait_http
from tests.support.auth import bearer
from tests.support.keycloak import Keycloak
from tests.support.realm_admin import RealmAdmin
from tests.support.replicas import ApiReplica

pytestmark = pytest.mark.keycloak

SECRET_KEY = "test-only-replicas-" + "r" * 32


@contextlib.contextmanager
def _origins_registered(keycloak: Keycloak, urls: list[str]) -> Iterator[None]:
    """Let Keycloak's web_app client send browsers back to each replica; the client is restored after."""

    def register(client: dict) -> None:
        attributes = client.setdefault("attributes", {})
        logout_uris = [uri for uri in attributes.get("post.logout.redirect.uris", "").split("##") if uri]
        attributes["post.logout.redirect.uris"] = "##".join([*logout_uris, *(f"{url}/" for url in urls)])
        client["redirectUris"] = [*client["redirectUris"], *(f"{url}/callback" for url in urls)]

    with RealmAdmin(keycloak).changed_client("web_app", register):
        yield


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
        with _origins_registered(keycloak, [replica.url for replica in pair]):
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
    book = {"title": "Database Internals", "author": "Alex Petrov", "num_pages": 370, "cost": 44.5, "year": 2019}
    created = requests.post(f"{a.url}/api/books", json=book, headers=headers, timeout=10)
    assert created.status_code == 201
    assert created.json() == {"id": 3, **book}
    fetched = requests.get(f"{b.url}/api/books/3", headers=headers, timeout=10)
    assert fetched.status_code == 200
    assert fetched.json() == {"id": 3, **book}


def _sign_in_as_alice(page) -> None:
    page.wait_for_selector("#username", timeout=30_000)
    page.fill("#username", "alice")
    page.fill("#password", "demo-only-alice-password")
    page.click("#kc-login")


def test_signed_in_on_a_is_signed_in_on_b_and_signing_out_on_b_ends_it_on_a(browser, replicas):
    a, b = replicas
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{a.url}/login")
        _sign_in_as_alice(page)
        page.wait_for_url(f"{a.url}/profile", timeout=30_000)
        assert page.locator("#profile-name").inner_text() == "Alice Example"
        cookie = next(c for c in context.cookies() if c["name"] == "kcguard")

        # Cookies are per host, not per port: the browser sends A's cookie to B unchanged.
        page.goto(f"{b.url}/profile")
        assert page.url == f"{b.url}/profile"
        assert page.locator("#profile-name").inner_text() == "Alice Example"
        assert page.locator("#api-status").inner_text() == "200"

        page.click("#sign-out")
        page.wait_for_url(re.compile(rf"{re.escape(b.url)}/(\?state=[\w-]+)?$"), timeout=30_000)
        assert page.locator("h1").inner_text() == "Not signed in"
    finally:
        context.close()

    # The cookie the browser had while signed in no longer signs anyone in on A: the row is gone.
    replayed = requests.get(f"{a.url}/profile", cookies={"kcguard": cookie["value"]}, allow_redirects=False, timeout=10)
    assert replayed.status_code == 302
    assert replayed.headers["Location"].endswith("/login")


def test_sign_in_started_on_a_is_finished_by_b(browser, replicas):
    """As behind a load balancer: /login reaches A, and Keycloak's answer (/callback) reaches B."""
    a, b = replicas
    context = browser.new_context()
    page = context.new_page()
    sent_to: list[str] = []

    def callback_to_b(route) -> None:
        """Keycloak's answer to the login form redirects to A's /callback: send the browser to B's instead."""
        response = route.fetch(max_redirects=0)
        location = response.headers.get("location", "")
        if location.startswith(f"{a.url}/callback?"):
            location = b.url + location[len(a.url) :]
            sent_to.append(location.split("?", 1)[0])
        route.fulfill(response=response, headers={**response.headers, "location": location})

    page.route(re.compile(r".*/login-actions/authenticate.*"), callback_to_b)
    try:
        page.goto(f"{a.url}/login")
        _sign_in_as_alice(page)
        page.wait_for_url(f"{b.url}/profile", timeout=30_000)
        assert sent_to == [f"{b.url}/callback"]
        assert page.locator("#profile-name").inner_text() == "Alice Example"
    finally:
        context.close()
