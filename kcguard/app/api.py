"""The API's routes: public, private, scoped, the books API, and health checks.

Each route is ``documented`` for the OpenAPI document (``openapi.py``); the
response models below describe what the routes answer.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from werkzeug.exceptions import RequestEntityTooLarge

from ..resource import AccessToken
from ..resource.flask import current_token, current_validator, require_auth
from ..resource.issuers import IssuerSelector
from . import books
from .db import DatabaseUnavailable, get_db
from .errors import ApiError, json_error
from .openapi import documented

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)


class Message(BaseModel):
    """A greeting."""

    message: str


class Caller(Message):
    """A greeting and what the API knows about the caller, from the verified token."""

    subject: str | None
    client_id: str | None
    scopes: list[str]
    realm_roles: list[str]


class ResourceMetadata(BaseModel):
    """OAuth 2.0 Protected Resource Metadata (RFC 9728 section 2)."""

    resource: str
    authorization_servers: list[str]
    scopes_supported: list[str]
    bearer_methods_supported: list[str]
    dpop_signing_alg_values_supported: list[str] | None = None
    dpop_bound_access_tokens_required: bool | None = None
    resource_name: str | None = None


class IssuerReadiness(BaseModel):
    """One configured issuer: are its signing keys loaded, and if not, why."""

    issuer: str
    ready: bool
    problem: str | None = None


class Status(BaseModel):
    """The service's state; readiness lists each configured issuer."""

    status: str
    issuers: list[IssuerReadiness] | None = None


_GET_BOOK_LINK = {"GetBook": {"operationId": "getBook", "parameters": {"book_id": "$response.body#/id"}}}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body() -> Any:
    """The request's JSON body, numbers with a fraction or exponent as exact ``Decimal``s (money stays exact).

    A chunked body (no ``Content-Length``) that reaches MAX_CONTENT_LENGTH gets
    413 like one whose length says so: Werkzeug cuts it at the limit silently,
    and it would be parsed truncated.
    """
    if not request.is_json:
        raise ApiError(400, "invalid_request", "The body must be JSON (Content-Type: application/json).")
    data = request.get_data()
    if request.content_length is None and len(data) >= (current_app.config["MAX_CONTENT_LENGTH"] or len(data) + 1):
        raise RequestEntityTooLarge()
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_request", "The body is not valid JSON.") from None


def caller(token: AccessToken) -> dict[str, object]:
    """What the API knows about the caller, from the verified token only."""
    return {
        "subject": token.get("sub"),
        "client_id": token.get("azp"),
        "scopes": sorted(token.scopes),
        "realm_roles": sorted(token.realm_roles),
    }


@bp.get("/public")
@documented("A greeting anyone may read", tag="demo", responses={200: Message})
def public() -> ResponseReturnValue:
    return {"message": "Hello from a public endpoint! You don't need to be authenticated to see this."}


@bp.get("/private")
@documented("A greeting for any valid token", tag="demo", responses={200: Caller})
@require_auth()
def private() -> ResponseReturnValue:
    return {
        "message": "Hello from a private endpoint! You need to be authenticated to see this.",
        **caller(current_token._get_current_object()),  # one context lookup instead of four
    }


@bp.get("/private-scoped")
@documented("A greeting for tokens with the test_api_access scope", tag="demo", responses={200: Caller})
@require_auth("test_api_access")
def private_scoped() -> ResponseReturnValue:
    return {
        "message": "Hello from a private endpoint! You need to be authenticated and have a scope of "
        "test_api_access to see this.",
        **caller(current_token._get_current_object()),
    }


def step_up_max_age() -> int:
    return current_app.config["STEP_UP_MAX_AGE"]


@bp.get("/recent-sign-in")
@documented("A greeting for a recent sign-in (step-up, RFC 9470)", tag="demo", responses={200: Caller})
@require_auth(max_age=step_up_max_age)
def recent_sign_in() -> ResponseReturnValue:
    """Step-up demo (RFC 9470): only for a person who signed in within ``STEP_UP_MAX_AGE`` seconds."""
    return {
        "message": f"Hello! You signed in within the last {step_up_max_age()} seconds.",
        **caller(current_token._get_current_object()),
    }


@bp.get("/books")
@documented("List the books", tag="books", operation_id="listBooks", responses={200: books.BookList})
@require_auth("books.read")
def list_books() -> ResponseReturnValue:
    return {"books": books.list_books(get_db())}


@bp.get(f"/books/<int(min=1, max={books.MAX_ID}):book_id>")
@documented("One book", tag="books", operation_id="getBook", responses={200: books.Book, 404: "NotFound"})
@require_auth("books.read")
def get_book(book_id: int) -> ResponseReturnValue:
    return books.get_book(get_db(), book_id)


@bp.post("/books")
@documented(
    "Add a book",
    tag="books",
    operation_id="addBook",
    body=books.NewBook,
    responses={
        201: {
            "description": "The book as stored, with its new id.",
            "headers": {"Location": {"description": "The book's URL.", "schema": {"type": "string"}, "required": True}},
            "content": {"application/json": {"schema": "Book"}},
        },
        507: {
            "description": "The demo store is full (``insufficient_storage``).",
            "content": {"application/json": {"schema": "Error"}},
        },
    },
    links={201: _GET_BOOK_LINK},
)
@require_auth("books.admin")
def add_book() -> ResponseReturnValue:
    """The server assigns the id: a client-sent ``id`` (the FakeBook seed's example has one) is ignored."""
    book = books.add_book(get_db(), books.parse_new_book(json_body()))
    response = jsonify(book)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_book", book_id=book["id"])
    return response


@health.get("/healthz")
@documented("Liveness", tag="health", responses={200: Status})
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers; no network."""
    return {"status": "ok"}


@health.get("/readyz")
@documented(
    "Readiness",
    tag="health",
    responses={
        200: Status,
        503: {
            "description": "No issuer's signing keys are loaded (``not_ready``); the body also lists the issuers.",
            "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": "Error"}},
        },
    },
)
def readyz() -> ResponseReturnValue:
    """Readiness: signing keys are loaded and the database answers; each issuer's own state.

    With several issuers, the API is ready when all are, ``degraded`` (still
    200: tokens of the ready issuers pass) when some are, and 503 when none is.
    """
    validator = current_validator()
    states = validator.readiness() if isinstance(validator, IssuerSelector) else {validator.issuer: validator.ready()}
    issuers = [
        {"issuer": issuer, "ready": ready, **({"problem": problem} if not ready else {})}
        for issuer, (ready, problem) in states.items()
    ]
    ready_count = sum(1 for entry in issuers if entry["ready"])
    if not ready_count:
        problems = "; ".join(entry["problem"] for entry in issuers)
        response = json_error(503, "not_ready", f"Signing keys are not loaded: {problems}", {"Retry-After": "5"})
        response.set_data(json.dumps({**response.get_json(), "issuers": issuers}))
        return response
    try:
        get_db()  # a replica's first probe creates the schema, as the replica starts
    except DatabaseUnavailable:
        return json_error(503, "not_ready", "The database is unavailable.", {"Retry-After": "5"})
    return {"status": "ready" if ready_count == len(issuers) else "degraded", "issuers": issuers}
