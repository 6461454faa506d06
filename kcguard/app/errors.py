"""The demo service's errors mapped to JSON in one place.

Token refusals are the core's (``kcguard.resource.flask``); everything else
(bad JSON, unknown routes, wrong methods, the books store's refusals) gets
the same ``{"error", "error_description"}`` shape here, so a caller never
has to parse an HTML error page or a stack trace.
"""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .books import BookNotFound, InvalidBook, StoreFull
from .db import DatabaseUnavailable


class ApiError(Exception):
    """A request a route understood but refuses."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


#: The storage's domain errors and the HTTP answer each gets.
DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    InvalidBook: (400, "invalid_request"),
    BookNotFound: (404, "not_found"),
    StoreFull: (507, "insufficient_storage"),
    DatabaseUnavailable: (503, "temporarily_unavailable"),
}


def json_error(status: int, error: str, description: str, headers: dict[str, str] | None = None):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def init_app(app: Flask) -> None:
    """JSON for ``ApiError``, the domain errors, and every HTTP error Flask raises."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> ResponseReturnValue:
        return json_error(error.status, error.error, error.description)

    for kind, (status, code) in DOMAIN_ERRORS.items():
        app.register_error_handler(kind, lambda error, status=status, code=code: json_error(status, code, str(error)))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        if error.response is not None:
            return error.response
        name = (error.name or "error").lower().replace(" ", "_")
        response = json_error(error.code or 500, name, error.description or "")
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
