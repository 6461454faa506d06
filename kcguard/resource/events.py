"""What the core reports while it works: validation outcomes, key-set fetches, introspection calls.

The validator, the key cache and the introspector call an ``Observer``; the
default one does nothing, so the core needs no metrics library. An app that
wants numbers passes its own observer to ``build_validator(settings,
observer=...)``: ``kcguard.resource.metrics.PrometheusObserver`` (the
``[metrics]`` extra) counts everything with prometheus-client. Label values
are bounded by construction: outcomes and results are the constants below,
issuers are the configured ones.
"""

from __future__ import annotations

from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    MissingAlgorithmError,
    UnsupportedAlgorithmError,
)

#: Every outcome a token check can have (``Observer.validation``).
OK = "ok"
CACHE_HIT = "cache_hit"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KID = "unknown_kid"
DISALLOWED_ALGORITHM = "disallowed_algorithm"
WRONG_ISSUER = "wrong_issuer"
WRONG_AUDIENCE = "wrong_audience"
NOT_ACCESS_TOKEN = "not_access_token"  # noqa: S105 (a label, not a secret)
INACTIVE = "inactive"
MALFORMED = "malformed"
INSUFFICIENT_SCOPE = "insufficient_scope"
UNAVAILABLE = "unavailable"
#: A DPoP-bound token sent as a plain Bearer token (RFC 9449 section 7.2).
DPOP_REQUIRED = "dpop_required"
OUTCOMES = (
    OK,
    CACHE_HIT,
    EXPIRED,
    NOT_YET_VALID,
    BAD_SIGNATURE,
    UNKNOWN_KID,
    DISALLOWED_ALGORITHM,
    WRONG_ISSUER,
    WRONG_AUDIENCE,
    NOT_ACCESS_TOKEN,
    INACTIVE,
    MALFORMED,
    INSUFFICIENT_SCOPE,
    UNAVAILABLE,
    DPOP_REQUIRED,
)

#: Results of a key-set fetch (``Observer.jwks_fetch``) and of an introspection call.
FETCH_OK = "ok"
FETCH_FAILED = "failed"
FETCH_NO_KEYS = "no_usable_keys"
INTROSPECTION_ACTIVE = "active"
INTROSPECTION_INACTIVE = "inactive"
INTROSPECTION_FAILED = "failed"

#: The issuer label of a token refused before any configured issuer was chosen.
NO_ISSUER = "none"

#: Refusals the validator raises itself, recognised by their description.
_DESCRIBED = (
    ("unknown key", UNKNOWN_KID),
    ("does not fit the token algorithm", BAD_SIGNATURE),
    ("not an access token", NOT_ACCESS_TOKEN),
    ("no longer active", INACTIVE),
    ("issuer is not accepted", WRONG_ISSUER),
    ("bound to a DPoP key", DPOP_REQUIRED),
    ("algorithm is not allowed", DISALLOWED_ALGORITHM),
    ("signature is invalid", BAD_SIGNATURE),
)
_CLAIM_OUTCOMES = {"iss": WRONG_ISSUER, "aud": WRONG_AUDIENCE}


class Observer:
    """Receives the core's events; every method does nothing here. Subclass and override what you need."""

    def for_issuer(self, issuer: str) -> Observer:
        """The observer for one configured issuer's validator, key cache and introspector."""
        return self

    def validation(self, outcome: str) -> None:
        """One token check ended with ``outcome`` (one of ``OUTCOMES``)."""

    def jwks_fetch(self, reason: str, result: str, keys: int) -> None:
        """The key set was fetched because of ``reason``; ``keys`` usable keys are held now."""

    def introspection(self, result: str, seconds: float) -> None:
        """Keycloak's introspection endpoint answered ``result`` after ``seconds``."""

    def token_cache_size(self, size: int) -> None:
        """The verified-token cache now holds ``size`` entries."""


NO_OBSERVER = Observer()


def outcome_of(error: BaseException) -> str:
    """The outcome label for a refusal raised by the core (``InvalidToken``, ``InsufficientScope``, ...).

    Refusals translated from joserfc keep the original error as their
    ``__context__`` (``raise ... from None`` hides it from tracebacks only),
    so the claim that failed is read from there, not from the message.
    """
    kind = getattr(error, "error", "")
    if kind == "insufficient_scope":
        return INSUFFICIENT_SCOPE
    if kind == "temporarily_unavailable":
        return UNAVAILABLE
    cause = error.__context__
    if isinstance(cause, ExpiredTokenError):
        return EXPIRED
    if isinstance(cause, BadSignatureError):
        return BAD_SIGNATURE
    if isinstance(cause, UnsupportedAlgorithmError | MissingAlgorithmError):
        return DISALLOWED_ALGORITHM
    if isinstance(cause, InvalidClaimError) and cause.claim in _CLAIM_OUTCOMES:
        return _CLAIM_OUTCOMES[cause.claim]
    if isinstance(cause, InvalidClaimError) and cause.claim in ("nbf", "iat") and "NumericDate" not in str(cause):
        return NOT_YET_VALID
    if isinstance(cause, ClaimError):
        return MALFORMED
    description = str(getattr(error, "description", "") or "")
    for fragment, outcome in _DESCRIBED:
        if fragment in description:
            return outcome
    return MALFORMED
