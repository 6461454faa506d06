"""Signing a browser in without Keycloak, for tests of the pages around a sign-in."""

from __future__ import annotations

import sqlite3
from typing import Any

from kcguard.app.db import get_db
from kcguard.app.web import sessions


def sign_in(app: Any, client: Any, *, sub: str = "alice-id", sid: str = "kc-session-1") -> str:
    """Store a sign-in as ``/callback`` would and put its id in ``client``'s cookie; return the id."""
    userinfo = {"sub": sub, "sid": sid, "name": "Alice Example"}
    with app.app_context():
        session_id = sessions.create(get_db(), sessions.SignIn("not-a-real-access-token", "not-an-id-token", userinfo))
    with client.session_transaction() as session:
        session["sid"] = session_id
    return session_id


def is_signed_in(app: Any, session_id: str) -> bool:
    with app.app_context():
        return sessions.load(get_db(), session_id) is not None


def rows(app: Any, sql: str, *params: Any) -> list[tuple]:
    """Run a read-only query on the app's database file."""
    with sqlite3.connect(app.config["DATABASE"]) as connection:
        return [tuple(row) for row in connection.execute(sql, params)]
