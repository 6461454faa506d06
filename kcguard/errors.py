"""Every error the API answers, mapped to HTTP in one place.

Bearer-token failures follow RFC 6750 section 3: a JSON body with ``error``
and ``error_description`` plus a ``WWW-Authenticate: Bearer`` challenge.
Everything else (bad JSON, unknown routes, wrong methods) gets the same JSON
shape, so a caller never has to parse an HTML error page or a stack trace.
"""

from __future__ import annotations

import logging

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class InvalidToken(InvalidTokenError):
    """The token failed validation; the description says which check, never the token."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description)


class InvalidBearerRequest(OAuth2Error):
    """The Authorization header is not ``Bearer <b64token>`` (RFC 6750 section 2.1)."""

    error = "invalid_request"
    status_code = 400


class InsufficientScope(InsufficientScopeError):
    """A valid token that lacks the scopes a route needs (RFC 6750 section 3.1)."""

    def __init__(self, required: list[str]) -> None:
        self.required = required
        if len(required) == 1:
            description = f"This request needs the scope(s): {required[0]}."
        else:
            description = f"This request needs one of these scope sets: {' | '.join(required)}."
        super().__init__(description=description)

    @property
    def scope_attribute(self) -> str:
        return " ".join(dict.fromkeys(s for group in self.required for s in group.split()))


class ValidationUnavailable(OAuth2Error):
    """Keycloak is needed to judge the token and cannot be reached (no keys yet, introspection down)."""

    error = "temporarily_unavailable"
    status_code = 503
    retry_after = 5


class ApiError(Exception):
    """A request the route understood but refuses, such as an invalid JSON body."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def json_error(status: int, error: str, description: str, headers: dict[str, str] | None = None):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def bearer_error_response(error: OAuth2Error, realm: str):
    """Turn an Authlib/OAuth 2.0 error into an RFC 6750 response."""
    description = error.get_error_description() or error.description or error.error
    params = [f'realm="{_quote(realm)}"']
    if not isinstance(error, MissingAuthorizationError):
        # RFC 6750 section 3.1: no error code when the request had no credentials.
        params += [f'error="{error.error}"', f'error_description="{_quote(description)}"']
    if isinstance(error, InsufficientScope):
        params.append(f'scope="{error.scope_attribute}"')
    headers = {"WWW-Authenticate": "Bearer " + ", ".join(params), "Cache-Control": "no-store"}
    if isinstance(error, ValidationUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    return json_error(error.status_code or 401, error.error, description, headers)


def register_error_handlers(app: Flask) -> None:
    """JSON for every HTTP error Flask raises, and for ``ApiError``."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> ResponseReturnValue:
        return json_error(error.status, error.error, error.description)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        if error.response is not None:
            return error.response
        name = (error.name or "error").lower().replace(" ", "_")
        response = json_error(error.code or 500, name, error.description or "")
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
