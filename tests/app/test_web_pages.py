"""The sign-in pages without a browser: headers, redirects and refusals that need no Keycloak."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from kcguard.app.settings import AppSettings
from kcguard.app.web import pending
from kcguard.config import ConfigError
from tests.support.web import is_signed_in, rows, sign_in


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


def _state(response) -> str:
    assert response.status_code == 302, response.data
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def _query(response) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["Location"]).query).items()}


@pytest.fixture
def signin_app(make_local_app):
    """Sign-in pages against the local issuer (no token endpoint: a code exchange fails after the state check)."""
    return make_local_app(secret_key="t" * 40, http_timeout=2.0)


def test_forty_visits_to_login_keep_the_cookie_small(signin_app):
    client = signin_app.test_client()
    for _ in range(40):
        assert client.get("/login").status_code == 302
    assert len(client.get_cookie("kcguard").value) < 200


def test_pending_sign_ins_are_bounded_per_browser_oldest_first(signin_app):
    client = signin_app.test_client()
    states = [_state(client.get("/login")) for _ in range(pending.MAX_PER_BROWSER + 1)]
    assert rows(signin_app, "SELECT COUNT(*) FROM pending_sign_ins") == [(pending.MAX_PER_BROWSER,)]
    oldest = client.get(f"/callback?state={states[0]}&code=anything")
    assert oldest.status_code == 400
    assert b"state mismatch" in oldest.data
    newest = client.get(f"/callback?state={states[-1]}&code=anything")
    assert b"state mismatch" not in newest.data


def test_a_pending_sign_in_belongs_to_the_browser_that_started_it(signin_app):
    state = _state(signin_app.test_client().get("/login"))
    response = signin_app.test_client().get(f"/callback?state={state}&code=anything")
    assert response.status_code == 400
    assert b"state mismatch" in response.data


def test_a_used_state_cannot_be_replayed(signin_app):
    client = signin_app.test_client()
    state = _state(client.get("/login"))
    assert b"state mismatch" not in client.get(f"/callback?state={state}&code=anything").data
    assert b"state mismatch" in client.get(f"/callback?state={state}&code=anything").data


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "error=Your+account+is+locked.+Call+%2B1-555-0100+now&error_description=evil",
            "Keycloak did not sign you in.",
        ),
        ("error=access_denied&error_description=Call+%2B1-555-0100", "Keycloak did not sign you in (access_denied)."),
    ],
)
def test_callback_errors_show_fixed_text_only(signin_app, query: str, message: str):
    client = signin_app.test_client()
    state = _state(client.get("/login"))
    response = client.get(f"/callback?state={state}&{query}")
    assert response.status_code == 400
    assert f'<p id="error-message">{message}</p>'.encode() in response.data
    assert b"555" not in response.data and b"evil" not in response.data and b"locked" not in response.data


def test_logout_by_get_is_refused_and_keeps_the_sign_in(signin_app):
    client = signin_app.test_client()
    session_id = sign_in(signin_app, client)
    response = client.get("/logout")
    assert response.status_code == 405
    assert is_signed_in(signin_app, session_id)


@pytest.mark.parametrize("form", [{}, {"csrf_token": "forged"}])
def test_logout_without_the_csrf_token_is_refused(signin_app, form: dict[str, str]):
    client = signin_app.test_client()
    session_id = sign_in(signin_app, client)
    response = client.post("/logout", data=form)
    assert response.status_code == 400
    assert is_signed_in(signin_app, session_id)


def test_logout_with_the_csrf_token_ends_the_sign_in_and_posts_to_keycloak(signin_app, local_issuer):
    client = signin_app.test_client()
    session_id = sign_in(signin_app, client)
    page = client.get("/").data.decode()
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 200
    assert not is_signed_in(signin_app, session_id)
    body = response.data.decode()
    assert (
        f'<form id="end-session" method="post" action="{local_issuer.issuer}/protocol/openid-connect/logout">' in body
    )
    assert 'name="id_token_hint" value="not-an-id-token"' in body
    assert 'name="post_logout_redirect_uri" value="http://localhost/"' in body


def test_logout_without_a_sign_in_goes_home(signin_app):
    client = signin_app.test_client()
    with client.session_transaction() as session:
        session["sid"] = "unknown"
    response = client.post("/logout", data={"csrf_token": ""})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_redirect_uri_comes_from_public_url_not_the_host_header(make_local_app):
    app = make_local_app(secret_key="t" * 40, public_url="https://app.example.com")
    response = app.test_client().get("/login", headers={"Host": "evil.example"})
    assert _query(response)["redirect_uri"] == "https://app.example.com/callback"


def test_without_public_url_a_foreign_host_header_is_refused(signin_app):
    response = signin_app.test_client().get("/login", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert b"PUBLIC_URL" in response.data


def test_without_public_url_loopback_hosts_build_the_redirect_uri(signin_app):
    response = signin_app.test_client().get("/login", base_url="http://127.0.0.1:50100")
    assert _query(response)["redirect_uri"] == "http://127.0.0.1:50100/callback"


def test_https_public_url_names_the_cookie_host_prefixed_and_secure(make_local_app):
    app = make_local_app(secret_key="t" * 40, public_url="https://app.example.com")
    response = app.test_client().get("/login", base_url="https://app.example.com")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-kcguard=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_production_marks_the_cookie_secure_even_over_http(make_local_app):
    app = make_local_app(
        secret_key="Zq8vT2mX9pL4wR7nB1cK6yH3jF5sD0gA", app_env="production", public_url="http://localhost:50100"
    )
    response = app.test_client().get("/login", base_url="http://localhost:50100")
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "short",
        "demo-only-secret-key-change-me-0123456789",
        "a" * 64,
        "abcabcabcabcabcabcabcabcabcabcabcabc",
        "0101010101010101010101010101010101010101",
        "passwordpasswordpasswordpassword",
    ],
)
def test_production_refuses_a_weak_secret_key(key: str):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        AppSettings(app_env="production", secret_key=key, public_url="https://app.example.com")


def test_production_accepts_a_random_secret_key():
    settings = AppSettings(
        app_env="production", secret_key="Zq8vT2mX9pL4wR7nB1cK6yH3jF5sD0gA", public_url="https://app.example.com"
    )
    assert settings.public_url == "https://app.example.com"


def test_production_sign_in_needs_public_url():
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        AppSettings(app_env="production", secret_key="Zq8vT2mX9pL4wR7nB1cK6yH3jF5sD0gA")


@pytest.mark.parametrize("url", ["ftp://app.example.com", "http://app.example.com", "https://app.example.com/app"])
def test_public_url_must_be_an_https_origin(url: str):
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        AppSettings(public_url=url)


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
    assert cookie.startswith("__Host-kcguard=" if secure else "kcguard=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


def test_recent_without_a_sign_in_redirects_to_login_and_back(pages):
    response = pages.get("/recent")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/recent"


@pytest.mark.keycloak
@pytest.mark.parametrize(
    ("query", "forwarded", "after"),
    [
        ("max_age=300&acr_values=gold&next=/recent", {"max_age": ["300"], "acr_values": ["gold"]}, "/recent"),
        ("max_age=-1&acr_values=%22x%22&next=//evil.example", {}, None),
    ],
)
def test_login_passes_only_well_formed_step_up_parameters_to_keycloak(make_app, query, forwarded, after):
    from urllib.parse import parse_qs, urlsplit

    client = make_app(secret_key="t" * 40).test_client()
    response = client.get(f"/login?{query}")
    assert response.status_code == 302
    sent = parse_qs(urlsplit(response.headers["Location"]).query)
    assert {k: v for k, v in sent.items() if k in ("max_age", "acr_values")} == forwarded
    with client.session_transaction() as session:
        assert session.get("after_sign_in") == after
