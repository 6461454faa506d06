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


class InsufficientUserAuthentication(OAuth2Error):
    """The token's sign-in is too weak or too old for the route (RFC 9470 section 3)."""

    error = "insufficient_user_authentication"
    status_code = 401

    def __init__(self, description: str, acr_values: list[str] | None = None, max_age: int | None = None) -> None:
        super().__init__(description=description)
        self.acr_values = acr_values or []
        self.max_age = max_age

    def challenge_params(self) -> list[tuple[str, str]]:
        params = [("acr_values", " ".join(self.acr_values))] if self.acr_values else []
        return params + ([("max_age", str(self.max_age))] if self.max_age is not None else [])


class DPoPError(OAuth2Error):
    """A refused DPoP request; knows its HTTP status, its error code and any extra response headers."""

    error = "invalid_dpop_proof"
    status_code = 401

    def __init__(self, description: str) -> None:
        super().__init__(description=description)

    @property
    def headers(self) -> dict[str, str]:
        """Response headers besides ``WWW-Authenticate``."""
        return {}


class InvalidDPoPProof(DPoPError):
    """The proof itself fails a check of RFC 9449 section 4.3."""


class DPoPBindingMismatch(DPoPError):
    """The proof key is not the key the token is bound to (RFC 9449 section 7.1, figure 16)."""

    error = "invalid_token"


class UseDPoPNonce(DPoPError):
    """The proof lacks the nonce this server asks for (RFC 9449 section 9); the answer carries a fresh one."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce

    @property
    def headers(self) -> dict[str, str]:
        return {"DPoP-Nonce": self.nonce}


@dataclass(frozen=True)
class Offer:
    """The schemes an API offers in its challenges (RFC 9449 section 7.2) and where its metadata is (RFC 9728)."""

    bearer: bool = True
    dpop_algorithms: tuple[str, ...] = ()
    resource_metadata: str = ""


#: What an API that knows nothing of DPoP or RFC 9728 offers.
BEARER_ONLY = Offer()


@dataclass(frozen=True)
class Challenge:
    """A refusal ready for any framework: status, headers and a JSON-able body."""

    status: int
    headers: dict[str, str]
    body: dict[str, str]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def challenge(error: OAuth2Error, realm: str, offer: Offer = BEARER_ONLY, used: str | None = "bearer") -> Challenge:
    """The RFC 6750 / RFC 9449 answer to ``error``: ``WWW-Authenticate`` plus the JSON body.

    Each offered scheme gets a challenge; the error goes to the scheme the
    request ``used`` ("bearer", "dpop", or "both" when it mixed them),
    or to the first offered one when the request named neither. RFC 6750
    section 3.1: no error code when the request had no credentials.
    """
    description = error.get_error_description() or error.description or error.error
    error_params: list[tuple[str, str]] = []
    if not isinstance(error, MissingAuthorizationError):
        error_params = [("error", error.error), ("error_description", description)]
        extra = getattr(error, "challenge_params", None)
        if extra is not None:
            error_params += extra()
    schemes = (["Bearer"] if offer.bearer else []) + (["DPoP"] if offer.dpop_algorithms else [])
    names = [s.lower() for s in schemes]
    targets = set(names) if used == "both" else ({used} & set(names)) or set(names[:1])
    challenges = []
    for scheme in schemes:
        params = [("realm", realm)] if scheme == "Bearer" else [("algs", " ".join(offer.dpop_algorithms))]
        if scheme.lower() in targets:
            params += error_params
        if offer.resource_metadata:
            params.append(("resource_metadata", offer.resource_metadata))
        challenges.append(scheme + " " + ", ".join(f'{name}="{_quote(value)}"' for name, value in params))
    headers = {"WWW-Authenticate": ", ".join(challenges), "Cache-Control": "no-store"}
    if isinstance(error, ValidationUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    headers.update(getattr(error, "headers", None) or {})
    return Challenge(error.status_code or 401, headers, {"error": error.error, "error_description": description})
