"""client.py and the token client against the real Keycloak and the API served over HTTP."""

from __future__ import annotations

import threading

import pytest

from kcguard.client import ApiClient, ClientSettings, InvalidClient, InvalidScope, KeycloakUnreachable, TokenClient, cli
from tests.support.keycloak import DEMO_SECRETS, Keycloak, revoke
from tests.support.live import LiveServer
from tests.support.secrets import assert_nothing_secret_logged

pytestmark = pytest.mark.keycloak


def settings_for(keycloak: Keycloak, api_url: str, **overrides) -> ClientSettings:
    values = {
        "issuer": keycloak.issuer,
        "discovery_url": keycloak.discovery_url,
        "client_id": "test_api_client",
        "client_secret": DEMO_SECRETS["test_api_client"],
        "api_url": api_url,
        **overrides,
    }
    return ClientSettings(**values)


@pytest.fixture
def client_env(monkeypatch, keycloak: Keycloak, live_api: LiveServer):
    """The environment client.py reads, pointing at the live stack."""
    for name, value in {
        "OIDC_ISSUER": keycloak.issuer,
        "OIDC_DISCOVERY_URL": keycloak.discovery_url,
        "CLIENT_ID": "test_api_client",
        "CLIENT_SECRET": DEMO_SECRETS["test_api_client"],
        "CLIENT_SCOPE": "test_api_access",
        "API_URL": live_api.url,
    }.items():
        monkeypatch.setenv(name, value)
    return live_api


def test_default_run_prints_200_for_the_three_routes(client_env, capsys):
    assert cli.main([]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1] for line in lines if line.startswith("/api/")}
    assert rows == {"/api/public": "200", "/api/private": "200", "/api/private-scoped": "200"}
    assert "(1 token request(s) for 3 calls)" in lines


def test_wrong_secret_exits_with_the_invalid_client_code(client_env, monkeypatch, capsys):
    monkeypatch.setenv("CLIENT_SECRET", "wrong-secret")
    assert cli.main([]) == cli.EXIT_INVALID_CLIENT
    captured = capsys.readouterr()
    assert captured.err.startswith("client.py: bad client credentials: Keycloak refused client 'test_api_client'")
    assert "wrong-secret" not in captured.err + captured.out


def test_refused_scope_exits_with_the_invalid_scope_code(client_env, monkeypatch, capsys):
    monkeypatch.setenv("CLIENT_ID", "reporting_client")
    monkeypatch.setenv("CLIENT_SECRET", DEMO_SECRETS["reporting_client"])
    assert cli.main(["--scope", "books.admin"]) == cli.EXIT_INVALID_SCOPE
    assert "invalid_scope" in capsys.readouterr().err


def test_unreachable_keycloak_exits_with_its_code(client_env, monkeypatch, capsys):
    from kcguard.devstack import free_port

    dead = f"http://127.0.0.1:{free_port()}/realms/myorg"
    monkeypatch.setenv("OIDC_ISSUER", dead)
    monkeypatch.setenv("OIDC_DISCOVERY_URL", f"{dead}/.well-known/openid-configuration")
    assert cli.main([]) == cli.EXIT_KEYCLOAK_UNREACHABLE
    assert capsys.readouterr().err.startswith("client.py: Keycloak unreachable:")


def test_api_error_shows_the_api_error_and_exits_with_its_code(client_env, capsys):
    book = '{"title": "T", "author": "A", "num_pages": 1, "cost": 1}'
    assert cli.main(["call", "POST", "/api/books", "--data", book]) == cli.EXIT_API_ERROR
    err = capsys.readouterr().err
    assert "the API answered 403: insufficient_scope: This request needs the scope(s): books.admin." in err


def test_call_with_scopes_adds_a_book(client_env, capsys):
    book = '{"title": "Dune", "author": "Herbert", "num_pages": 412, "cost": 9.99}'
    args = ["--scope", "books.admin", "call", "POST", "/api/books", "--data", book]
    assert cli.main(args) == cli.EXIT_OK
    assert '"title": "Dune"' in capsys.readouterr().out


def test_token_command_prints_decoded_claims_not_the_token(client_env, capsys):
    assert cli.main(["token"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert '"azp": "test_api_client"' in out
    assert "eyJ" not in out


def test_hundred_calls_cost_one_token_request(keycloak: Keycloak, live_api: LiveServer):
    client = ApiClient(settings_for(keycloak, live_api.url))
    statuses = [client.request("GET", "/api/private").status_code for _ in range(100)]
    assert statuses == [200] * 100
    assert client.tokens.token_requests == 1


def test_concurrent_callers_share_one_token_request(keycloak: Keycloak):
    tokens = TokenClient(settings_for(keycloak, "http://127.0.0.1:9"))
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait(timeout=10)
        seen.append(tokens.get_token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(seen) == 8 and len(set(seen)) == 1
    assert tokens.token_requests == 1


def test_token_is_refetched_shortly_before_expiry(keycloak: Keycloak):
    now = [0.0]
    tokens = TokenClient(settings_for(keycloak, "http://127.0.0.1:9"), clock=lambda: now[0])
    first = tokens.get_token()
    now[0] = 300 - 30 - 1
    assert tokens.get_token() == first
    now[0] = 300 - 30
    assert tokens.get_token() != first
    assert tokens.token_requests == 2


def test_revoked_token_triggers_exactly_one_refresh_and_the_call_succeeds(keycloak: Keycloak, make_introspecting_app):
    with LiveServer(make_introspecting_app()) as api:
        client = ApiClient(settings_for(keycloak, api.url))
        assert client.request("GET", "/api/private").status_code == 200
        revoke(keycloak, client.tokens.get_token())
        response = client.request("GET", "/api/private")
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [401]
        assert client.tokens.token_requests == 2


def test_a_second_401_is_returned_after_one_retry(keycloak: Keycloak, make_app):
    with LiveServer(make_app(audience="some_other_api")) as api:
        client = ApiClient(settings_for(keycloak, api.url))
        response = client.request("GET", "/api/private")
    assert response.status_code == 401
    assert response.json()["error_description"] == "Invalid claim: 'aud'."
    assert [r.status_code for r in response.history] == [401]
    assert client.tokens.token_requests == 2


def test_client_secret_post_works(keycloak: Keycloak):
    tokens = TokenClient(settings_for(keycloak, "http://127.0.0.1:9", auth_method="client_secret_post"))
    assert tokens.get_token()
    assert tokens.token_requests == 1


def test_token_errors_are_typed(keycloak: Keycloak):
    with pytest.raises(InvalidClient):
        TokenClient(settings_for(keycloak, "http://127.0.0.1:9", client_secret="nope")).get_token()
    limited = settings_for(
        keycloak, "http://127.0.0.1:9", client_id="reporting_client", client_secret=DEMO_SECRETS["reporting_client"]
    )
    with pytest.raises(InvalidScope):
        TokenClient(limited).get_token("books.admin")
    with pytest.raises(KeycloakUnreachable):
        TokenClient(settings_for(keycloak, "http://127.0.0.1:9", token_url="http://127.0.0.1:9/token")).get_token()


def test_no_token_or_secret_reaches_the_logs(keycloak: Keycloak, make_introspecting_app, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    with LiveServer(make_introspecting_app()) as api:
        client = ApiClient(settings_for(keycloak, api.url))
        assert client.request("GET", "/api/private").status_code == 200
        token = client.tokens.get_token()
        revoke(keycloak, token)
        assert client.request("GET", "/api/private").status_code == 200
        assert client.request("GET", "/api/private", authenticate=False).status_code == 401
    assert "fetched a token for test_api_client" in caplog.text
    assert_nothing_secret_logged(caplog.text, [token, client.tokens.get_token()])
