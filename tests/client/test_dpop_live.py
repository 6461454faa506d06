"""DPoP end to end: Keycloak's DPoP-bound tokens at the API served over HTTP, and client.py --dpop."""

from __future__ import annotations

import pytest
import requests

from kcguard.client import ApiClient, ClientSettings, cli
from kcguard.client.dpop import DPoPKey
from tests.support.dpop import fetch_dpop_token
from tests.support.keycloak import DEMO_SECRETS, Keycloak
from tests.support.live import LiveServer

pytestmark = pytest.mark.keycloak

ROUTES = [
    ("GET", "/api/private"),
    ("GET", "/api/private-scoped"),
    ("GET", "/api/books"),
    ("GET", "/api/books/1"),
    ("POST", "/api/books"),
]


@pytest.fixture
def bound(keycloak: Keycloak) -> tuple[DPoPKey, str]:
    key = DPoPKey()
    return key, fetch_dpop_token(keycloak.token_url, key, "test_api_access books.read books.admin")


def call(url: str, method: str, token: str, proof: str | None, scheme: str = "DPoP") -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    body = {"title": "Dune", "author": "Herbert", "num_pages": 412, "cost": 9} if method == "POST" else None
    return requests.request(method, url, headers=headers, json=body, timeout=10)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_bound_token_with_a_fresh_proof_passes_every_protected_route(live_api: LiveServer, bound, method, path):
    key, token = bound
    url = live_api.url + path
    response = call(url, method, token, key.proof(method, url, access_token=token))
    assert response.status_code == (201 if method == "POST" else 200), response.text


def test_the_same_token_as_bearer_is_refused(live_api: LiveServer, bound):
    _, token = bound
    response = call(live_api.url + "/api/private", "GET", token, None, scheme="Bearer")
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The token is bound to a DPoP key: send it with the DPoP scheme and a DPoP proof.",
    }
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="myorg", error="invalid_token"')


def test_a_replayed_proof_is_refused(live_api: LiveServer, bound):
    key, token = bound
    url = live_api.url + "/api/private"
    proof = key.proof("GET", url, access_token=token)
    assert call(url, "GET", token, proof).status_code == 200
    response = call(url, "GET", token, proof)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_dpop_proof", "error_description": "The DPoP proof was already used."}
    assert 'DPoP algs="ES256 RS256 PS256 EdDSA", error="invalid_dpop_proof"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("proof_method", "proof_path", "description"),
    [
        ("GET", "/api/books", "The DPoP proof htu does not match the request URL."),
        ("POST", "/api/private", "The DPoP proof htm does not match the request method."),
    ],
)
def test_a_proof_for_another_url_or_method_is_refused(
    live_api: LiveServer, bound, proof_method, proof_path, description
):
    key, token = bound
    proof = key.proof(proof_method, live_api.url + proof_path, access_token=token)
    response = call(live_api.url + "/api/private", "GET", token, proof)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_dpop_proof", "error_description": description}


def test_a_proof_signed_by_another_key_is_refused(live_api: LiveServer, bound):
    _, token = bound
    url = live_api.url + "/api/private"
    response = call(url, "GET", token, DPoPKey().proof("GET", url, access_token=token))
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The DPoP proof key is not the key the access token is bound to.",
    }


def test_introspection_mode_takes_the_binding_from_keycloak(keycloak: Keycloak, make_app, bound):
    key, token = bound
    client = make_app(introspection=True, introspection_client_secret=DEMO_SECRETS["test_api_resource"]).test_client()
    url = "http://localhost/api/private"
    headers = {"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", url, access_token=token)}
    assert client.get("/api/private", headers=headers).status_code == 200
    assert client.get("/api/private", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.fixture
def dpop_env(monkeypatch, keycloak: Keycloak, live_api: LiveServer):
    for name, value in {
        "OIDC_ISSUER": keycloak.issuer,
        "OIDC_DISCOVERY_URL": keycloak.discovery_url,
        "CLIENT_ID": "dpop_client",
        "CLIENT_SECRET": DEMO_SECRETS["dpop_client"],
        "CLIENT_SCOPE": "test_api_access",
        "API_URL": live_api.url,
    }.items():
        monkeypatch.setenv(name, value)
    return live_api


@pytest.mark.parametrize("switch", ["--dpop", "CLIENT_DPOP=1"])
def test_client_py_dpop_shows_three_200s(dpop_env, monkeypatch, capsys, switch):
    if switch.startswith("CLIENT_DPOP"):
        monkeypatch.setenv("CLIENT_DPOP", "1")
    assert cli.main([switch] if switch.startswith("--") else []) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1] for line in lines if line.startswith("/api/")}
    assert rows == {"/api/public": "200", "/api/private": "200", "/api/private-scoped": "200"}
    assert lines[0].startswith("DPoP token for dpop_client")
    assert "(1 token request(s) for 3 calls)" in lines


def test_client_with_dpop_key_from_a_file_keeps_its_binding(keycloak: Keycloak, live_api: LiveServer, tmp_path):
    from joserfc.jwk import ECKey

    key_file = tmp_path / "dpop.pem"
    key_file.write_bytes(ECKey.generate_key("P-256").as_pem(private=True))
    settings = ClientSettings(
        issuer=keycloak.issuer,
        client_id="dpop_client",
        client_secret=DEMO_SECRETS["dpop_client"],
        api_url=live_api.url,
        dpop=True,
        dpop_key_file=str(key_file),
    )
    client = ApiClient(settings)
    assert client.request("GET", "/api/private").status_code == 200
    assert client.tokens.dpop_key.jkt == DPoPKey.from_file(key_file).jkt


def test_the_client_finds_keycloak_from_the_api_url_alone(live_api: LiveServer):
    settings = ClientSettings(
        issuer="https://unused.invalid/realms/none",
        client_id="dpop_client",
        client_secret=DEMO_SECRETS["dpop_client"],
        api_url=live_api.url,
        dpop=True,
        issuer_from_api=True,
    )
    client = ApiClient(settings)
    assert [client.request("GET", path).status_code for path in ("/api/private", "/api/private-scoped")] == [200, 200]
    assert client.tokens.token_requests == 1


def test_the_client_answers_the_api_s_nonce_challenge(keycloak: Keycloak, make_app, caplog):
    """With OIDC_DPOP_NONCES=1 the first call gets use_dpop_nonce; the client resends once with the nonce."""
    caplog.set_level("INFO", logger="kcguard.client")
    with LiveServer(make_app(dpop_nonces=True)) as api:
        settings = ClientSettings(
            issuer=keycloak.issuer,
            discovery_url=keycloak.discovery_url,
            client_id="dpop_client",
            client_secret=DEMO_SECRETS["dpop_client"],
            api_url=api.url,
            dpop=True,
        )
        client = ApiClient(settings)
        first = client.request("GET", "/api/private")
        assert first.status_code == 200
        assert [r.status_code for r in first.history] == [401]
        assert first.history[0].json()["error"] == "use_dpop_nonce"
        assert client.request("GET", "/api/private").history == []  # the nonce is reused while valid
        assert client.tokens.token_requests == 1
