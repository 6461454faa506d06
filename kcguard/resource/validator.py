"""The JWTBearerTokenValidator for Keycloak access tokens.

Authlib's RFC 9068 validator is the right base (issuer, audience, JWT access
tokens), but Keycloak's tokens differ from RFC 9068 by default: the header
``typ`` is ``JWT`` and the token type sits in the payload (``typ`` =
``Bearer``; ID tokens say ``ID``, refresh tokens ``Refresh``). This subclass
keeps Authlib's flow and joserfc's cryptography and supplies what a security
review asks for: pinned algorithms, keys by ``kid`` from a refreshing cache,
exact ``iss``, required ``aud``, time claims with leeway, a token-type check,
optional introspection, and a cache of tokens that already passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    JoseError,
    MissingAlgorithmError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from .discovery import ProviderMetadata, ProviderUnavailable
from .errors import InsufficientScope, InsufficientUserAuthentication, InvalidToken, ValidationUnavailable
from .events import CACHE_HIT, INSUFFICIENT_SCOPE, NO_ISSUER, NO_OBSERVER, OK, Observer, outcome_of
from .introspection import Introspector
from .issuers import IssuerSelector
from .keys import KeyCache
from .settings import ResourceSettings
from .token_cache import TokenCache, token_digest
from .tokens import AccessToken

logger = logging.getLogger(__name__)

#: RFC 9068 section 2.1 header types for JWT access tokens.
AT_JWT_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_KEY_TYPE_FOR_ALG_PREFIX = {"RS": RSAKey, "PS": RSAKey, "ES": ECKey, "Ed": OKPKey}


class AccessTokenClaims(jwt.JWTClaimsRegistry):
    """joserfc's claim rules, run on the registered claims only.

    The base class looks up a ``validate_<name>`` method for every claim the
    token carries (a Keycloak token has fifteen or more, most without rules);
    the options here are all registered claims, so checking those is the same
    verdict for less work.
    """

    REGISTERED = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")

    def validate(self, claims: dict[str, Any]) -> None:
        missing = sorted(key for key in self.essential_keys if claims.get(key) is None)
        if missing:
            raise MissingClaimError(",".join(missing))
        for key in self.REGISTERED:
            if key in claims:
                getattr(self, f"validate_{key}")(claims[key])


class KeycloakTokenValidator(JWTBearerTokenValidator):
    """Validates Keycloak access tokens; see the module docstring for the rules."""

    def __init__(
        self,
        settings: ResourceSettings,
        keys: KeyCache,
        introspector: Introspector | None = None,
        clock: Callable[[], float] = time.time,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        super().__init__(issuer=settings.issuer, resource_server=settings.audience, realm=settings.realm)
        self.observer = observer
        self.keys = keys
        self._introspector = introspector
        self._algorithms = settings.algorithms
        self._clock = clock
        self._introspection_ttl = settings.introspection_cache_ttl
        self._verified: TokenCache[AccessToken] = TokenCache(settings.token_cache_size, clock)
        keys.on_removed(self._verified.drop_kids)
        #: Built once: joserfc would build a registry of the allowed algorithms on every decode.
        self._registry = JWSRegistry(algorithms=list(settings.algorithms))
        self._claims = AccessTokenClaims(
            now=lambda: int(self._clock()),
            leeway=settings.leeway,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
        )

    def cached(self, token_string: str, *, proof_follows: bool = False) -> AccessToken | None:
        """The token's claims if it passed validation before and has not expired since; no verification.

        A DPoP-bound token is worth nothing without its proof, so it is
        refused unless the caller says it checks the proof next
        (``proof_follows``), as the Flask protector does for the DPoP scheme.
        A hit, or a refusal, reports its outcome to the observer.
        """
        try:
            self.keys.check_usable()
            token = self._verified.get(token_digest(token_string))
            if token is not None:
                self._check_scheme(token, proof_follows)
        except OAuth2Error as error:
            self.observer.validation(outcome_of(error))
            raise
        if token is not None:
            self.observer.validation(CACHE_HIT)
        return token

    def authenticate_token(self, token_string: str, *, proof_follows: bool = False) -> AccessToken:
        """The verified claims of ``token_string``, from the cache when it already passed; one outcome reported."""
        token = self.cached(token_string, proof_follows=proof_follows)
        if token is not None:
            return token
        try:
            token = self._verify(token_string)
            expires_at = float(token["exp"])
            if self._introspector is not None:
                self._check_active(token_string, token, expires_at)
                expires_at = min(expires_at, self._clock() + self._introspection_ttl)
            kid = jws.extract_compact(token_string.encode("ascii")).headers()["kid"]
            self._verified.put(token_digest(token_string), token, expires_at, kid=kid)
            self.observer.token_cache_size(len(self._verified))
            self._check_scheme(token, proof_follows)
        except OAuth2Error as error:
            self.observer.validation(outcome_of(error))
            raise
        self.observer.validation(OK)
        return token

    @staticmethod
    def _check_scheme(token: AccessToken, proof_follows: bool) -> None:
        if token.is_dpop_bound and not proof_follows:
            raise InvalidToken("The token is bound to a DPoP key: send it with the DPoP scheme and a DPoP proof.")

    def validate_token(
        self,
        token: AccessToken,
        scopes: list[str] | None,
        request: Any,
        acr_values: str | list[str] | None = None,
        max_age: int | Callable[[], int] | None = None,
        **kwargs: Any,
    ) -> None:
        """Scopes: each entry of ``scopes`` is a space-separated set; any one set must be held in full.

        ``acr_values`` and ``max_age`` ask for a sign-in of one of those
        strengths, no older than ``max_age`` seconds (RFC 9470 section 3);
        ``max_age`` may be a callable, read per request. Scopes come first:
        signing in again cannot add a scope.
        """
        if self.scope_insufficient(token.get_scope(), scopes):
            self.observer.validation(INSUFFICIENT_SCOPE)
            raise InsufficientScope(list(scopes or []))
        self.check_authentication(token, acr_values, max_age() if callable(max_age) else max_age)

    def check_authentication(self, token: AccessToken, acr_values: str | list[str] | None, max_age: int | None) -> None:
        """RFC 9470: refuse a sign-in whose ``acr`` is not listed or whose ``auth_time`` is too old."""
        wanted = acr_values.split() if isinstance(acr_values, str) else list(acr_values or [])
        if wanted and token.get("acr") not in wanted:
            raise InsufficientUserAuthentication("This request needs a stronger sign-in.", wanted, max_age)
        if max_age is None:
            return
        auth_time = token.get("auth_time")
        if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
            raise InsufficientUserAuthentication(
                "This request needs a sign-in by a person (the token has no auth_time).", wanted, max_age
            )
        if self._clock() - auth_time > max_age:
            raise InsufficientUserAuthentication(
                f"This request needs a sign-in within the last {max_age} seconds.", wanted, max_age
            )

    def _verify(self, token_string: str) -> AccessToken:
        try:
            decoded = jwt.decode(token_string, self._key_for, registry=self._registry)
            claims = decoded.claims
            self._claims.validate(claims)
        except InvalidToken:
            raise
        except (UnsupportedAlgorithmError, MissingAlgorithmError):
            raise InvalidToken("The token algorithm is not allowed.") from None
        except BadSignatureError:
            raise InvalidToken("The token signature is invalid.") from None
        except ClaimError as error:
            raise InvalidToken(f"{error.description}.") from None
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidToken("The token is malformed.") from None
        header_type = decoded.header.get("typ")
        payload_type = claims.get("typ")
        is_at_jwt = isinstance(header_type, str) and header_type.lower() in AT_JWT_TYPES
        # Keycloak's DPoP-bound tokens say "DPoP"; the protector accepts those only with a valid proof.
        if payload_type not in ("Bearer", "DPoP") and not (payload_type is None and is_at_jwt):
            raise InvalidToken("The token is not an access token.")
        if not isinstance(claims.get("scope", ""), str):
            raise InvalidToken("Claim 'scope' must be a space-delimited string.")
        return AccessToken(claims)

    def _key_for(self, obj: Any) -> Key:
        """Pick the verification key by ``kid``; the key type must fit the algorithm.

        joserfc has already refused algorithms outside the allowlist (so
        ``alg: none`` and HMAC tokens never trigger a JWKS refetch).
        """
        header = obj.headers()
        alg, kid = header["alg"], header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token header has no key id (kid).")
        key = self.keys.get(kid)
        if key is None:
            if not self.keys.loaded:
                raise ValidationUnavailable(description="Signing keys are not available yet; try again shortly.")
            raise InvalidToken("The token was signed with an unknown key.")
        if not isinstance(key, _KEY_TYPE_FOR_ALG_PREFIX[alg[:2]]):
            raise InvalidToken("The signing key does not fit the token algorithm.")
        return key

    def _check_active(self, token_string: str, token: AccessToken, expires_at: float) -> None:
        """Ask Keycloak; its answer's ``cnf`` is the binding that counts (RFC 7662, RFC 9449 section 6.2)."""
        try:
            answer = self._introspector.introspect(token_string, expires_at)
        except ProviderUnavailable as error:
            logger.warning("introspection failed: %s", error)
            raise ValidationUnavailable(description="Token introspection is unavailable; try again shortly.") from None
        if answer.get("active") is not True:
            raise InvalidToken("The token is no longer active.")
        cnf = answer.get("cnf")
        if isinstance(cnf, dict) and cnf.get("jkt"):
            if token.jkt is not None and token.jkt != cnf["jkt"]:
                raise InvalidToken("The DPoP binding in the token differs from what Keycloak reports.")
            token["cnf"] = cnf
            token.__dict__.pop("jkt", None)

    def ready(self) -> tuple[bool, str]:
        """Readiness: can private routes answer? Loads the keys if none were loaded yet (rate-limited)."""
        return self.keys.ensure_loaded(), self.keys.last_error


def build_validator(
    settings: ResourceSettings, observer: Observer = NO_OBSERVER
) -> KeycloakTokenValidator | IssuerSelector:
    """Wire discovery, the key cache and (when configured) introspection into a validator; no network yet.

    With several issuers configured (``OIDC_ISSUERS``) the answer is an
    ``IssuerSelector`` holding one such validator per issuer.
    """
    each = settings.per_issuer()
    if len(each) > 1:
        validators = [build_validator(one, observer) for one in each]
        return IssuerSelector(validators, observer.for_issuer(NO_ISSUER))
    settings = each[0]
    observer = observer.for_issuer(settings.issuer)
    metadata = ProviderMetadata(
        settings.discovery_url,
        settings.issuer,
        timeout=settings.http_timeout,
        allow_insecure_http=settings.allow_insecure_http,
    )
    keys = KeyCache(
        metadata,
        jwks_url=settings.jwks_url,
        ttl=settings.jwks_cache_ttl,
        cooldown=settings.jwks_refresh_cooldown,
        timeout=settings.http_timeout,
        allow_insecure_http=settings.allow_insecure_http,
        wait=settings.key_fetch_wait,
        max_staleness=settings.jwks_max_staleness,
        burst=settings.jwks_refetch_burst,
        observer=observer,
    )
    introspector = None
    if settings.introspection:
        introspector = Introspector(
            metadata,
            client_id=settings.introspection_client_id,
            client_secret=settings.introspection_client_secret,
            timeout=settings.http_timeout,
            allow_insecure_http=settings.allow_insecure_http,
            inactive_cache_size=settings.token_cache_size,
            observer=observer,
        )
    return KeycloakTokenValidator(settings, keys, introspector, observer=observer)
