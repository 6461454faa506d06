"""A bounded cache of tokens that already passed validation.

Verifying an RS256 signature and the claims costs far more than the rest of a
request; a client reuses one token for minutes, so each token is verified
once and then looked up. Keys are SHA-256 digests, so the cache holds no
token text, and no entry outlives the token's ``exp`` (or a shorter
``max_age``, used when introspection must be asked again). Each entry may
carry the ``kid`` of the key that verified it, so when Keycloak withdraws a
key the tokens it vouched for are dropped too (``drop_kids``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


class TokenCache(Generic[T]):
    """Bounded map from token digest to a value, each entry with its own expiry; the oldest goes first."""

    def __init__(self, maxsize: int, clock: Callable[[], float] = time.time) -> None:
        self._maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, T, str]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> T | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expires_at, value, _kid = entry
        if self._clock() >= expires_at:
            with self._lock:
                self._entries.pop(digest, None)
            return None
        return value

    def put(self, digest: bytes, value: T, expires_at: float, kid: str = "") -> None:
        if self._maxsize <= 0 or expires_at <= self._clock():
            return
        with self._lock:
            self._entries[digest] = (expires_at, value, kid)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def drop_kids(self, kids: set[str]) -> int:
        """Forget every entry verified with one of ``kids``; return how many went."""
        if not kids:
            return 0
        with self._lock:
            doomed = [digest for digest, (_, _, kid) in self._entries.items() if kid in kids]
            for digest in doomed:
                del self._entries[digest]
        return len(doomed)
