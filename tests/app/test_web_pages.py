"""The sign-in pages without a browser: headers, redirects and refusals that need no Keycloak."""

from __future__ import annotations

import pytest

from kcguard.app.settings import AppSettings
from kcguard.config import ConfigError


@pytest.fixture
def pages(make_local_app):
    app = make_local_app(issuer="http://127.0.0.1:9/realms/myorg", secret_key="t" * 40)
    return app.test_client()


def test_home_page_offers_sign_in_with_safe_headers(pages):
    response = pages.get("/")
    assert response.status_code == 200
    assert b'id="sign-in"' in response.data
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_profile_without_a_sign_in_redirects_to_login(pages):
    response = pages.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_callback_without_a_started_sign_in_is_a_400_page(pages):
    response = pages.get("/callback?state=forged&code=forged")
    assert response.status_code == 400
    assert b"state mismatch" in response.data


def test_login_while_keycloak_is_down_is_a_503_page(make_local_app):
    app = make_local_app(issuer="http://127.0.0.1:9/realms/myorg", secret_key="t" * 40, http_timeout=1)
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert b"Keycloak cannot be reached" in response.data


def test_logout_without_a_sign_in_goes_home(pages):
    response = pages.get("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("key", ["", "short", "demo-only-secret-key-change-me-0123456789"])
def test_production_refuses_a_weak_secret_key(key: str):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        AppSettings(app_env="production", secret_key=key)


def test_production_without_sign_in_needs_no_secret_key():
    assert AppSettings(app_env="production", web_client_id="").secret_key == ""


def test_sign_in_pages_can_be_turned_off(make_local_app):
    app = make_local_app(issuer="http://127.0.0.1:9/realms/myorg", web_client_id="")
    assert app.test_client().get("/").status_code == 404


@pytest.mark.parametrize(("base_url", "secure"), [("http://localhost", False), ("https://localhost", True)])
def test_session_cookie_is_httponly_lax_and_secure_over_https(
    local_issuer, make_local_app, base_url: str, secure: bool
):
    app = make_local_app(secret_key="t" * 40)
    response = app.test_client().get("/login", base_url=base_url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{local_issuer.issuer}/protocol/openid-connect/auth?")
    assert "code_challenge_method=S256" in location and "nonce=" in location and "state=" in location
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("kcguard=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure
