"""Keycloak's signing keys: fetched lazily, cached, refreshed without hammering.

Rules (RFC 7517 key sets, Keycloak's rotation model):
- nothing is fetched until the first token or readiness check needs a key;
- the set is refreshed after ``ttl`` seconds; a failed refresh keeps the last
  good keys, so a Keycloak outage does not stop tokens that were valid;
- a token with an unknown ``kid`` (a rotated-in key) triggers a refetch, but at
  most one fetch attempt happens per ``cooldown`` seconds however many such
  tokens arrive, so a flood of forged ``kid`` values cannot turn the API into
  a load generator against Keycloak.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key

from .discovery import ProviderMetadata, ProviderUnavailable, fetch_json
from .events import FETCH_FAILED, FETCH_NO_KEYS, FETCH_OK, NO_OBSERVER, Observer

logger = logging.getLogger(__name__)

#: A JWKS larger than this is not Keycloak's; ignore the rest.
MAX_KEYS = 64
_SIGNING_KEY_TYPES = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}


def parse_jwks(document: dict[str, Any]) -> dict[str, Key]:
    """Index the usable signing keys of a JWKS by ``kid``.

    Keys for encryption, keys without ``kid``, symmetric keys and keys that
    fail to import are skipped: a JWKS is public, so an ``oct`` key in it
    could only ever enable HMAC key confusion.
    """
    keys: dict[str, Key] = {}
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ProviderUnavailable("JWKS has no 'keys' array")
    for entry in entries[:MAX_KEYS]:
        if not isinstance(entry, dict):
            continue
        kid, kty = entry.get("kid"), entry.get("kty")
        if not isinstance(kid, str) or kty not in _SIGNING_KEY_TYPES or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = import_key(entry, kty)
        except (JoseError, ValueError, TypeError):
            logger.warning("skipping JWKS key %s: it does not import", kid)
    return keys


class KeyCache:
    """Signing keys by ``kid`` with a TTL, a refetch cooldown and last-good fallback."""

    def __init__(
        self,
        session: requests.Session,
        metadata: ProviderMetadata,
        *,
        jwks_url: str = "",
        ttl: float,
        cooldown: float,
        timeout: float,
        allow_insecure_http: bool,
        clock: Callable[[], float] = time.monotonic,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self._observer = observer
        self._session = session
        self._metadata = metadata
        self._jwks_url = jwks_url
        self._ttl = ttl
        self._cooldown = cooldown
        self._timeout = timeout
        self._allow_insecure_http = allow_insecure_http
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._last_error = "signing keys not loaded yet"
        self._lock = threading.Lock()
        #: How many times the JWKS was requested; the benchmark and tests read it.
        self.fetch_count = 0

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    @property
    def last_error(self) -> str:
        return self._last_error

    def get(self, kid: str) -> Key | None:
        """Return the key for ``kid``, refreshing once per cooldown if it is unknown."""
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._ttl:
            self._refresh(now, reason="initial load" if self._loaded_at is None else "TTL expired")
        key = self._keys.get(kid)
        if key is None:
            self._refresh(self._clock(), reason="unknown kid")
            key = self._keys.get(kid)
        return key

    def ensure_loaded(self) -> bool:
        """Try to load keys if there are none yet (rate-limited); report success."""
        if self._loaded_at is None:
            self._refresh(self._clock(), reason="readiness check")
        return self.loaded

    def _refresh(self, now: float, *, reason: str) -> None:
        with self._lock:
            if self._attempted_at is not None and now - self._attempted_at < self._cooldown:
                return
            self._attempted_at = now
            self.fetch_count += 1
            try:
                url = self._jwks_url or self._metadata.endpoint("jwks_uri")
                keys = parse_jwks(
                    fetch_json(self._session, url, timeout=self._timeout, allow_insecure_http=self._allow_insecure_http)
                )
            except ProviderUnavailable as error:
                self._last_error = str(error)
                if self._keys:
                    logger.warning(
                        "JWKS refresh (%s) failed, keeping %d cached keys: %s", reason, len(self._keys), error
                    )
                else:
                    logger.warning("JWKS load (%s) failed: %s", reason, error)
                self._observer.jwks_fetch(reason, FETCH_FAILED, len(self._keys))
                return
            if not keys:
                self._last_error = "JWKS holds no usable signing key"
                logger.warning("JWKS refresh (%s) found no usable signing key; keeping the previous set", reason)
                self._observer.jwks_fetch(reason, FETCH_NO_KEYS, len(self._keys))
                return
            self._keys = keys
            self._loaded_at = now
            self._last_error = ""
            logger.info("loaded %d signing keys (%s)", len(keys), reason)
            self._observer.jwks_fetch(reason, FETCH_OK, len(keys))
