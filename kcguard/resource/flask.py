"""The Flask glue: the one module of the core that imports Flask.

``require_auth`` is created empty at import so routes can use it as a
decorator; ``init_app(app, settings)`` gives each app its own validator
(kept in ``app.extensions``, so one process can hold several apps). Scopes
follow Authlib's convention: ``@require_auth("a b")`` needs both ``a`` and
``b``, ``@require_auth(["a", "b"])`` needs either. Every refusal becomes an
RFC 6750 response in ``raise_error_response``, the one place errors turn
into HTTP.
"""

from __future__ import annotations

import re
from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.integrations.flask_oauth2.signals import token_authenticated
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from flask import Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .errors import InvalidRequest, InvalidToken, challenge
from .settings import ResourceSettings
from .validator import KeycloakTokenValidator, build_validator

__all__ = [
    "BearerProtector",
    "current_token",
    "current_validator",
    "error_response",
    "init_app",
    "require_auth",
    "required_scopes",
]

#: RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Keycloak tokens are a few KiB; anything far larger is refused before any parsing.
MAX_TOKEN_LENGTH = 16 * 1024
EXTENSION = "kcguard.validator"
#: The attribute ``require_auth`` sets on each view it protects: the scope sets it accepts.
REQUIRED_SCOPES = "required_scopes"


def required_scopes(view: Any) -> list[list[str]] | None:
    """The scope sets a protected view accepts (any one set, all scopes in it); ``None`` if unprotected.

    ``[[]]`` means a valid token with any scopes; ``[["a", "b"], ["c"]]`` means ``a`` and ``b``, or ``c``.
    An API description (OpenAPI ``security``) reads this instead of repeating the scopes by hand.
    """
    return getattr(view, REQUIRED_SCOPES, None)


def init_app(
    app: Flask, settings: ResourceSettings, validator: KeycloakTokenValidator | None = None
) -> KeycloakTokenValidator:
    """Protect ``app``'s ``@require_auth`` routes with tokens checked against ``settings``; no network yet."""
    validator = validator or build_validator(settings)
    app.extensions[EXTENSION] = validator
    return validator


def current_validator() -> KeycloakTokenValidator:
    """The validator ``init_app`` registered for the current app."""
    return current_app.extensions[EXTENSION]


def error_response(error: OAuth2Error) -> Any:
    """The RFC 6750 JSON response for ``error``, for routes that judge a token themselves."""
    refusal = challenge(error, current_validator().realm)
    response = jsonify(refusal.body)
    response.status_code = refusal.status
    response.headers.update(refusal.headers)
    return response


class BearerProtector(ResourceProtector):
    """Authlib's protector with strict header parsing and RFC 6750 responses."""

    def get_token_validator(self, token_type: str) -> Any:
        return current_validator()

    def parse_request_authorization(self, request: Any) -> tuple[Any, str]:
        header = request.headers.get("Authorization")
        if not header:
            raise MissingAuthorizationError("bearer", current_validator().realm)
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer":
            raise InvalidRequest(description="The Authorization header must use the Bearer scheme.")
        credentials = credentials.strip(" ")
        if not credentials:
            raise InvalidRequest(description="The Bearer token is missing.")
        if len(credentials) > MAX_TOKEN_LENGTH:
            raise InvalidToken(f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
        if not B64TOKEN.fullmatch(credentials):
            raise InvalidRequest(description="The Bearer token has characters RFC 6750 does not allow.")
        return current_validator(), credentials

    def acquire_token(self, scopes: Any = None, **kwargs: Any) -> Any:
        """Validate the current request's token.

        Authlib's version wraps the request in a ``FlaskJsonRequest`` that
        builds the full URL on every call; validation reads only the
        headers, so the Flask request is passed as it is.
        """
        if isinstance(scopes, str):
            scopes = [scopes]
        token = self.validate_request(scopes, request, **kwargs)
        token_authenticated.send(self, token=token)
        g.authlib_server_oauth2_token = token
        return token

    def __call__(self, scopes: Any = None, optional: bool = False, **kwargs: Any) -> Any:
        """Authlib's decorator, which also records the accepted scope sets on the view (``required_scopes``)."""
        if callable(scopes):
            return self.__call__()(scopes)
        groups = [scopes] if isinstance(scopes, str) else list(scopes or [])
        accepted = [group.split() for group in groups] or [[]]
        decorator = super().__call__(scopes, optional, **kwargs)

        def record(view: Any) -> Any:
            protected = decorator(view)
            setattr(protected, REQUIRED_SCOPES, accepted)
            return protected

        return record

    def raise_error_response(self, error: OAuth2Error) -> None:
        raise HTTPException(response=error_response(error))


require_auth = BearerProtector()
