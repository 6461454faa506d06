"""The client's side of DPoP (RFC 9449): one key pair, a fresh signed proof per request.

``DPoPKey`` holds an ES256 key made for this process (or loaded from a PEM
or JWK file, so a long-running client keeps its binding across restarts)
and signs proofs with joserfc. Anything that needs proofs, such as the
benchmark, can use ``DPoPKey().proof(method, url, access_token=...)``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc import jws
from joserfc.jwk import ECKey, import_key

from ..resource.dpop import access_token_hash

ALGORITHM = "ES256"


def htu_of(url: str) -> str:
    """The request URL without query and fragment (RFC 9449 section 4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class DPoPKey:
    """An ES256 (P-256) key that signs DPoP proofs."""

    def __init__(self, key: ECKey | None = None, clock: Callable[[], float] = time.time) -> None:
        self._key = key or ECKey.generate_key("P-256", private=True)
        if not self._key.is_private or self._key.curve_name != "P-256":
            raise ValueError("A DPoP key must be a private P-256 (ES256) key")
        self._clock = clock
        self.public_jwk: dict[str, Any] = {k: v for k, v in self._key.as_dict(private=False).items() if k != "kid"}
        #: The RFC 7638 thumbprint Keycloak puts into the token's ``cnf.jkt``.
        self.jkt = self._key.thumbprint()
        self._nonces: dict[str, str] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> DPoPKey:
        """Load a private P-256 key from a PEM file or a JWK (JSON) file."""
        data = Path(path).read_bytes()
        try:
            is_jwk = data.lstrip().startswith(b"{")
            key = import_key(json.loads(data), "EC") if is_jwk else ECKey.import_key(data)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path} holds no usable EC private key ({type(error).__name__})") from None
        return cls(key)

    def remember_nonce(self, url: str, nonce: str) -> None:
        """Keep a server's ``DPoP-Nonce`` (RFC 9449 sections 8 and 9) for the next proofs to its origin."""
        self._nonces[_origin(url)] = nonce

    def proof(self, method: str, url: str, *, access_token: str | None = None, nonce: str | None = None) -> str:
        """A new proof for one request; ``access_token`` adds ``ath`` (left out at the token endpoint).

        Without ``nonce``, the last nonce the URL's origin handed out is used.
        """
        if nonce is None:
            nonce = self._nonces.get(_origin(url))
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": htu_of(url),
            "iat": int(self._clock()),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce:
            claims["nonce"] = nonce
        header = {"typ": "dpop+jwt", "alg": ALGORITHM, "jwk": self.public_jwk}
        return jws.serialize_compact(header, json.dumps(claims, separators=(",", ":")), self._key, [ALGORITHM])
