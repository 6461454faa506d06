"""examples/minimal_app.py, the README's "Protect your own Flask app", against both issuers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from kcguard.resource import ResourceSettings
from tests.support.auth import bearer
from tests.support.local_issuer import LocalIssuer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "minimal_app.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("minimal_app", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_uses_only_the_core_and_flask():
    imports = [line for line in EXAMPLE.read_text().splitlines() if line.startswith(("import ", "from "))]
    assert imports == [
        "from __future__ import annotations",
        "from flask import Flask",
        "from kcguard.resource import ResourceSettings",
        "from kcguard.resource.flask import current_token, init_app, require_auth",
    ]


def test_example_accepts_a_local_token_with_the_scope(example, local_issuer: LocalIssuer):
    client = example.create_app(ResourceSettings(issuer=local_issuer.issuer)).test_client()
    response = client.get("/hello", headers=bearer(local_issuer.sign(sub="someone")))
    assert response.status_code == 200
    assert response.json == {"hello": "someone", "scopes": ["profile", "test_api_access"]}


def test_example_refuses_a_missing_token_and_a_missing_scope(example, local_issuer: LocalIssuer):
    client = example.create_app(ResourceSettings(issuer=local_issuer.issuer)).test_client()
    missing = client.get("/hello")
    assert missing.status_code == 401
    metadata = "http://localhost/.well-known/oauth-protected-resource"
    assert missing.headers["WWW-Authenticate"] == (
        f'Bearer realm="local", resource_metadata="{metadata}", '
        f'DPoP algs="ES256 RS256 PS256 EdDSA", resource_metadata="{metadata}"'
    )
    unscoped = client.get("/hello", headers=bearer(local_issuer.sign(scope="profile")))
    assert unscoped.status_code == 403
    assert unscoped.json["error"] == "insufficient_scope"
    assert 'scope="test_api_access", resource_metadata=' in unscoped.headers["WWW-Authenticate"]


def test_example_reads_its_settings_from_the_environment(example, local_issuer: LocalIssuer, monkeypatch):
    monkeypatch.setenv("OIDC_ISSUER", local_issuer.issuer)
    client = example.create_app().test_client()
    assert client.get("/hello", headers=bearer(local_issuer.sign())).status_code == 200


@pytest.mark.keycloak
def test_example_accepts_a_real_keycloak_token(example, keycloak, get_token):
    settings = ResourceSettings(issuer=keycloak.issuer, discovery_url=keycloak.discovery_url)
    client = example.create_app(settings).test_client()
    response = client.get("/hello", headers=bearer(get_token("test_api_client", "test_api_access")))
    assert response.status_code == 200
    assert "test_api_access" in response.json["scopes"]
    assert client.get("/hello", headers=bearer(get_token("test_api_client"))).status_code == 403
