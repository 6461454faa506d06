"""The browser sign-in, end to end: headless Chromium, the real Keycloak login page, the running app."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from keycloak import KeycloakAdmin

from tests.support.keycloak import DEMO_SECRETS, Keycloak, unavailable
from tests.support.live import LiveServer

pytestmark = pytest.mark.keycloak

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
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
def browser() -> Iterator[object]:
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


@pytest.fixture
def web_app(keycloak: Keycloak, make_app) -> Iterator[LiveServer]:
    """The app with sign-in on, served over HTTP, its origin registered with Keycloak's web_app client."""
    server = LiveServer(make_app(secret_key="test-only-" + "k" * 40))
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
    logout_uris = attributes.get("post.logout.redirect.uris", "")
    attributes["post.logout.redirect.uris"] = f"{logout_uris}##{server.url}/".strip("#")
    admin.update_client(
        internal, {"redirectUris": [*client["redirectUris"], f"{server.url}/callback"], "attributes": attributes}
    )
    with server:
        yield server


def test_sign_in_profile_and_sign_out(browser, web_app: LiveServer):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{web_app.url}/")
        assert page.locator("h1").inner_text() == "Not signed in"
        page.click("#sign-in")

        page.wait_for_selector("#username", timeout=30_000)
        assert "/protocol/openid-connect/auth" in page.url
        assert "code_challenge_method=S256" in page.url and "nonce=" in page.url and "state=" in page.url
        page.fill("#username", "alice")
        page.fill("#password", "demo-only-alice-password")
        page.click("#kc-login")

        page.wait_for_url(f"{web_app.url}/profile", timeout=30_000)
        assert page.locator("#profile-name").inner_text() == "Alice Example"
        assert page.locator("#api-status").inner_text() == "200"
        assert '"client_id": "web_app"' in page.locator("#api-body").inner_text()
        source = page.content()
        assert "eyJ" not in source and "eyJ" not in page.url
        cookie = next(c for c in context.cookies() if c["name"] == "kcguard")
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

        page.click("#sign-out")
        # Keycloak ends its session and sends the browser back to / (with the logout state).
        page.wait_for_url(re.compile(rf"{re.escape(web_app.url)}/(\?state=[\w-]+)?$"), timeout=30_000)
        assert page.locator("h1").inner_text() == "Not signed in"
        page.goto(f"{web_app.url}/profile")
        page.wait_for_selector("#username", timeout=30_000)
        assert re.search(r"/realms/myorg/protocol/openid-connect/auth\?", page.url)
    finally:
        context.close()


def test_tampered_state_gets_the_400_page(browser, web_app: LiveServer):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{web_app.url}/login")
        page.wait_for_selector("#username", timeout=30_000)
        response = page.goto(f"{web_app.url}/callback?state=tampered&code=forged")
        assert response.status == 400
        assert page.locator("#error-message").inner_text() == (
            "The sign-in response does not match a sign-in started here (state mismatch). Start again."
        )
    finally:
        context.close()
