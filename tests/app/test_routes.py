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
    metadata = "http://localhost/.well-known/oauth-protected-resource"
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="myorg", resource_metadata="{metadata}", '
        f'DPoP algs="ES256 RS256 PS256 EdDSA", resource_metadata="{metadata}"'
    )


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
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert 'scope="test_api_access", resource_metadata=' in response.headers["WWW-Authenticate"]


def test_reporting_client_reads_books(api_client, get_token):
    response = api_client.get("/api/books", headers=bearer(get_token("reporting_client", "books.read")))
    assert response.status_code == 200
    assert [book["id"] for book in response.json["books"]][:2] == [1, 2]


def test_reporting_client_cannot_add_books(api_client, get_token):
    response = api_client.post(
        "/api/books",
        json={"title": "Nope", "author": "Nobody", "num_pages": 1, "cost": 1},
        headers=bearer(get_token("reporting_client", "books.read")),
    )
    assert response.status_code == 403
    assert 'scope="books.admin", resource_metadata=' in response.headers["WWW-Authenticate"]


def test_the_fakebook_seed_example_is_accepted_verbatim(api_client, get_token):
    """The seed's example body, its ``id`` included, is created under a server-assigned id."""
    admin = bearer(get_token("test_api_client", "books.read books.admin"))
    body = '{"author": "Woziek Schezcny", "cost": 7.99, "id": 1, "num_pages": 300, "title": "And Then There Were None"}'
    created = api_client.post("/api/books", data=body, headers={**admin, "Content-Type": "application/json"})
    assert created.status_code == 201
    assert created.get_data(as_text=True).strip() == (
        '{"author":"Woziek Schezcny","cost":7.99,"id":3,"num_pages":300,"title":"And Then There Were None"}'
    )
    assert created.headers["Location"] == "/api/books/3"
    book = {"author": "Woziek Schezcny", "cost": 7.99, "id": 3, "num_pages": 300, "title": "And Then There Were None"}
    assert api_client.get("/api/books/3", headers=admin).json == book
    listed = api_client.get("/api/books", headers=admin).json["books"]
    assert [b["id"] for b in listed] == [1, 2, 3] and listed[2] == book
    assert api_client.get("/api/books/1", headers=admin).json["title"] == "Designing Data-Intensive Applications"


def test_books_api_end_to_end(api_client, get_token):
    admin = bearer(get_token("test_api_client", "books.read books.admin"))
    title = f"Book {uuid.uuid4().hex}"
    body = {"title": title, "author": "A. Author", "num_pages": 12, "cost": 0, "year": 2024}
    created = api_client.post("/api/books", json=body, headers=admin)
    assert created.status_code == 201
    book = created.json
    assert book == {"id": book["id"], "title": title, "author": "A. Author", "num_pages": 12, "cost": 0.0, "year": 2024}
    assert created.headers["Location"] == f"/api/books/{book['id']}"

    fetched = api_client.get(f"/api/books/{book['id']}", headers=admin)
    assert fetched.status_code == 200
    assert fetched.json == book
    listed = api_client.get("/api/books", headers=admin)
    assert book in listed.json["books"]


@pytest.mark.parametrize(
    ("sent", "answered"),
    [("0.1", "0.1"), ("0.10", "0.1"), ("19.99", "19.99"), ("1000000", "1000000.0"), ("2.5e1", "25.0"), ("0.3", "0.3")],
)
def test_cost_is_kept_exact(api_client, get_token, sent: str, answered: str):
    """Decimal text in, integer cents stored, the same two-decimal value out (no 0.30000000000000004)."""
    admin = {**bearer(get_token("test_api_client", "books.read books.admin")), "Content-Type": "application/json"}
    body = f'{{"title": "T", "author": "A", "num_pages": 1, "cost": {sent}}}'
    created = api_client.post("/api/books", data=body, headers=admin)
    assert created.status_code == 201
    fetched = api_client.get(created.headers["Location"], headers=admin)
    assert f'"cost":{answered},' in fetched.get_data(as_text=True)


def test_a_whole_number_written_with_a_fraction_is_an_integer(api_client, get_token):
    """JSON Schema counts 300.0 as an integer (a schemathesis finding: the schema promised it)."""
    admin = {**bearer(get_token("test_api_client", "books.admin")), "Content-Type": "application/json"}
    body = '{"title": "T", "author": "A", "num_pages": 4072.0, "cost": 2.5, "year": 1999.0, "id": 10.0}'
    created = api_client.post("/api/books", data=body, headers=admin)
    assert created.status_code == 201
    assert created.json == {
        "id": created.json["id"],
        "title": "T",
        "author": "A",
        "num_pages": 4072,
        "cost": 2.5,
        "year": 1999,
    }


def test_missing_book_is_404_json(api_client, get_token):
    response = api_client.get("/api/books/999999", headers=bearer(get_token("reporting_client", "books.read")))
    assert response.status_code == 404
    assert response.json == {"error": "not_found", "error_description": "No book with id 999999."}


@pytest.mark.parametrize("book_id", ["0", "9223372036854775808", "-1", "abc", "1.5"])
def test_book_ids_outside_the_column_range_are_404_json(api_client, get_token, book_id: str):
    response = api_client.get(f"/api/books/{book_id}", headers=bearer(get_token("reporting_client", "books.read")))
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


_OK = '"title": "T", "author": "A", "num_pages": 1'


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ("not json", "The body is not valid JSON."),
        ('{"title": NaN}', "The body is not valid JSON."),
        ("[" * 5000 + "]" * 5000, "The body is not valid JSON."),
        ("[1, 2]", "The body must be a JSON object."),
        ('{"author": "A", "num_pages": 1, "cost": 1}', "'title' is required."),
        (
            '{"title": "T", "author": "  ", "num_pages": 1, "cost": 1}',
            "'author' must contain a non-space character and no control characters.",
        ),
        (
            '{"title": "T\\u0000", "author": "A", "num_pages": 1, "cost": 1}',
            "'title' must contain a non-space character and no control characters.",
        ),
        (
            '{"title": "\\ud800", "author": "A", "num_pages": 1, "cost": 1}',
            "'title' input should be a valid string, unable to parse raw data as a unicode string.",
        ),
        (
            f'{{"title": "{"x" * 201}", "author": "A", "num_pages": 1, "cost": 1}}',
            "'title' string should have at most 200 characters.",
        ),
        ('{"title": "T", "author": "A", "cost": 1}', "'num_pages' is required."),
        (
            '{"title": "T", "author": "A", "num_pages": 0, "cost": 1}',
            "'num_pages' input should be greater than or equal to 1.",
        ),
        (f'{{{_OK[:-1]}300.5, "cost": 1}}', "'num_pages' input should be a valid integer."),
        (f'{{{_OK[:-1]}1e400, "cost": 1}}', "'num_pages' input should be a valid integer."),
        (f'{{{_OK[:-1]}true, "cost": 1}}', "'num_pages' input should be a valid integer."),
        (
            '{"title": "T", "author": "A", "num_pages": "300", "cost": 1}',
            "'num_pages' input should be a valid integer.",
        ),
        ('{"title": "T", "author": "A", "num_pages": 1}', "'cost' is required."),
        (f'{{{_OK}, "cost": -0.01}}', "'cost' must be between 0 and 1000000.00."),
        (f'{{{_OK}, "cost": 7.999}}', "'cost' must have at most two decimals."),
        (f'{{{_OK}, "cost": "7.99"}}', "'cost' must be a number."),
        (f'{{{_OK}, "cost": 1e400}}', "'cost' must be between 0 and 1000000.00."),
        (f'{{{_OK}, "cost": true}}', "'cost' must be a number."),
        (f'{{{_OK}, "cost": 1, "year": "1999"}}', "'year' input should be a valid integer."),
        (f'{{{_OK}, "cost": 1, "id": "x"}}', "'id' input should be a valid integer."),
        (f'{{{_OK}, "cost": 1, "isbn": "x"}}', "Unknown field(s): isbn."),
    ],
)
def test_bad_book_bodies_are_400_json(api_client, get_token, body: str, description: str):
    headers = {**bearer(get_token("test_api_client", "books.admin")), "Content-Type": "application/json"}
    response = api_client.post("/api/books", data=body, headers=headers)
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request", "error_description": description}


def test_a_body_without_the_json_content_type_is_400(api_client, get_token):
    body = '{"author": "Woziek Schezcny", "cost": 7.99, "num_pages": 300, "title": "T"}'
    response = api_client.post("/api/books", data=body, headers=bearer(get_token("test_api_client", "books.admin")))
    assert response.status_code == 400
    assert response.json == {
        "error": "invalid_request",
        "error_description": "The body must be JSON (Content-Type: application/json).",
    }


def test_books_need_a_token(api_client):
    assert api_client.get("/api/books").status_code == 401
    seed = {"author": "Woziek Schezcny", "cost": 7.99, "id": 1, "num_pages": 300, "title": "And Then There Were None"}
    assert api_client.post("/api/books", json=seed).status_code == 401


def test_readiness_loads_the_realm_keys(api_client, keycloak):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "issuers": [{"issuer": keycloak.issuer, "ready": True}]}


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
