"""Keycloak's signing keys: fetched lazily, cached, refreshed without hammering or waiting.

Rules (RFC 7517 key sets, Keycloak's rotation model):
- nothing is fetched until the first token or readiness check needs a key;
- every fetch runs in a background thread, one at a time; no lock is held
  while it runs, so requests whose key is cached never wait on Keycloak;
- after ``ttl`` seconds the set is refreshed in the background while the
  cached keys keep serving (stale-while-revalidate);
- a request that needs a fetch (no keys yet, or an unknown ``kid``) waits for
  it at most ``wait`` seconds, then gets its answer from what is cached:
  503 while no key was ever loaded, 401 for a still-unknown ``kid``;
- an unknown ``kid`` (a rotated-in key) may trigger a refetch, from a budget
  of ``burst`` refetches refilled at one per ``cooldown``, kept apart from
  the initial load: a key rotated in right after start-up is fetched at once,
  and a flood of forged ``kid`` values cannot turn the API into a load
  generator against Keycloak; a failed load is retried once per ``cooldown``;
- a failed refresh keeps the last good keys, but only for ``max_staleness``
  seconds after the last good fetch; then validation answers 503;
- a key that disappears from the set stops being trusted at the next good
  fetch, and the ``on_removed`` listeners (the verified-token cache) are told.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key

from .discovery import ProviderMetadata, ProviderUnavailable, fetch_json
from .errors import ValidationUnavailable
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
    """Signing keys by ``kid``: background refresh, bounded waits, a refetch budget, bounded staleness."""

    def __init__(
        self,
        metadata: ProviderMetadata,
        *,
        jwks_url: str = "",
        ttl: float,
        cooldown: float,
        timeout: float,
        allow_insecure_http: bool,
        wait: float = 1.0,
        max_staleness: float = 86_400.0,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self._observer = observer
        self._metadata = metadata
        self._jwks_url = jwks_url
        self._ttl = ttl
        self._cooldown = cooldown
        self._timeout = timeout
        self._allow_insecure_http = allow_insecure_http
        self._wait = wait
        self._max_staleness = max_staleness
        self._burst = burst
        #: Monotonic seconds; tests replace it to step over TTLs and cooldowns.
        self.clock = clock
        self._keys: dict[str, Key] = {}
        self._loaded_at: float | None = None
        self._next_load_at = float("-inf")
        self._budget = float(burst)
        self._budget_at: float | None = None
        self._inflight: threading.Event | None = None
        self._last_error = "signing keys not loaded yet"
        self._lock = threading.Lock()
        self._listeners: list[Callable[[set[str]], object]] = []
        #: How many times the JWKS was requested; the benchmark and tests read it.
        self.fetch_count = 0

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    @property
    def last_error(self) -> str:
        return self._last_error

    def on_removed(self, listener: Callable[[set[str]], object]) -> None:
        """Call ``listener(kids)`` after a good fetch no longer lists ``kids``."""
        self._listeners.append(listener)

    def check_usable(self) -> None:
        """Start a background refresh when the TTL ran out; refuse keys older than ``max_staleness``.

        Called for every token, cached or not, so refreshes happen (and
        withdrawn keys are noticed) even when every token is a cache hit.
        """
        loaded_at = self._loaded_at
        if loaded_at is None:
            return
        now = self.clock()
        if now - loaded_at < self._ttl:
            return
        done = self._start(now, reason="TTL expired", refetch=False)
        if now - loaded_at <= self._max_staleness:
            return
        if done is not None:
            done.wait(self._wait)
        loaded_at = self._loaded_at
        if loaded_at is None or self.clock() - loaded_at > self._max_staleness:
            raise ValidationUnavailable(
                description="Signing keys could not be refreshed for too long; try again shortly."
            )

    def get(self, kid: str) -> Key | None:
        """Return the key for ``kid``; waits at most ``wait`` seconds for a fetch it needs."""
        self.check_usable()
        key = self._keys.get(kid)
        if key is not None:
            return key
        now = self.clock()
        if self._loaded_at is None:
            done = self._start(now, reason="initial load", refetch=False)
        else:
            done = self._start(now, reason="unknown kid", refetch=True)
        if done is not None:
            done.wait(self._wait)
        return self._keys.get(kid)

    def ensure_loaded(self) -> bool:
        """Try to load keys if there are none yet (rate-limited, bounded wait); report whether they are usable."""
        if self._loaded_at is None:
            done = self._start(self.clock(), reason="readiness check", refetch=False)
            if done is not None:
                done.wait(self._wait)
        try:
            self.check_usable()
        except ValidationUnavailable:
            return False
        return self.loaded

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a running fetch to finish (tests, orderly shutdown)."""
        done = self._inflight
        if done is not None:
            done.wait(timeout)

    def _start(self, now: float, *, reason: str, refetch: bool) -> threading.Event | None:
        """Start a fetch unless one runs (then join it) or the rules forbid one (then None)."""
        with self._lock:
            if self._inflight is not None:
                return self._inflight
            if refetch:
                if self._budget_at is not None:
                    self._budget = min(self._burst, self._budget + (now - self._budget_at) / self._cooldown)
                self._budget_at = now
                if self._budget < 1:
                    return None
                self._budget -= 1
            elif now < self._next_load_at:
                return None
            done = threading.Event()
            self._inflight = done
            self.fetch_count += 1
        # The caller's context goes along, so the fetch's log lines carry the request id that caused it.
        context = contextvars.copy_context()
        fetch = threading.Thread(target=context.run, args=(self._fetch, done, reason), name="kcguard-jwks", daemon=True)
        fetch.start()
        return done

    def _fetch(self, done: threading.Event, reason: str) -> None:
        keys: dict[str, Key] = {}
        error = ""
        result = FETCH_OK
        try:
            url = self._jwks_url or self._metadata.endpoint("jwks_uri")
            keys = parse_jwks(fetch_json(url, timeout=self._timeout, allow_insecure_http=self._allow_insecure_http))
            if not keys:
                error, result = "JWKS holds no usable signing key", FETCH_NO_KEYS
        except ProviderUnavailable as failure:
            error, result = str(failure), FETCH_FAILED
        removed: set[str] = set()
        with self._lock:
            now = self.clock()
            if error:
                self._last_error = error
                self._next_load_at = now + self._cooldown
            else:
                removed = set(self._keys) - set(keys)
                self._keys = keys
                self._loaded_at = now
                self._next_load_at = now + self._ttl
                self._last_error = ""
            self._inflight = None
            held = len(self._keys)
        self._observer.jwks_fetch(reason, result, held)
        if error:
            if self._keys:
                logger.warning("JWKS refresh (%s) failed, keeping %d cached keys: %s", reason, len(self._keys), error)
            else:
                logger.warning("JWKS load (%s) failed: %s", reason, error)
            done.set()
            return
        logger.info("loaded %d signing keys (%s)", len(keys), reason)
        try:
            if removed:
                logger.info("signing keys withdrawn by the issuer: %s", ", ".join(sorted(removed)))
                for listener in self._listeners:
                    listener(removed)
        finally:
            done.set()
