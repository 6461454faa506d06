"""Sign-ins started but not finished: Authlib's ``state``, ``nonce`` and PKCE verifier, kept server-side.

Authlib keeps them in the session cookie by default, one entry per visit to
``/login``: the cookie grew past the 4 KB browsers keep, and a finished
sign-in cleared the entries of sign-ins still pending in other tabs. Here
the cookie carries one random browser id; each pending sign-in is a row
keyed by its ``state`` and bound to that id (a ``state`` from another
browser does not match), at most ``MAX_PER_BROWSER`` per browser (the
oldest goes first), ``MAX_AGE`` seconds each, and used once.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..db import Connection

#: Sign-ins one browser may have open at once (tabs, retries); the oldest is forgotten first.
MAX_PER_BROWSER = 5
#: Every browser together; a flood of new browsers evicts the oldest pending sign-ins, nothing else.
MAX_PENDING = 10_000
#: Seconds between ``/login`` and ``/callback``: the time to type a password, and then some.
MAX_AGE = 600

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS pending_sign_ins (
        state TEXT PRIMARY KEY,
        browser TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        data TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS pending_sign_ins_browser ON pending_sign_ins (browser)",
    "CREATE INDEX IF NOT EXISTS pending_sign_ins_expires ON pending_sign_ins (expires)",
)


def create_schema(connection: Connection) -> None:
    for statement in _SCHEMA:
        connection.execute(statement)


def save(connection: Connection, browser: str, state: str, data: dict[str, Any], now: float | None = None) -> None:
    """Remember a started sign-in; drop expired ones and this browser's (and everyone's) surplus, oldest first."""
    now = time.time() if now is None else now
    with connection.transaction():
        connection.execute("DELETE FROM pending_sign_ins WHERE expires < ?", (now,))
        connection.execute(
            "DELETE FROM pending_sign_ins WHERE browser = ? AND state NOT IN "
            "(SELECT state FROM pending_sign_ins WHERE browser = ? ORDER BY created DESC LIMIT ?)",
            (browser, browser, MAX_PER_BROWSER - 1),
        )
        connection.execute(
            "DELETE FROM pending_sign_ins WHERE state NOT IN "
            "(SELECT state FROM pending_sign_ins ORDER BY created DESC LIMIT ?)",
            (MAX_PENDING - 1,),
        )
        connection.execute(
            "INSERT INTO pending_sign_ins (state, browser, created, expires, data) VALUES (?, ?, ?, ?, ?)",
            (state, browser, now, now + MAX_AGE, json.dumps(data)),
        )


def load(connection: Connection, browser: str, state: str, now: float | None = None) -> dict[str, Any] | None:
    """The data of this browser's unexpired sign-in with ``state``, or None."""
    now = time.time() if now is None else now
    row = connection.execute(
        "SELECT data FROM pending_sign_ins WHERE state = ? AND browser = ? AND expires >= ?", (state, browser, now)
    ).fetchone()
    return json.loads(row["data"]) if row else None


def delete(connection: Connection, browser: str, state: str) -> None:
    connection.execute("DELETE FROM pending_sign_ins WHERE state = ? AND browser = ?", (state, browser))
