"""RFC 9728 Protected Resource Metadata: the document, and the pointer to it in every 401."""

from __future__ import annotations

import pytest

from kcguard.config import ConfigError
from kcguard.resource import ResourceSettings
from tests.support.local_issuer import LocalIssuer

PATH = "/.well-known/oauth-protected-resource"


def test_the_document_field_by_field(local_app, local_issuer: LocalIssuer):
    response = local_app.test_client().get(PATH)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == {
        "resource": "http://localhost",
        "authorization_servers": [local_issuer.issuer],
        "scopes_supported": ["books.admin", "books.read", "test_api_access"],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
        "dpop_bound_access_tokens_required": False,
        "resource_name": "kcguard demo API",
    }


def test_the_resource_is_the_request_origin_or_public_url(local_issuer: LocalIssuer, make_local_app):
    app = make_local_app()
    assert app.test_client().get(PATH, base_url="http://127.0.0.1:8000").json["resource"] == "http://127.0.0.1:8000"
    public = make_local_app(public_url="https://api.example.org/")
    assert public.test_client().get(PATH).json["resource"] == "https://api.example.org"


@pytest.mark.parametrize(
    ("policy", "members"),
    [
        ("required", {"dpop_signing_alg_values_supported": ["ES256"], "dpop_bound_access_tokens_required": True}),
        ("off", {}),
    ],
)
def test_the_dpop_members_follow_the_policy(local_issuer: LocalIssuer, make_local_app, policy, members):
    app = make_local_app(dpop=policy, dpop_algorithms=("ES256",))
    document = app.test_client().get(PATH).json
    assert {k: v for k, v in document.items() if k.startswith("dpop")} == members


def test_the_document_can_be_switched_off(local_issuer: LocalIssuer, make_local_app, local_app):
    app = make_local_app(resource_metadata=False)
    assert app.test_client().get(PATH).status_code == 404
    challenge = app.test_client().get("/api/private").headers["WWW-Authenticate"]
    assert "resource_metadata" not in challenge


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({}, "/api/private"),
        ({"Authorization": "Bearer not-a-jwt"}, "/api/private"),
        ({"Authorization": "DPoP not-a-jwt", "DPoP": "x.y.z"}, "/api/books"),
        ({"Authorization": "DPoP not-a-jwt"}, "/api/books"),
    ],
)
def test_every_401_points_to_the_document(local_app, headers, path):
    response = local_app.test_client().get(path, headers=headers)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.count('resource_metadata="http://localhost/.well-known/oauth-protected-resource"') == 2


@pytest.mark.parametrize("url", ["https://api.example.org/v1", "https://api.example.org/?x=1", "ftp://api.example.org"])
def test_public_url_must_be_an_origin(url):
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        ResourceSettings(public_url=url)
