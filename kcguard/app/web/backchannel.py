"""Validating Keycloak's logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6).

When a user's Keycloak session ends (sign-out elsewhere, an admin, an
expiry), Keycloak POSTs a logout token to ``web_app``'s back-channel URL.
The token is a JWT signed with the realm's key, so the core's key cache
verifies it; the claims are checked as the specification lists them, and
the ``events`` claim is what keeps an ID or access token from passing as a
logout token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key

from ...resource.errors import ValidationUnavailable
from ...resource.keys import KeyCache

EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Keycloak's logout tokens are well under 2 KiB.
MAX_LENGTH = 8 * 1024


class InvalidLogoutToken(Exception):
    """The logout token does not validate; the message says why, without the token."""


def validate_logout_token(
    token: str, *, keys: KeyCache, issuer: str, client_id: str, algorithms: Sequence[str], leeway: int
) -> dict[str, Any]:
    """Return the claims of a valid logout token; raise ``InvalidLogoutToken`` otherwise."""
    if not token or len(token) > MAX_LENGTH:
        raise InvalidLogoutToken("logout_token is missing or too long")

    def key_for(obj: Any) -> Key:
        kid = obj.headers().get("kid")
        try:
            key = keys.get(kid) if isinstance(kid, str) and kid else None
        except ValidationUnavailable:  # keys older than OIDC_JWKS_MAX_STALENESS
            raise InvalidLogoutToken("signing keys are unavailable") from None
        if key is None:
            raise InvalidLogoutToken("logout_token is signed with an unknown key")
        return key

    registry = jwt.JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        jti={"essential": True},
        events={"essential": True},
    )
    try:
        claims = jwt.decode(token, key_for, algorithms=list(algorithms)).claims
        registry.validate(claims)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise InvalidLogoutToken(f"logout_token does not validate ({type(error).__name__})") from None
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise InvalidLogoutToken("logout_token has no back-channel logout event")
    if "nonce" in claims:
        raise InvalidLogoutToken("logout_token must not have a nonce")
    sid, sub = claims.get("sid"), claims.get("sub")
    if not (isinstance(sid, str) and sid) and not (isinstance(sub, str) and sub):
        raise InvalidLogoutToken("logout_token names neither sid nor sub")
    for name in ("sid", "sub"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidLogoutToken(f"logout_token's {name} is not a string")
    return claims
