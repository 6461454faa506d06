"""The API's routes: public, private, scoped, the books API, and health checks."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from ..resource import AccessToken
from ..resource.flask import current_token, current_validator, require_auth
from . import books
from .db import get_db
from .errors import ApiError, json_error

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)


def caller(token: AccessToken) -> dict[str, object]:
    """What the API knows about the caller, from the verified token only."""
    return {
        "subject": token.get("sub"),
        "client_id": token.get("azp"),
        "scopes": sorted(token.scopes),
        "realm_roles": sorted(token.realm_roles),
    }


@bp.get("/public")
def public() -> ResponseReturnValue:
    return {"message": "Hello from a public endpoint! You don't need to be authenticated to see this."}


@bp.get("/private")
@require_auth()
def private() -> ResponseReturnValue:
    return {
        "message": "Hello from a private endpoint! You need to be authenticated to see this.",
        **caller(current_token._get_current_object()),  # one context lookup instead of four
    }


@bp.get("/private-scoped")
@require_auth("test_api_access")
def private_scoped() -> ResponseReturnValue:
    return {
        "message": "Hello from a private endpoint! You need to be authenticated and have a scope of "
        "test_api_access to see this.",
        **caller(current_token._get_current_object()),
    }


@bp.get("/books")
@require_auth("books.read")
def list_books() -> ResponseReturnValue:
    return {"books": books.list_books(get_db())}


@bp.get("/books/<int:book_id>")
@require_auth("books.read")
def get_book(book_id: int) -> ResponseReturnValue:
    return books.get_book(get_db(), book_id)


@bp.post("/books")
@require_auth("books.admin")
def add_book() -> ResponseReturnValue:
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(400, "invalid_request", "The body must be JSON (Content-Type: application/json).")
    book = books.add_book(get_db(), books.parse_new_book(payload))
    response = jsonify(book)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_book", book_id=book["id"])
    return response


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers; no network."""
    return {"status": "ok"}


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: signing keys are loaded, so private routes can answer."""
    ready, problem = current_validator().ready()
    if ready:
        return {"status": "ready"}
    return json_error(503, "not_ready", f"Signing keys are not loaded: {problem}", {"Retry-After": "5"})
