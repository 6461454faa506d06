"""DPoP proof verification (RFC 9449 section 4.3), free of any web framework.

A DPoP-bound access token is only worth something together with a fresh
proof: a small JWT the client signs with the private key the token is bound
to, naming the request (``htm``, ``htu``), the time (``iat``), a unique id
(``jti``) and the token itself (``ath``). ``DPoPVerifier.verify`` checks
every rule of section 4.3 with joserfc doing the JOSE work (compact JWS,
JWK import, RFC 7638 thumbprint) and raises a typed error that carries its
HTTP status and ``WWW-Authenticate`` parameters (section 7.1).

What a verifier remembers between requests (used proof ids, nonces) lives in
``dpop_state``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key

from .dpop_state import MemoryReplayCache, NonceSource, ReplayCache
from .errors import DPoPBindingMismatch, DPoPError, InvalidDPoPProof, UseDPoPNonce

__all__ = [
    "DPoPBindingMismatch",
    "DPoPError",
    "DPoPProof",
    "DPoPSettings",
    "DPoPVerifier",
    "InvalidDPoPProof",
    "MemoryReplayCache",
    "NonceSource",
    "ReplayCache",
    "UseDPoPNonce",
]

#: Asymmetric JWS algorithms a proof may use; "none", HMAC and anything unknown never pass.
DPOP_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA", "Ed25519"}
)
DEFAULT_DPOP_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
#: JWK members that only a private key has (RFC 7518 section 6, RFC 8037 section 2, oct's "k").
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_TYPES: dict[str, type[Key]] = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}
_KEY_TYPE_FOR_ALG_PREFIX: dict[str, type[Key]] = {"ES": ECKey, "RS": RSAKey, "PS": RSAKey, "Ed": OKPKey}
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class DPoPSettings:
    """How strict the proof check is; the defaults follow RFC 9449's advice."""

    algorithms: tuple[str, ...] = DEFAULT_DPOP_ALGORITHMS
    #: How old a proof's ``iat`` may be, in seconds (also how long a ``jti`` is remembered).
    max_age: float = 60.0
    #: How far in the future ``iat`` may be (clock skew), in seconds.
    max_skew: float = 5.0
    #: Proofs are a few hundred bytes (RSA 4096 keys about 2 KiB); larger ones are refused unread.
    max_proof_length: int = 8 * 1024
    #: Ask for server-issued nonces (RFC 9449 section 9).
    nonces: bool = False
    #: How long one nonce stays valid, in seconds (the previous one is accepted too).
    nonce_lifetime: float = 300.0

    def __post_init__(self) -> None:
        unknown = [alg for alg in self.algorithms if alg not in DPOP_ALGORITHMS]
        if unknown or not self.algorithms:
            raise ValueError(
                f"DPoP algorithms must be asymmetric JWS algorithms from {sorted(DPOP_ALGORITHMS)}, "
                f"got {','.join(self.algorithms) or 'nothing'}"
            )
        if self.max_age <= 0 or self.max_skew < 0 or self.nonce_lifetime <= 0:
            raise ValueError("DPoP time windows must be positive")


@dataclass(frozen=True)
class DPoPProof:
    """A verified proof: the key's RFC 7638 thumbprint and the claims."""

    jkt: str
    jti: str
    claims: dict[str, Any]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _rsa_bits(modulus: Any) -> int:
    """Bit length of a JWK's base64url ``n``; 0 when it is not one."""
    if not isinstance(modulus, str) or len(modulus) > 4096:
        return 0
    try:
        raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except ValueError:
        return 0
    return int.from_bytes(raw, "big").bit_length()


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the token's ASCII bytes (RFC 9449 section 4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def normalize_htu(url: str) -> str | None:
    """Scheme, host, port and path of ``url`` in one canonical form; None if it is no http(s) URL.

    RFC 9449 section 4.3 compares ``htu`` without query and fragment and
    asks for syntax-based normalisation (RFC 3986 section 6.2.2): scheme and
    host in lower case, default ports left out, percent-escapes of
    unreserved characters decoded and the rest in upper case.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _PERCENT_ESCAPE.sub(_normalize_escape, parts.path) or "/"
    return f"{scheme}://{netloc}{path}"


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


class _ProofRegistry(jws.JWSRegistry):
    """joserfc's JWS registry with room for RSA keys in the header and no warning for a chosen EdDSA.

    joserfc limits the protected header to 512 bytes; a proof's header
    carries the public key, and an RSA 4096 key alone is about 700 bytes.
    """

    max_header_length = 2048
    max_payload_length = 4096

    def get_alg(self, name: str) -> Any:
        if name not in self.algorithms or name not in (self.allowed or ()):
            return super().get_alg(name)  # raises UnsupportedAlgorithmError
        return self.algorithms[name]


class DPoPVerifier:
    """Checks DPoP proofs; one per application (it owns the replay cache and the nonces)."""

    def __init__(
        self,
        settings: DPoPSettings | None = None,
        replay_cache: ReplayCache | None = None,
        nonces: NonceSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or DPoPSettings()
        self._clock = clock
        self._replay = replay_cache or MemoryReplayCache(clock=clock)
        self._nonces: NonceSource | None = None
        if self.settings.nonces:
            self._nonces = nonces or NonceSource(self.settings.nonce_lifetime, clock=clock)
        self._registry = _ProofRegistry(algorithms=self.settings.algorithms)

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self.settings.algorithms

    def next_nonce(self) -> str | None:
        """The nonce to hand out in a ``DPoP-Nonce`` header, or None when nonces are off."""
        return self._nonces.current() if self._nonces else None

    def verify(self, proof: str, *, method: str, url: str, access_token: str, jkt: Any) -> DPoPProof:
        """Check ``proof`` for a request ``method url`` carrying ``access_token`` bound to ``jkt``.

        ``jkt`` is the token's ``cnf.jkt``. The ``jti`` is recorded only
        after every other check passed, so refused proofs fill no memory.
        """
        key, claims = self._verified_parts(proof)
        self._check_claims(claims, method=method, url=url, access_token=access_token)
        if self._nonces is not None and not self._nonces.is_valid(claims.get("nonce")):
            raise UseDPoPNonce("The DPoP proof must carry the server's DPoP-Nonce.", self._nonces.current())
        thumbprint = key.thumbprint()
        if not isinstance(jkt, str) or not hmac.compare_digest(thumbprint.encode(), jkt.encode("utf-8", "replace")):
            raise DPoPBindingMismatch("The DPoP proof key is not the key the access token is bound to.")
        replay_key = hashlib.sha256(f"{thumbprint}\x00{claims['jti']}".encode()).hexdigest()
        if not self._replay.first_use(replay_key, float(claims["iat"]) + self.settings.max_age + 1):
            raise InvalidDPoPProof("The DPoP proof was already used.")
        return DPoPProof(jkt=thumbprint, jti=claims["jti"], claims=claims)

    def _verified_parts(self, proof: Any) -> tuple[Key, dict[str, Any]]:
        if not isinstance(proof, str) or not proof:
            raise InvalidDPoPProof("The DPoP proof is missing.")
        if len(proof) > self.settings.max_proof_length:
            raise InvalidDPoPProof(f"The DPoP proof is longer than {self.settings.max_proof_length} characters.")
        if not _COMPACT_JWS.fullmatch(proof):
            raise InvalidDPoPProof("The DPoP proof is not a compact JWS.")
        try:
            obj = jws.extract_compact(proof.encode("ascii"), registry=self._registry)
        except (JoseError, ValueError, TypeError):
            raise InvalidDPoPProof("The DPoP proof is malformed.") from None
        header = obj.headers()
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != "dpop+jwt":
            raise InvalidDPoPProof("The DPoP proof header typ must be 'dpop+jwt'.")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.settings.algorithms:
            raise InvalidDPoPProof("The DPoP proof algorithm is not allowed.")
        if "crit" in header or "b64" in header:
            raise InvalidDPoPProof("The DPoP proof header may not use crit or b64.")
        key = self._proof_key(header.get("jwk"), alg)
        try:
            valid = jws.validate_compact(obj, key, registry=self._registry)
        except (JoseError, ValueError, TypeError):
            raise InvalidDPoPProof("The DPoP proof header is invalid.") from None
        if not valid:
            raise InvalidDPoPProof("The DPoP proof signature is invalid.")
        try:
            claims = json.loads(obj.payload)
        except (ValueError, UnicodeDecodeError):
            raise InvalidDPoPProof("The DPoP proof payload is not JSON.") from None
        if not isinstance(claims, dict):
            raise InvalidDPoPProof("The DPoP proof payload is not a JSON object.")
        return key, claims

    @staticmethod
    def _proof_key(jwk: Any, alg: str) -> Key:
        """The public key from the proof header, refusing private keys and types that do not fit ``alg``."""
        if not isinstance(jwk, dict):
            raise InvalidDPoPProof("The DPoP proof header has no jwk.")
        if PRIVATE_JWK_MEMBERS & jwk.keys():
            raise InvalidDPoPProof("The DPoP proof jwk must be a public key.")
        key_type = _KEY_TYPES.get(jwk.get("kty"))  # type: ignore[arg-type]
        if key_type is None or key_type is not _KEY_TYPE_FOR_ALG_PREFIX[alg[:2]]:
            raise InvalidDPoPProof("The DPoP proof jwk does not fit the algorithm.")
        if key_type is RSAKey and _rsa_bits(jwk.get("n")) < MIN_RSA_BITS:
            # Checked before the import, which would only warn about a short key.
            raise InvalidDPoPProof(f"The DPoP proof RSA key must have at least {MIN_RSA_BITS} bits.")
        try:
            key = import_key(jwk, jwk["kty"])
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidDPoPProof("The DPoP proof jwk is not a valid key.") from None
        if key.is_private:
            raise InvalidDPoPProof("The DPoP proof jwk must be a public key.")
        return key

    def _check_claims(self, claims: dict[str, Any], *, method: str, url: str, access_token: str) -> None:
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 256:
            raise InvalidDPoPProof("The DPoP proof needs a jti string of at most 256 characters.")
        htm = claims.get("htm")
        if not isinstance(htm, str):
            raise InvalidDPoPProof("The DPoP proof needs an htm string.")
        if htm != method.upper():
            raise InvalidDPoPProof("The DPoP proof htm does not match the request method.")
        htu = claims.get("htu")
        if not isinstance(htu, str):
            raise InvalidDPoPProof("The DPoP proof needs an htu string.")
        expected = normalize_htu(url)
        if expected is None or normalize_htu(htu) != expected:
            raise InvalidDPoPProof("The DPoP proof htu does not match the request URL.")
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or isinstance(iat, bool) or iat != iat:
            raise InvalidDPoPProof("The DPoP proof needs a numeric iat.")
        now = self._clock()
        if iat < now - self.settings.max_age or iat > now + self.settings.max_skew:
            raise InvalidDPoPProof("The DPoP proof iat is outside the accepted time window.")
        ath = claims.get("ath")
        if not isinstance(ath, str):
            raise InvalidDPoPProof("The DPoP proof needs an ath string.")
        if not hmac.compare_digest(ath.encode("utf-8", "replace"), access_token_hash(access_token).encode()):
            raise InvalidDPoPProof("The DPoP proof ath does not match the access token.")


def challenge_algorithms(algorithms: Collection[str]) -> str:
    """The ``algs`` challenge parameter: a space-delimited list (RFC 9449 section 7.1)."""
    return " ".join(algorithms)
