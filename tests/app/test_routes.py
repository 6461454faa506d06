"""Every route with real tokens from Keycloak's test_api_client and reporting_client."""

from __future__ import annotations

import uuid

import pytest

from tests.support.auth import bearer

pytestmark = pytest.mark.keycloak


def test_public_route_needs_no_token(api_client):
    response = api_client.get("/api/public")
    assert response.status_code == 200
    assert "public endpoint" in response.json["message"]


def test_private_route_without_a_token_is_401(api_client):
    response = api_client.get("/api/private")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="myorg"'


def test_private_route_with_a_real_token_is_200(api_client, get_token):
    response = api_client.get("/api/private", headers=bearer(get_token("test_api_client")))
    assert response.status_code == 200
    assert response.json["client_id"] == "test_api_client"
    assert "default-roles-myorg" in response.json["realm_roles"]


def test_private_scoped_route_with_the_scope_is_200(api_client, get_token):
    response = api_client.get("/api/private-scoped", headers=bearer(get_token("test_api_client", "test_api_access")))
    assert response.status_code == 200
    assert "test_api_access" in response.json["scopes"]


def test_private_scoped_route_without_the_scope_is_403(api_client, get_token):
    response = api_client.get("/api/private-scoped", headers=bearer(get_token("test_api_client")))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"].endswith('scope="test_api_access"')


def test_reporting_client_reads_books(api_client, get_token):
    response = api_client.get("/api/books", headers=bearer(get_token("reporting_client", "books.read")))
    assert response.status_code == 200
    assert [book["id"] for book in response.json["books"]][:2] == [1, 2]


def test_reporting_client_cannot_add_books(api_client, get_token):
    response = api_client.post(
        "/api/books",
        json={"title": "Nope", "author": "Nobody"},
        headers=bearer(get_token("reporting_client", "books.read")),
    )
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"].endswith('scope="books.admin"')


def test_books_api_end_to_end(api_client, get_token):
    admin = bearer(get_token("test_api_client", "books.read books.admin"))
    title = f"Book {uuid.uuid4().hex}"
    created = api_client.post("/api/books", json={"title": title, "author": "A. Author", "year": 2024}, headers=admin)
    assert created.status_code == 201
    book = created.json
    assert book == {"id": book["id"], "title": title, "author": "A. Author", "year": 2024}
    assert created.headers["Location"] == f"/api/books/{book['id']}"

    fetched = api_client.get(f"/api/books/{book['id']}", headers=admin)
    assert fetched.status_code == 200
    assert fetched.json == book
    listed = api_client.get("/api/books", headers=admin)
    assert book in listed.json["books"]


def test_missing_book_is_404_json(api_client, get_token):
    response = api_client.get("/api/books/999999", headers=bearer(get_token("reporting_client", "books.read")))
    assert response.status_code == 404
    assert response.json == {"error": "not_found", "error_description": "No book with id 999999."}


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ("not json", "The body must be JSON (Content-Type: application/json)."),
        ("[1, 2]", "The body must be a JSON object."),
        ('{"author": "A"}', "'title' is required and must be a non-empty string."),
        ('{"title": "T", "author": "  "}', "'author' is required and must be a non-empty string."),
        ('{"title": "T", "author": "A", "year": "1999"}', "'year' must be a whole number between -5000 and 3000."),
        ('{"title": "T", "author": "A", "isbn": "x"}', "Unknown field(s): isbn."),
    ],
)
def test_bad_book_bodies_are_400_json(api_client, get_token, body: str, description: str):
    headers = {**bearer(get_token("test_api_client", "books.admin")), "Content-Type": "application/json"}
    response = api_client.post("/api/books", data=body, headers=headers)
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request", "error_description": description}


def test_books_need_a_token(api_client):
    assert api_client.get("/api/books").status_code == 401
    assert api_client.post("/api/books", json={"title": "T", "author": "A"}).status_code == 401


def test_readiness_loads_the_realm_keys(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready"}


def test_unknown_route_and_method_are_json(api_client):
    missing = api_client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json["error"] == "not_found"
    wrong_method = api_client.delete("/api/public")
    assert wrong_method.status_code == 405
    assert wrong_method.json["error"] == "method_not_allowed"


def test_oversized_body_is_413_json(api_client, get_token):
    headers = {**bearer(get_token("test_api_client", "books.admin")), "Content-Type": "application/json"}
    response = api_client.post("/api/books", data="x" * (64 * 1024 + 1), headers=headers)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"
