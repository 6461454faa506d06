"""Server-side storage of browser sign-ins.

The session cookie carries only a random id; the user's tokens stay on the
server (in the app's database, shared by gunicorn workers and replicas), so they never
reach the page, the URL or the browser. Each subject (Keycloak user) keeps at
most ``MAX_SESSIONS_PER_SUBJECT`` sessions: signing in once more evicts that
user's own oldest session, never anyone else's. Each row remembers
Keycloak's session id (the ID token's ``sid``) so a back-channel logout can
end it, and a CSRF token for the sign-out form.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ..db import Connection

#: A sign-in is forgotten after this long, whatever Keycloak's session does.
MAX_AGE = 8 * 3600
#: Browsers (devices) one person may be signed in on at once; the oldest is signed out first.
MAX_SESSIONS_PER_SUBJECT = 10
_SCHEMA = (
    # The first schema had no subject or sid; its sessions are simply forgotten.
    "DROP TABLE IF EXISTS web_sessions",
    """
    CREATE TABLE IF NOT EXISTS browser_sessions (
        id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        sid TEXT,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        csrf_token TEXT NOT NULL,
        access_token TEXT NOT NULL,
        id_token TEXT NOT NULL,
        userinfo TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS browser_sessions_subject ON browser_sessions (subject)",
    "CREATE INDEX IF NOT EXISTS browser_sessions_sid ON browser_sessions (sid)",
    "CREATE INDEX IF NOT EXISTS browser_sessions_expires ON browser_sessions (expires)",
)


@dataclass(frozen=True)
class SignIn:
    access_token: str
    id_token: str
    userinfo: dict[str, Any]
    csrf_token: str = ""

    @property
    def subject(self) -> str:
        return str(self.userinfo["sub"])

    @property
    def keycloak_session(self) -> str | None:
        """Keycloak's session id (the ID token's ``sid``), which a back-channel logout names."""
        sid = self.userinfo.get("sid")
        return sid if isinstance(sid, str) and sid else None


def create_schema(connection: Connection) -> None:
    for statement in _SCHEMA:
        connection.execute(statement)


def create(connection: Connection, sign_in: SignIn, now: float | None = None) -> str:
    """Store a sign-in and return its new id; expired sessions and this subject's surplus are dropped."""
    session_id = secrets.token_urlsafe(32)
    now = time.time() if now is None else now
    with connection.transaction():
        connection.execute("DELETE FROM browser_sessions WHERE expires < ?", (now,))
        connection.execute(
            "DELETE FROM browser_sessions WHERE subject = ? AND id NOT IN "
            "(SELECT id FROM browser_sessions WHERE subject = ? ORDER BY created DESC LIMIT ?)",
            (sign_in.subject, sign_in.subject, MAX_SESSIONS_PER_SUBJECT - 1),
        )
        connection.execute(
            "INSERT INTO browser_sessions "
            "(id, subject, sid, created, expires, csrf_token, access_token, id_token, userinfo) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                sign_in.subject,
                sign_in.keycloak_session,
                now,
                now + MAX_AGE,
                secrets.token_urlsafe(32),
                sign_in.access_token,
                sign_in.id_token,
                json.dumps(sign_in.userinfo),
            ),
        )
    return session_id


def load(connection: Connection, session_id: str | None, now: float | None = None) -> SignIn | None:
    if not session_id:
        return None
    row = connection.execute(
        "SELECT access_token, id_token, userinfo, csrf_token FROM browser_sessions WHERE id = ? AND expires >= ?",
        (session_id, time.time() if now is None else now),
    ).fetchone()
    if row is None:
        return None
    return SignIn(row["access_token"], row["id_token"], json.loads(row["userinfo"]), row["csrf_token"])


def delete(connection: Connection, session_id: str | None) -> None:
    if session_id:
        connection.execute("DELETE FROM browser_sessions WHERE id = ?", (session_id,))


def delete_by_keycloak_session(connection: Connection, *, sid: str | None = None, subject: str | None = None) -> int:
    """End the sessions a back-channel logout names: by Keycloak ``sid`` if given, else all of ``subject``'s."""
    if sid:
        if subject:
            cursor = connection.execute("DELETE FROM browser_sessions WHERE sid = ? AND subject = ?", (sid, subject))
        else:
            cursor = connection.execute("DELETE FROM browser_sessions WHERE sid = ?", (sid,))
    elif subject:
        cursor = connection.execute("DELETE FROM browser_sessions WHERE subject = ?", (subject,))
    else:
        return 0
    return cursor.rowcount


def purge_expired(connection: Connection, now: float | None = None) -> int:
    """Delete expired sessions (their tokens are dead weight); return how many went."""
    cursor = connection.execute(
        "DELETE FROM browser_sessions WHERE expires < ?", (time.time() if now is None else now,)
    )
    return cursor.rowcount
