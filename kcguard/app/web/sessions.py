"""Server-side storage of browser sign-ins.

The session cookie carries only a random id; the user's tokens stay on the
server (in the app's SQLite database, shared by gunicorn workers), so they
never reach the page, the URL or the browser.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

#: A sign-in is forgotten after this long, whatever Keycloak's session does.
MAX_AGE = 8 * 3600
MAX_SESSIONS = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS web_sessions (
    id TEXT PRIMARY KEY,
    expires REAL NOT NULL,
    access_token TEXT NOT NULL,
    id_token TEXT NOT NULL,
    userinfo TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class SignIn:
    access_token: str
    id_token: str
    userinfo: dict[str, Any]


def create_schema(connection: sqlite3.Connection) -> None:
    connection.execute(_SCHEMA)


def create(db: sqlite3.Connection, sign_in: SignIn) -> str:
    """Store a sign-in and return its new id; expired and surplus sessions are dropped."""
    session_id = secrets.token_urlsafe(32)
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    db.execute("DELETE FROM web_sessions WHERE expires < ?", (now,))
    db.execute(
        "DELETE FROM web_sessions WHERE id IN (SELECT id FROM web_sessions ORDER BY expires DESC LIMIT -1 OFFSET ?)",
        (MAX_SESSIONS - 1,),
    )
    db.execute(
        "INSERT INTO web_sessions (id, expires, access_token, id_token, userinfo) VALUES (?, ?, ?, ?, ?)",
        (session_id, now + MAX_AGE, sign_in.access_token, sign_in.id_token, json.dumps(sign_in.userinfo)),
    )
    db.execute("COMMIT")
    return session_id


def load(db: sqlite3.Connection, session_id: str | None) -> SignIn | None:
    if not session_id:
        return None
    row = db.execute(
        "SELECT access_token, id_token, userinfo FROM web_sessions WHERE id = ? AND expires >= ?",
        (session_id, time.time()),
    ).fetchone()
    return SignIn(row["access_token"], row["id_token"], json.loads(row["userinfo"])) if row else None


def delete(db: sqlite3.Connection, session_id: str | None) -> None:
    if session_id:
        db.execute("DELETE FROM web_sessions WHERE id = ?", (session_id,))
