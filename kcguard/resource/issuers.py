"""Several issuers (Keycloak realms as tenants): the token's ``iss`` picks among the configured ones.

The ``iss`` claim is read from the unverified payload only to choose which
configured validator judges the token; that validator then checks the
signature with its own issuer's keys and the claims exactly as with one
issuer. A token naming any other issuer is refused before any network call:
nothing an unverified token names is ever fetched (RFC 8725 section 3.10).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import InvalidToken
from .events import MALFORMED, WRONG_ISSUER, Observer

if TYPE_CHECKING:
    from .tokens import AccessToken
    from .validator import KeycloakTokenValidator


def unverified_issuer(token_string: str) -> str | None:
    """The ``iss`` of a compact JWS's payload, unverified; ``None`` when there is none to read.

    Raises ``InvalidToken`` when the token is not three base64url parts with a JSON object in the middle.
    """
    parts = token_string.split(".")
    if len(parts) != 3:
        raise InvalidToken("The token is malformed.")
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidToken("The token is malformed.") from None
    if not isinstance(claims, dict):
        raise InvalidToken("The token is malformed.")
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


class IssuerSelector:
    """Holds one validator per configured issuer and hands each token to the one its ``iss`` names.

    Duck-types ``KeycloakTokenValidator`` for Authlib's ``ResourceProtector``
    (``cached``, ``authenticate_token``, ``validate_request``,
    ``validate_token``, ``realm``); refusals and readiness use the first
    issuer's realm.
    """

    TOKEN_TYPE = "bearer"  # noqa: S105 (a scheme name)

    def __init__(self, validators: Sequence[KeycloakTokenValidator], observer: Observer) -> None:
        self.validators = {validator.issuer: validator for validator in validators}
        self.first = validators[0]
        self.realm = self.first.realm
        self.issuer = self.first.issuer
        self.observer = observer

    @property
    def keys(self) -> Any:
        """The first issuer's key cache (what single-issuer code reads)."""
        return self.first.keys

    def validate_request(self, request: Any) -> None:
        """Nothing to check in the request itself."""

    def cached(self, token_string: str, *, proof_follows: bool = False) -> AccessToken | None:
        """Always a miss: each issuer's own validator keeps (and is asked for) its verified tokens."""
        return None

    def authenticate_token(self, token_string: str, *, proof_follows: bool = False) -> AccessToken:
        try:
            issuer = unverified_issuer(token_string)
        except InvalidToken:
            self.observer.validation(MALFORMED)
            raise
        validator = self.validators.get(issuer) if issuer else None
        if validator is None:
            self.observer.validation(WRONG_ISSUER)
            raise InvalidToken("The token's issuer is not accepted here.")
        return validator.authenticate_token(token_string, proof_follows=proof_follows)

    def validate_token(self, token: AccessToken, scopes: list[str] | None, request: Any, **kwargs: Any) -> None:
        self.validators[token["iss"]].validate_token(token, scopes, request, **kwargs)

    def ready(self) -> tuple[bool, str]:
        """Ready when every issuer's keys are loaded; the problems of the others otherwise."""
        states = self.readiness()
        problems = [f"{issuer}: {problem}" for issuer, (ready, problem) in states.items() if not ready]
        return not problems, "; ".join(problems)

    def readiness(self) -> dict[str, tuple[bool, str]]:
        """Each issuer's readiness (keys loaded, or why not)."""
        return {issuer: validator.ready() for issuer, validator in self.validators.items()}
