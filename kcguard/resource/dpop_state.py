"""What DPoP checks remember between requests: proof ids already used, and server-issued nonces.

The replay check needs memory of the ``jti`` values seen within the ``iat``
window. ``MemoryReplayCache`` is per process; several workers or replicas
need one shared store behind the ``ReplayCache`` interface, or a replayed
proof can succeed once per process. ``NonceSource`` needs no store at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol


class ReplayCache(Protocol):
    """Remembers proof ids until they could no longer pass the ``iat`` check.

    ``first_use`` must be atomic: of two concurrent calls with the same key,
    exactly one returns True. A shared store (a database table with a unique
    key and an expiry column, a Redis ``SET NX EX``) fits this interface.
    """

    def first_use(self, key: str, expires_at: float) -> bool: ...


class MemoryReplayCache:
    """A bounded, thread-safe, per-process ``ReplayCache``.

    When full of unexpired entries the oldest is dropped; only holders of a
    valid bound token and its key reach this cache (it is the last check),
    so the bound limits what one caller can make the server remember.
    """

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, key: str, expires_at: float) -> bool:
        now = self._clock()
        with self._lock:
            seen = self._entries.get(key)
            if seen is not None and seen > now:
                return False
            self._entries[key] = expires_at
            self._entries.move_to_end(key)
            self._evict(now)
            return True

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, now: float) -> None:
        """Entries are kept in insertion order; expiry times are nearly monotonic, so expired ones sit in front."""
        while self._entries:
            key, expires_at = next(iter(self._entries.items()))
            if expires_at > now and len(self._entries) <= self._max_entries:
                return
            del self._entries[key]


class NonceSource:
    """Unpredictable, time-bucketed nonces: HMAC of the bucket number under a secret key.

    Stateless, so workers that share ``secret`` accept each other's nonces;
    without one, a random key per process is used.
    """

    def __init__(
        self, lifetime: float = 300.0, secret: bytes | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._lifetime = lifetime
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock

    def current(self) -> str:
        return self._nonce(int(self._clock() // self._lifetime))

    def is_valid(self, nonce: Any) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 128:
            return False
        bucket = int(self._clock() // self._lifetime)
        return any(hmac.compare_digest(nonce, self._nonce(b)) for b in (bucket, bucket - 1))

    def _nonce(self, bucket: int) -> str:
        mac = hmac.new(self._secret, struct.pack(">q", bucket), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).rstrip(b"=").decode("ascii")
