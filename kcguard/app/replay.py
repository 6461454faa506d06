"""DPoP proof ids (``jti``) remembered in the app's database, so a proof used at one replica is refused at all.

The core's ``MemoryReplayCache`` is per process: behind a load balancer a
captured proof could be replayed once against every other worker and
replica. With ``DATABASE_URL`` set, the ids go to one table instead: an
``INSERT ... ON CONFLICT`` is atomic, so of two replicas seeing the same
proof at once exactly one accepts it; an expired id may be used again (its
proof fails the ``iat`` check anyway), and expired rows are purged as new
ones arrive.
"""

from __future__ import annotations

import threading
import time

from .db import Connection, get_db

#: Purge expired ids once per this many proofs (per process).
PURGE_EVERY = 500
_SCHEMA = "CREATE TABLE IF NOT EXISTS dpop_proofs (jti TEXT PRIMARY KEY, expires REAL NOT NULL)"


def create_schema(connection: Connection) -> None:
    connection.execute(_SCHEMA)


class DatabaseReplayCache:
    """A ``kcguard.resource.ReplayCache`` on the app's database (the request's connection)."""

    def __init__(self) -> None:
        self._seen = 0
        self._lock = threading.Lock()

    def first_use(self, key: str, expires_at: float) -> bool:
        connection = get_db()
        now = time.time()
        row = connection.execute(
            "INSERT INTO dpop_proofs (jti, expires) VALUES (?, ?) "
            "ON CONFLICT (jti) DO UPDATE SET expires = excluded.expires WHERE dpop_proofs.expires <= ? "
            "RETURNING jti",
            (key, expires_at, now),
        ).fetchone()
        with self._lock:
            self._seen += 1
            purge = self._seen % PURGE_EVERY == 0
        if purge:
            connection.execute("DELETE FROM dpop_proofs WHERE expires <= ?", (now,))
        return row is not None
