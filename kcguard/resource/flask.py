"""The Flask glue: the one module of the core that imports Flask.

``require_auth`` is created empty at import so routes can use it as a
decorator; ``init_app(app, settings)`` gives each app its own validator
(kept in ``app.extensions``, so one process can hold several apps). Scopes
follow Authlib's convention: ``@require_auth("a b")`` needs both ``a`` and
``b``, ``@require_auth(["a", "b"])`` needs either; ``acr_values`` and
``max_age`` ask for a stronger or more recent sign-in (RFC 9470). Every
refusal becomes an RFC 6750 / RFC 9449 response in ``raise_error_response``,
the one place errors turn into HTTP.

Two schemes are understood: ``Bearer <token>`` (RFC 6750) and ``DPoP
<token>`` with exactly one ``DPoP`` proof header (RFC 9449); ``OIDC_DPOP``
says which are offered. A token bound to a DPoP key passes only with a valid
proof, checked on every request even when the token comes from the
verified-token cache. ``init_app`` also serves the RFC 9728 metadata document.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.integrations.flask_oauth2.signals import token_authenticated
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from flask import Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .dpop import DPoPVerifier, NonceSource
from .errors import InvalidDPoPProof, InvalidRequest, InvalidToken, Offer, challenge
from .metadata import WELL_KNOWN_PATH, protected_resource_metadata
from .settings import ResourceSettings
from .validator import KeycloakTokenValidator, build_validator

__all__ = [
    "BearerProtector",
    "current_token",
    "current_validator",
    "error_response",
    "init_app",
    "offer",
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


_PROTECTION = "kcguard.protection"
_SCHEME_NAMES = {"bearer": "Bearer", "dpop": "DPoP"}
_SCHEMES = {"allowed": ("bearer", "dpop"), "required": ("dpop",), "off": ("bearer",)}


@dataclass(frozen=True)
class Protection:
    """One app's protection: the DPoP policy and verifier, its public URL, and whether it serves metadata."""

    settings: ResourceSettings
    dpop: DPoPVerifier | None

    @property
    def schemes(self) -> tuple[str, ...]:
        return _SCHEMES[self.settings.dpop]


def init_app(
    app: Flask,
    settings: ResourceSettings,
    validator: KeycloakTokenValidator | None = None,
    *,
    dpop: DPoPVerifier | None = None,
    nonce_secret: bytes | None = None,
) -> KeycloakTokenValidator:
    """Protect ``app``'s ``@require_auth`` routes with tokens checked against ``settings``; no network yet.

    Also serves ``/.well-known/oauth-protected-resource`` (RFC 9728) unless
    ``settings.resource_metadata`` is off. Workers given the same
    ``nonce_secret`` accept each other's DPoP nonces.
    """
    validator = validator or build_validator(settings)
    app.extensions[EXTENSION] = validator
    if dpop is None and settings.dpop != "off":
        dpop_settings = settings.dpop_settings
        nonces = NonceSource(dpop_settings.nonce_lifetime, nonce_secret) if dpop_settings.nonces else None
        dpop = DPoPVerifier(dpop_settings, nonces=nonces)
    app.extensions[_PROTECTION] = Protection(settings, dpop if settings.dpop != "off" else None)
    if settings.resource_metadata:
        app.add_url_rule(WELL_KNOWN_PATH, "oauth_protected_resource", _metadata_view, methods=["GET"])
    return validator


def nonce_secret_from(secret_key: str) -> bytes | None:
    """A DPoP nonce key derived from an app secret shared by all workers (None without one)."""
    return hashlib.sha256(b"kcguard-dpop-nonce\0" + secret_key.encode()).digest() if secret_key else None


def current_validator() -> KeycloakTokenValidator:
    """The validator ``init_app`` registered for the current app."""
    return current_app.extensions[EXTENSION]


def _protection() -> Protection:
    return current_app.extensions[_PROTECTION]


def offer() -> Offer:
    """The schemes and the metadata URL the current app's challenges name."""
    protection = _protection()
    return Offer(
        bearer="bearer" in protection.schemes,
        dpop_algorithms=protection.dpop.algorithms if protection.dpop else (),
        resource_metadata=_resource_url(protection) + WELL_KNOWN_PATH if protection.settings.resource_metadata else "",
    )


def error_response(error: OAuth2Error) -> Any:
    """The RFC 6750 / RFC 9449 JSON response for ``error``, for routes that judge a token themselves."""
    refusal = challenge(error, current_validator().realm, offer(), _scheme_used())
    response = jsonify(refusal.body)
    response.status_code = refusal.status
    response.headers.update(refusal.headers)
    return response


class BearerProtector(ResourceProtector):
    """Authlib's protector with strict header parsing, DPoP, and RFC 6750 / RFC 9449 responses."""

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

    def get_token_validator(self, token_type: str) -> Any:
        return current_validator()

    def parse_request_authorization(self, request: Any) -> tuple[str, str]:
        """The scheme (``bearer`` or ``dpop``) and the token, after the header checks."""
        protection = _protection()
        # The environ, not request.headers: a header view per request only to read one value.
        header = request.environ.get("HTTP_AUTHORIZATION")
        if not header:
            raise MissingAuthorizationError("bearer", current_validator().realm)
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and protection.settings.dpop == "required":
            raise InvalidToken("This API accepts only DPoP-bound tokens, sent with the DPoP scheme and a proof.")
        if scheme not in protection.schemes:
            names = " or ".join(_SCHEME_NAMES[s] for s in protection.schemes)
            raise InvalidRequest(description=f"The Authorization header must use the {names} scheme.")
        name = _SCHEME_NAMES[scheme]
        credentials = credentials.strip(" ")
        if not credentials:
            raise InvalidRequest(description=f"The {name} token is missing.")
        if len(credentials) > MAX_TOKEN_LENGTH:
            raise InvalidToken(f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
        proof = request.environ.get("HTTP_DPOP")
        proofs = [proof] if proof else []
        if scheme == "bearer" and proofs:
            # RFC 9449 section 7.2, figure 19: the request mixes both schemes.
            raise InvalidRequest(description="A DPoP proof was sent with the Bearer scheme; use the DPoP scheme.")
        if scheme == "dpop" and (len(proofs) != 1 or "," in proofs[0]):
            raise InvalidDPoPProof("The DPoP proof is missing." if not proofs else "Send exactly one DPoP header.")
        return scheme, credentials

    def validate_request(self, scopes: Any, request: Any, **kwargs: Any) -> Any:
        """Authlib's steps, with the RFC 6750 syntax check only for tokens not verified before.

        A token in the verified-token cache passed that check when it was
        verified, so a cache hit skips a regular expression over the whole
        token (several microseconds for a Keycloak token, a tenth of a request).
        """
        scheme, token_string = self.parse_request_authorization(request)
        validator = current_validator()
        proof_follows = scheme == "dpop"
        token = validator.cached(token_string, proof_follows=proof_follows)
        if token is None:
            if not B64TOKEN.fullmatch(token_string):
                name = _SCHEME_NAMES[scheme]
                raise InvalidRequest(description=f"The {name} token has characters RFC 6750 does not allow.")
            token = validator.authenticate_token(token_string, proof_follows=proof_follows)
        self._check_binding(scheme, token, token_string, request)
        validator.validate_token(token, scopes, request, **kwargs)
        return token

    @staticmethod
    def _check_binding(scheme: str, token: Any, token_string: str, request: Any) -> None:
        """RFC 9449 section 7: a proof only with a bound token (the validator refuses bound Bearer tokens)."""
        if scheme == "bearer":
            return
        if token.jkt is None:
            raise InvalidToken("The token is not bound to a DPoP key, so it cannot be sent with the DPoP scheme.")
        protection = _protection()
        assert protection.dpop is not None  # the DPoP scheme is refused earlier when DPoP is off
        protection.dpop.verify(
            request.headers["DPoP"],
            method=request.method,
            url=_request_url(protection),
            access_token=token_string,
            jkt=token.jkt,
        )

    def acquire_token(self, scopes: Any = None, **kwargs: Any) -> Any:
        """Validate the current request's token.

        Authlib's version wraps the request in a ``FlaskJsonRequest`` that
        builds the full URL on every call; validation reads only the
        headers (and the URL for a DPoP proof), so the Flask request is
        passed as it is. ``token_authenticated`` is sent only when someone listens.
        """
        if isinstance(scopes, str):
            scopes = [scopes]
        token = self.validate_request(scopes, request, **kwargs)
        if token_authenticated.receivers:
            token_authenticated.send(self, token=token)
        g.authlib_server_oauth2_token = token
        return token

    def raise_error_response(self, error: OAuth2Error) -> None:
        raise HTTPException(response=error_response(error))


def _scheme_used() -> str | None:
    scheme = request.headers.get("Authorization", "").partition(" ")[0].lower()
    if scheme == "bearer" and "DPoP" in request.headers:
        return "both"
    return scheme if scheme in _SCHEME_NAMES else None


def _resource_url(protection: Protection) -> str:
    """``PUBLIC_URL`` behind a proxy; otherwise the origin the request came to."""
    return protection.settings.public_url or request.host_url.rstrip("/")


def _request_url(protection: Protection) -> str:
    """The URL the client called, for the proof's ``htu`` (query and fragment are not compared)."""
    if protection.settings.public_url:
        path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~%")
        return protection.settings.public_url + path
    return request.base_url


def _metadata_view() -> ResponseReturnValue:
    """RFC 9728: who issues tokens for this API and how to present them."""
    protection = _protection()
    views = current_app.view_functions.values()
    scopes = {name for view in views for group in required_scopes(view) or [] for name in group}
    document = protected_resource_metadata(
        resource=_resource_url(protection),
        issuer=protection.settings.issuer,
        scopes=sorted(scopes),
        dpop_algorithms=protection.dpop.algorithms if protection.dpop else (),
        dpop_required=protection.settings.dpop == "required",
        resource_name=protection.settings.resource_name,
    )
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


require_auth = BearerProtector()
