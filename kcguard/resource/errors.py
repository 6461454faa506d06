"""Every way a protected request can fail, each error with its status and challenge parameters.

Bearer-token failures follow RFC 6750 section 3: a ``WWW-Authenticate``
challenge with ``error`` and ``error_description``, and the same two as a
JSON body. The errors are Authlib's ``OAuth2Error`` subclasses, so Authlib's
``ResourceProtector`` raises and catches them; ``challenge`` turns any of
them into status, headers and body without knowing the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError


class InvalidToken(InvalidTokenError):
    """The token failed validation; the description says which check, never the token."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description)


class InvalidRequest(OAuth2Error):
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

    def challenge_params(self) -> list[tuple[str, str]]:
        scopes = " ".join(dict.fromkeys(s for group in self.required for s in group.split()))
        return [("scope", scopes)]


class ValidationUnavailable(OAuth2Error):
    """Keycloak is needed to judge the token and cannot be reached (no keys yet, introspection down)."""

    error = "temporarily_unavailable"
    status_code = 503
    retry_after = 5


@dataclass(frozen=True)
class Challenge:
    """A refusal ready for any framework: status, headers and a JSON-able body."""

    status: int
    headers: dict[str, str]
    body: dict[str, str]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def challenge(error: OAuth2Error, realm: str) -> Challenge:
    """The RFC 6750 answer to ``error``: ``WWW-Authenticate: Bearer ...`` plus the JSON body."""
    description = error.get_error_description() or error.description or error.error
    params = [("realm", realm)]
    if not isinstance(error, MissingAuthorizationError):
        # RFC 6750 section 3.1: no error code when the request had no credentials.
        params += [("error", error.error), ("error_description", description)]
    extra = getattr(error, "challenge_params", None)
    if extra is not None:
        params += extra()
    header = "Bearer " + ", ".join(f'{name}="{_quote(value)}"' for name, value in params)
    headers = {"WWW-Authenticate": header, "Cache-Control": "no-store"}
    if isinstance(error, ValidationUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    return Challenge(error.status_code or 401, headers, {"error": error.error, "error_description": description})
