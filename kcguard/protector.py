"""The ResourceProtector that guards the API's routes.

``require_auth`` is created empty at import so routes can use it as a
decorator; ``create_app`` registers each app's validator with ``init_app``
(kept per app, so tests can build several apps in one process). Scopes follow Authlib's
convention: ``@require_auth("a b")`` needs both ``a`` and ``b``,
``@require_auth(["a", "b"])`` needs either.
"""

from __future__ import annotations

import re
from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.integrations.flask_oauth2.signals import token_authenticated
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from .errors import InvalidBearerRequest, InvalidToken, bearer_error_response

#: RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Keycloak tokens are a few KiB; anything far larger is refused before any parsing.
MAX_TOKEN_LENGTH = 16 * 1024
_EXTENSION = "kcguard.validator"


class BearerProtector(ResourceProtector):
    """Authlib's protector with strict header parsing and RFC 6750 responses."""

    def init_app(self, app: Flask, validator: Any) -> None:
        app.extensions[_EXTENSION] = validator

    def get_token_validator(self, token_type: str) -> Any:
        return current_app.extensions[_EXTENSION]

    def parse_request_authorization(self, request: Any) -> tuple[Any, str]:
        header = request.headers.get("Authorization")
        if not header:
            raise MissingAuthorizationError("bearer", self.get_token_validator("bearer").realm)
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer":
            raise InvalidBearerRequest(description="The Authorization header must use the Bearer scheme.")
        credentials = credentials.strip(" ")
        if not credentials:
            raise InvalidBearerRequest(description="The Bearer token is missing.")
        if len(credentials) > MAX_TOKEN_LENGTH:
            raise InvalidToken(f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
        if not B64TOKEN.fullmatch(credentials):
            raise InvalidBearerRequest(description="The Bearer token has characters RFC 6750 does not allow.")
        return self.get_token_validator("bearer"), credentials

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

    def raise_error_response(self, error: OAuth2Error) -> None:
        raise HTTPException(response=bearer_error_response(error, self.get_token_validator("bearer").realm))


require_auth = BearerProtector()
