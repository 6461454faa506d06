"""In a real browser (headless Chromium), end to end: the sign-in with Keycloak's login page, and the API explorer."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.keycloak import DEMO_SECRETS, Keycloak
from tests.support.live import LiveServer
from tests.support.realm_admin import RealmAdmin

pytestmark = pytest.mark.keycloak

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def web_app(keycloak: Keycloak, make_app) -> Iterator[LiveServer]:
    """The app with sign-in on, served over HTTP, its origin registered with Keycloak's web_app client.

    The client is changed (redirect URI, back-channel logout URL) as the bootstrap admin and restored after.
    """
    with serve_web_app(keycloak, make_app) as server:
        yield server


@contextlib.contextmanager
def serve_web_app(keycloak: Keycloak, make_app, **overrides) -> Iterator[LiveServer]:
    server = LiveServer(make_app(secret_key="test-only-" + "k" * 40, **overrides))

    def register(client: dict) -> None:
        attributes = client.setdefault("attributes", {})
        logout_uris = attributes.get("post.logout.redirect.uris", "")
        attributes["post.logout.redirect.uris"] = f"{logout_uris}##{server.url}/".strip("#")
        attributes["backchannel.logout.url"] = f"{server.url}/backchannel-logout"
        client["redirectUris"] = [*client["redirectUris"], f"{server.url}/callback"]

    with RealmAdmin(keycloak).changed_client("web_app", register), server:
        yield server


def sign_in(page) -> None:
    """Fill Keycloak's login form as alice (a re-authentication shows the username read-only)."""
    page.wait_for_selector("#password", timeout=30_000)
    if page.locator("#username").count() and page.locator("#username").is_editable():
        page.fill("#username", "alice")
    page.fill("#password", "demo-only-alice-password")
    page.click("#kc-login")


def sign_in_as_alice(page, app_url: str) -> None:
    """Fill in Keycloak's login form (the page must be on it) and wait for the app's profile page."""
    page.fill("#username", "alice")
    page.fill("#password", "demo-only-alice-password")
    page.click("#kc-login")
    page.wait_for_url(f"{app_url}/profile", timeout=30_000)


def test_sign_in_profile_and_sign_out(browser, web_app: LiveServer):
    context = browser.new_context()
    page = context.new_page()
    requests_seen: list[tuple[str, str]] = []
    page.on("request", lambda request: requests_seen.append((request.method, request.url)))
    try:
        page.goto(f"{web_app.url}/")
        assert page.locator("h1").inner_text() == "Not signed in"
        page.click("#sign-in")

        page.wait_for_selector("#username", timeout=30_000)
        assert "/protocol/openid-connect/auth" in page.url
        assert "code_challenge_method=S256" in page.url and "nonce=" in page.url and "state=" in page.url
        sign_in_as_alice(page, web_app.url)
        assert page.locator("#profile-name").inner_text() == "Alice Example"
        assert page.locator("#api-status").inner_text() == "200"
        assert '"client_id": "web_app"' in page.locator("#api-body").inner_text()
        source = page.content()
        assert "eyJ" not in source and "eyJ" not in page.url
        cookie = next(c for c in context.cookies() if c["name"] == "kcguard")
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
        assert len(cookie["value"]) < 200
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

        page.click("#sign-out")
        # The app posts the ID token to Keycloak's logout endpoint; Keycloak ends its session and sends the browser
        # back to /.
        page.wait_for_url(re.compile(rf"{re.escape(web_app.url)}/(\?state=[\w-]+)?$"), timeout=30_000)
        assert page.locator("h1").inner_text() == "Not signed in"
        assert ("POST", f"{web_app.url}/logout") in requests_seen
        assert any(
            method == "POST" and url.endswith("/protocol/openid-connect/logout") for method, url in requests_seen
        )
        assert [url for _, url in requests_seen if "id_token_hint" in url] == []
        page.goto(f"{web_app.url}/profile")
        page.wait_for_selector("#username", timeout=30_000)
        assert re.search(r"/realms/myorg/protocol/openid-connect/auth\?", page.url)
    finally:
        context.close()


def test_two_tabs_signing_in_at_once_both_succeed(browser, web_app: LiveServer):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    try:
        for page in (first, second):
            page.goto(f"{web_app.url}/login")
            page.wait_for_selector("#username", timeout=30_000)
        sign_in_as_alice(first, web_app.url)
        # Keycloak now has a session: its login page in the second tab notices and comes back with the second
        # tab's own code and state (or, if it has not yet, does so when reloaded).
        try:
            second.wait_for_url(f"{web_app.url}/profile", timeout=15_000)
        except PlaywrightTimeout:
            second.reload()
            second.wait_for_url(f"{web_app.url}/profile", timeout=30_000)
        assert second.locator("#profile-name").inner_text() == "Alice Example"
    finally:
        context.close()


def test_a_session_ended_in_keycloak_ends_here(browser, web_app: LiveServer, keycloak: Keycloak):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{web_app.url}/login")
        page.wait_for_selector("#username", timeout=30_000)
        sign_in_as_alice(page, web_app.url)
        admin = RealmAdmin(keycloak)
        ended = [s["id"] for s in admin.user_sessions("alice") if "web_app" in s.get("clients", {}).values()]
        assert ended
        for session_id in ended:
            admin.end_session(session_id)
        # Keycloak posts the logout token before the admin call returns; allow a little slack all the same.
        deadline = time.monotonic() + 10
        while True:
            page.goto(f"{web_app.url}/")
            if page.locator("h1").inner_text() == "Not signed in" or time.monotonic() > deadline:
                break
            page.wait_for_timeout(200)
        assert page.locator("h1").inner_text() == "Not signed in"
    finally:
        context.close()


def test_sign_in_refuses_a_discovery_document_naming_another_issuer(keycloak: Keycloak, make_app):
    app = make_app(
        issuer=keycloak.issuer.replace("/realms/myorg", "/realms/elsewhere"),
        discovery_url=keycloak.discovery_url,
        secret_key="test-only-" + "k" * 40,
    )
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "Location" not in response.headers
    assert b"Keycloak cannot be reached" in response.data


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


@pytest.fixture
def explorer(keycloak: Keycloak, make_app) -> Iterator[LiveServer]:
    """The app with its explorer over HTTP, its origin added to test_api_client's web origins (restored after)."""
    server = LiveServer(make_app(web_client_id=""))

    def allow(client: dict) -> None:
        client["webOrigins"] = [*client.get("webOrigins", []), server.url]

    with RealmAdmin(keycloak).changed_client("test_api_client", allow), server:
        yield server


def test_the_explorer_authorizes_with_client_credentials_and_calls_the_api(browser, explorer: LiveServer):
    """Swagger UI gets a token from Keycloak's token endpoint (CORS by web origins) and lists the books."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    try:
        page.goto(f"{explorer.url}/docs")
        page.wait_for_selector("text=kcguard demo API", timeout=30_000)
        page.click("button.authorize")
        form = page.locator(".auth-container", has_text="clientCredentials")
        form.locator("#client_id_clientCredentials").fill("test_api_client")
        form.locator("#client_secret_clientCredentials").fill(DEMO_SECRETS["test_api_client"])
        form.locator("label[for='books.read-clientCredentials-checkbox-keycloak']").click()
        form.locator("button.authorize").click()
        form.get_by_text("Authorized", exact=True).wait_for(timeout=30_000)
        assert form.get_by_role("button", name="Remove authorization").is_visible()
        page.click("button.close-modal")

        operation = page.locator("#operations-books-listBooks")
        operation.locator(".opblock-summary").click()
        operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table tr.response .response-col_status")
        status.wait_for(timeout=30_000)
        assert status.inner_text().strip() == "200"
        assert "Designing Data-Intensive Applications" in operation.locator(".live-responses-table").inner_text()
        assert blocked == []
        # The screenshot shows the answer, not the curl line with the (test-only) token.
        operation.locator(".curl-command").evaluate("element => element.style.display = 'none'")
        ARTIFACTS.mkdir(exist_ok=True)
        answer = operation.locator(".live-responses-table").bounding_box()
        height = answer["y"] + answer["height"] + 16
        page.screenshot(
            path=str(ARTIFACTS / "explorer.png"), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height}
        )
    finally:
        context.close()


@pytest.fixture
def explorer_for_people(keycloak: Keycloak, make_app) -> Iterator[LiveServer]:
    """The app with its explorer; web_app may send the browser back to its Swagger UI redirect page (restored after)."""
    server = LiveServer(make_app(web_client_id=""))

    def allow(client: dict) -> None:
        client["redirectUris"] = [*client["redirectUris"], f"{server.url}/docs/oauth2-redirect.html"]

    with RealmAdmin(keycloak).changed_client("web_app", allow), server:
        yield server


def test_the_explorer_signs_a_person_in_with_pkce_and_calls_the_api(browser, explorer_for_people: LiveServer):
    """Authorization code + PKCE through the public client web_app: Keycloak's login page in a popup."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{explorer_for_people.url}/docs")
        page.wait_for_selector("text=kcguard demo API", timeout=30_000)
        page.click("button.authorize")
        form = page.locator(".auth-container", has_text="authorizationCode")
        form.locator("#client_id_authorizationCode").fill("web_app")
        form.locator("label[for='books.read-authorizationCode-checkbox-keycloak']").click()
        with page.expect_popup() as opened:
            form.locator("button.authorize").click()
        login = opened.value
        login.wait_for_selector("#username", timeout=30_000)
        assert "/protocol/openid-connect/auth" in login.url
        assert "code_challenge_method=S256" in login.url and "code_challenge=" in login.url
        login.fill("#username", "alice")
        login.fill("#password", "demo-only-alice-password")
        login.click("#kc-login")
        form.get_by_text("Authorized", exact=True).wait_for(timeout=30_000)
        page.click("button.close-modal")

        operation = page.locator("#operations-books-listBooks")
        operation.locator(".opblock-summary").click()
        operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table tr.response .response-col_status")
        status.wait_for(timeout=30_000)
        assert status.inner_text().strip() == "200"
    finally:
        context.close()


def test_a_page_needing_a_recent_sign_in_signs_the_user_in_again(browser, keycloak: Keycloak, make_app):
    """RFC 9470 step-up: the route needs a sign-in within 5 s; the page goes back to Keycloak with max_age."""
    with serve_web_app(keycloak, make_app, step_up_max_age=5) as web_app:
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(f"{web_app.url}/recent")
            sign_in(page)
            page.wait_for_url(f"{web_app.url}/recent", timeout=30_000)
            assert page.locator("#api-status").inner_text() == "200"

            page.wait_for_timeout(6_000)  # the behaviour under test: the sign-in grows older than max_age
            page.goto(f"{web_app.url}/recent")
            page.wait_for_selector("#password", timeout=30_000)
            assert "/protocol/openid-connect/auth" in page.url and "max_age=5" in page.url
            assert "re-authenticate" in page.content()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "step-up-sign-in.png"), full_page=True)
            sign_in(page)

            page.wait_for_url(f"{web_app.url}/recent", timeout=30_000)
            assert page.locator("#api-status").inner_text() == "200"
            assert '"client_id": "web_app"' in page.locator("#api-body").inner_text()
        finally:
            context.close()
