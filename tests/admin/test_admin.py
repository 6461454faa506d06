"""python -m kcguard.admin against the real Keycloak: callers added, rotated, disabled and removed."""

from __future__ import annotations

import uuid

import pytest
import requests

from kcguard.admin import AdminSettings, cli, service
from tests.support.auth import bearer
from tests.support.keycloak import DEMO_SECRETS, Keycloak, token_request
from tests.support.realm_admin import RealmAdmin

pytestmark = pytest.mark.keycloak


@pytest.fixture
def admin_env(monkeypatch, keycloak: Keycloak, tmp_path):
    monkeypatch.setenv("ADMIN_TOKEN_STORE", str(tmp_path / "registration-tokens.json"))
    monkeypatch.setenv("OIDC_ISSUER", keycloak.issuer)
    monkeypatch.setenv("KEYCLOAK_ADMIN_URL", keycloak.url)
    monkeypatch.setenv("ADMIN_CLIENT_ID", "api_admin")
    monkeypatch.setenv("ADMIN_CLIENT_SECRET", DEMO_SECRETS["api_admin"])


def unique_client() -> str:
    return f"caller_{uuid.uuid4().hex[:10]}"


def added(capsys, client_id: str, *scopes: str) -> str:
    args = ["add-client", client_id] + [f"--scope={scope}" for scope in scopes]
    assert cli.main(args) == service.EXIT_OK
    out = capsys.readouterr().out
    return out.split("client secret (shown once, store it now): ", 1)[1].strip()


def test_added_client_calls_the_api_with_exactly_its_scopes(admin_env, keycloak, capsys, api_client):
    client_id = unique_client()
    secret = added(capsys, client_id, "books.read")

    token = token_request(keycloak, client_id, "books.read", secret)
    assert token.status_code == 200
    headers = bearer(token.json())
    assert api_client.get("/api/books", headers=headers).status_code == 200
    assert api_client.get("/api/private", headers=headers).status_code == 200
    assert api_client.get("/api/private-scoped", headers=headers).status_code == 403
    assert api_client.post("/api/books", json={"title": "T", "author": "A"}, headers=headers).status_code == 403

    refused = token_request(keycloak, client_id, "books.admin", secret)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_rotated_secret_works_and_the_old_one_stops(admin_env, keycloak, capsys):
    client_id = unique_client()
    old = added(capsys, client_id)
    assert cli.main(["rotate-secret", client_id]) == service.EXIT_OK
    new = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert new != old
    assert token_request(keycloak, client_id, secret=new).status_code == 200
    stale = token_request(keycloak, client_id, secret=old)
    assert stale.status_code == 401
    assert stale.json()["error"] == "unauthorized_client"


def test_disabled_client_is_refused_a_token_until_enabled(admin_env, keycloak, capsys):
    client_id = unique_client()
    secret = added(capsys, client_id)
    assert cli.main(["disable", client_id]) == service.EXIT_OK
    refused = token_request(keycloak, client_id, secret=secret)
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "unauthorized_client",
        "error_description": "Client not enabled to retrieve service account",
    }
    assert cli.main(["enable", client_id]) == service.EXIT_OK
    assert token_request(keycloak, client_id, secret=secret).status_code == 200


def test_list_shows_the_callers_it_added_with_scopes_enabled_flag_and_created_date(admin_env, capsys):
    client_id = unique_client()
    added(capsys, client_id, "books.read", "test_api_access")
    assert cli.main(["disable", client_id]) == service.EXIT_OK
    capsys.readouterr()
    assert cli.main(["list"]) == service.EXIT_OK
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    row = rows[client_id]
    assert row[1] == "no"
    assert row[2].endswith("Z") and row[2][:2] == "20"
    assert row[3:] == ["books.read", "test_api_access"]
    assert set(rows) == {client_id}


def test_remove_asks_first_and_removes_with_yes(admin_env, keycloak, capsys, monkeypatch):
    client_id = unique_client()
    secret = added(capsys, client_id)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert cli.main(["remove", client_id]) == service.EXIT_ERROR
    assert token_request(keycloak, client_id, secret=secret).status_code == 200
    assert cli.main(["remove", client_id, "--yes"]) == service.EXIT_OK
    gone = token_request(keycloak, client_id, secret=secret)
    assert gone.status_code == 401
    assert gone.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rotate-secret", "no_such_client"], "admin: no client 'no_such_client' was added with this tool"),
        (["disable", "realm-management"], "admin: no client 'realm-management' was added with this tool"),
        (["remove", "web_app", "--yes"], "admin: no client 'web_app' was added with this tool"),
        (["add-client", "caller_x", "--scope", "root"], "admin: unknown scope(s): root (known: books.admin"),
        (["add-client", "test_api_client"], "admin: client 'test_api_client' already exists"),
        (["add-client", "Bad Name!"], "admin: client id must be 3-63 characters"),
    ],
)
def test_clear_errors(admin_env, capsys, args, message):
    assert cli.main(args) == service.EXIT_ERROR
    assert capsys.readouterr().err.startswith(message)


def test_wrong_admin_secret_is_a_clear_refusal(admin_env, monkeypatch, capsys):
    monkeypatch.setenv("ADMIN_CLIENT_SECRET", "wrong")
    assert cli.main(["add-client", unique_client()]) == service.EXIT_REFUSED
    assert (
        capsys.readouterr().err == "admin: Keycloak refused the admin client's credentials (ADMIN_CLIENT_ID/SECRET)\n"
    )


def test_admin_client_cannot_touch_users_or_the_master_realm(keycloak: Keycloak):
    token = token_request(keycloak, "api_admin").json()["access_token"]
    headers = bearer(token)
    master = requests.get(f"{keycloak.url}/admin/realms/master/clients", headers=headers, timeout=10)
    assert master.status_code == 403
    users = requests.get(f"{keycloak.url}/admin/realms/myorg/users", headers=headers, timeout=10)
    assert users.status_code == 403
    realm = requests.put(f"{keycloak.url}/admin/realms/myorg", json={"enabled": False}, headers=headers, timeout=10)
    assert realm.status_code == 403


def test_settings_derive_the_server_from_the_issuer():
    settings = AdminSettings(issuer="https://id.example.org/realms/myorg", client_secret="s")
    assert (settings.server_url, settings.realm) == ("https://id.example.org", "myorg")


def test_registration_tokens_are_kept_per_issuer_in_a_file_only_the_owner_can_read(tmp_path):
    path = tmp_path / "state" / "registration-tokens.json"
    store = service.TokenStore(path, "https://id.example.org/realms/myorg")
    store.put("caller_one", "token-one")
    store.put("caller_two", "token-two")
    store.put("caller_one", None)
    other = service.TokenStore(path, "https://other.example.org/realms/myorg")
    other.put("caller_one", "token-elsewhere")

    assert store.clients() == {"caller_two": "token-two"}
    assert other.clients() == {"caller_one": "token-elsewhere"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [entry.name for entry in path.parent.iterdir()] == ["registration-tokens.json"]


def test_a_damaged_token_store_is_a_clear_error(tmp_path):
    path = tmp_path / "registration-tokens.json"
    path.write_text("[not json", encoding="utf-8")
    with pytest.raises(service.AdminError, match="cannot read the token store"):
        service.TokenStore(path, "https://id.example.org/realms/myorg").clients()


def test_a_client_removed_outside_the_tool_is_listed_as_unknown_and_refused_clearly(admin_env, keycloak, capsys):
    client_id = unique_client()
    added(capsys, client_id, "books.read")
    RealmAdmin(keycloak).delete_client(client_id)

    assert cli.main(["list"]) == service.EXIT_OK
    assert capsys.readouterr().out.splitlines()[1].split() == [client_id, "?", "-"]
    assert cli.main(["rotate-secret", client_id]) == service.EXIT_REFUSED
    assert capsys.readouterr().err.startswith(
        f"admin: Keycloak no longer accepts the registration token of {client_id!r}"
    )
