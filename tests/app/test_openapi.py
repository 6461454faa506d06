"""The OpenAPI document and the explorer: generated from the routes, valid 3.1, committed, off in production."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from kcguard.app import create_app
from kcguard.app.explorer import swagger_dist
from kcguard.app.openapi import DEMO_ISSUER, build_document, main, render
from kcguard.config import ConfigError
from kcguard.resource.flask import require_auth, required_scopes

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@pytest.fixture
def demo_app(tmp_path):
    return create_app(issuer=DEMO_ISSUER, web_client_id="", database=str(tmp_path / "books.sqlite"))


@pytest.fixture
def document(demo_app):
    return demo_app.test_client().get("/openapi.json").json


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()


def test_the_committed_copy_matches_the_generated_document(demo_app):
    """Regenerate with ``python -m kcguard.app openapi > docs/openapi.json`` when this fails."""
    with demo_app.app_context():
        generated = render(build_document(demo_app, DEMO_ISSUER))
    assert COMMITTED.read_text(encoding="utf-8") == generated


def test_the_command_prints_the_committed_copy(capsys):
    assert main([]) == 0
    assert capsys.readouterr().out == COMMITTED.read_text(encoding="utf-8")


def test_each_operation_names_the_scopes_its_require_auth_declares(document):
    security = {
        (method, path): operation.get("security")
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert security == {
        ("get", "/api/public"): None,
        ("get", "/api/private"): [{"keycloak": []}],
        ("get", "/api/private-scoped"): [{"keycloak": ["test_api_access"]}],
        ("get", "/api/recent-sign-in"): [{"keycloak": []}],
        ("get", "/.well-known/oauth-protected-resource"): None,
        ("get", "/api/books"): [{"keycloak": ["books.read"]}],
        ("post", "/api/books"): [{"keycloak": ["books.admin"]}],
        ("get", "/api/books/{book_id}"): [{"keycloak": ["books.read"]}],
        ("get", "/healthz"): None,
        ("get", "/readyz"): None,
        ("get", "/metrics"): None,  # never behind the bearer check
    }


def test_every_api_route_is_documented(demo_app, document):
    """Only the explorer's own pages and Flask's static files stay out of the document."""
    routes = {
        rule.rule
        for rule in demo_app.url_map.iter_rules()
        if not rule.endpoint.startswith(("explorer.", "static", "web."))
    }
    assert {
        path.replace("{book_id}", "<int(min=1, max=9223372036854775807):book_id>") for path in document["paths"]
    } == routes


def test_the_security_scheme_has_both_flows_at_the_issuers_endpoints(document):
    scheme = document["components"]["securitySchemes"]["keycloak"]
    endpoints = f"{DEMO_ISSUER}/protocol/openid-connect"
    scopes = {"books.admin", "books.read", "test_api_access"}
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == f"{endpoints}/token"
    assert set(scheme["flows"]["clientCredentials"]["scopes"]) == scopes
    assert scheme["flows"]["authorizationCode"]["authorizationUrl"] == f"{endpoints}/auth"
    assert scheme["flows"]["authorizationCode"]["tokenUrl"] == f"{endpoints}/token"
    assert set(scheme["flows"]["authorizationCode"]["scopes"]) == scopes


def test_refusals_are_described_with_their_challenge_and_json_body(document):
    responses = document["components"]["responses"]
    assert set(responses["Unauthorized"]["headers"]) == {"WWW-Authenticate"}
    assert set(responses["Forbidden"]["headers"]) == {"WWW-Authenticate"}
    error = {"$ref": "#/components/schemas/Error"}
    assert all(r["content"]["application/json"]["schema"] == error for r in responses.values())
    assert document["components"]["schemas"]["Error"]["required"] == ["error", "error_description"]
    book_operations = document["paths"]["/api/books"]
    assert book_operations["post"]["responses"]["403"] == {"$ref": "#/components/responses/Forbidden"}
    assert book_operations["post"]["responses"]["201"]["headers"]["Location"]["required"] is True


def test_the_book_body_schema_carries_the_seed_example(document):
    new_book = document["components"]["schemas"]["NewBook"]
    assert new_book["required"] == ["title", "author", "num_pages", "cost"]
    assert new_book["additionalProperties"] is False
    assert new_book["properties"]["num_pages"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100_000,
        "title": "Num Pages",
    }
    assert new_book["properties"]["cost"]["type"] == "number"
    assert new_book["properties"]["cost"]["multipleOf"] == 0.01
    assert new_book["examples"] == [
        {"author": "Woziek Schezcny", "cost": 7.99, "id": 1, "num_pages": 300, "title": "And Then There Were None"}
    ]


def test_the_explorer_page_loads_only_same_origin_code(demo_app):
    response = demo_app.test_client().get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' http://localhost:8080; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "http" not in page.replace('data-oauth2-redirect-url="http://localhost/', "")
    assert 'src="/docs/swagger-ui-bundle.js"' in page and 'src="/docs/app/explorer.js"' in page


@pytest.mark.parametrize(
    "name", ["swagger-ui-bundle.js", "swagger-ui.css", "oauth2-redirect.html", "oauth2-redirect.js"]
)
def test_swagger_ui_files_are_served_from_the_package(demo_app, name: str):
    with demo_app.test_client().get(f"/docs/{name}") as response:
        assert response.status_code == 200
        assert response.get_data() == (Path(swagger_dist()) / name).read_bytes()


def test_the_packaged_swagger_ui_reads_openapi_3_1():
    """Swagger UI reads OpenAPI 3.1 from version 5 on."""
    assert (Path(swagger_dist()) / "VERSION").read_text().startswith("v5.")


@pytest.mark.parametrize("name", ["VERSION", "LICENSE", "..%2Fflask_swagger_ui.py", "index.css"])
def test_only_the_listed_swagger_files_are_served(demo_app, name: str):
    response = demo_app.test_client().get(f"/docs/{name}")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


@pytest.mark.parametrize(
    ("app_env", "api_docs", "served"),
    [
        ("development", "auto", True),
        ("production", "auto", False),
        ("production", "on", True),
        ("development", "off", False),
    ],
)
def test_the_explorer_is_off_in_production_unless_enabled(tmp_path, app_env: str, api_docs: str, served: bool):
    app = create_app(
        issuer=DEMO_ISSUER, web_client_id="", app_env=app_env, api_docs=api_docs, database=str(tmp_path / "b.sqlite")
    )
    client = app.test_client()
    expected = 200 if served else 404
    assert (client.get("/docs").status_code, client.get("/openapi.json").status_code) == (expected, expected)


def test_a_bad_api_docs_value_names_the_variable():
    with pytest.raises(ConfigError, match="API_DOCS must be auto, on or off, got 'maybe'"):
        create_app(issuer=DEMO_ISSUER, web_client_id="", api_docs="maybe")


def test_the_document_is_json_served_with_a_json_content_type(demo_app):
    response = demo_app.test_client().get("/openapi.json")
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == response.json


def test_require_auth_records_the_scope_sets_it_accepts():
    """``"a b"`` needs both, ``["a", "b c"]`` either set, no scopes any valid token; unprotected views have none."""

    def view() -> str:
        return "ok"

    assert required_scopes(require_auth("a b")(view)) == [["a", "b"]]
    assert required_scopes(require_auth(["a", "b c"])(view)) == [["a"], ["b", "c"]]
    assert required_scopes(require_auth()(view)) == [[]]
    assert required_scopes(require_auth(view)) == [[]]
    assert required_scopes(view) is None
