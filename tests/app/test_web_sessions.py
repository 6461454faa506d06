"""Server-side sign-in storage: sessions bounded per subject, expiry, the database file's mode."""

from __future__ import annotations

import os
import stat
import time

import pytest

from kcguard.app import db
from kcguard.app.web import pending, sessions


@pytest.fixture(params=["sqlite", "postgresql"])
def connection(request, tmp_path):
    """The same storage on a SQLite file and on PostgreSQL (a fresh database, as DATABASE_URL gives)."""
    if request.param == "sqlite":
        connection = db.connect(str(tmp_path / "sessions.sqlite"))
    else:
        connection = db.connect_postgres(request.getfixturevalue("database_url"))
    sessions.create_schema(connection)
    pending.create_schema(connection)
    yield connection
    connection.close()


def _sign_in(sub: str, sid: str) -> sessions.SignIn:
    return sessions.SignIn("access", "id", {"sub": sub, "sid": sid})


def test_one_subject_signing_in_many_times_evicts_only_its_own_oldest_sessions(connection, monkeypatch):
    monkeypatch.setattr(sessions, "MAX_SESSIONS", 3, raising=False)
    monkeypatch.setattr(sessions, "MAX_SESSIONS_PER_SUBJECT", 3, raising=False)
    bob = sessions.create(connection, _sign_in("bob", "b1"))
    alice = [sessions.create(connection, _sign_in("alice", f"a{n}")) for n in range(5)]
    assert sessions.load(connection, bob) is not None
    assert [sessions.load(connection, sid) is not None for sid in alice] == [False, False, True, True, True]


def test_expired_sessions_are_purged_from_the_table(connection):
    old = sessions.create(connection, _sign_in("carol", "c1"), now=time.time() - sessions.MAX_AGE - 10)
    sessions.create(connection, _sign_in("dave", "d1"))
    assert sessions.load(connection, old) is None
    assert connection.execute("SELECT COUNT(*) FROM browser_sessions WHERE subject = 'carol'").fetchone()[0] == 0


def test_expired_sessions_are_purged_without_a_new_sign_in(connection):
    sessions.create(connection, _sign_in("carol", "c1"), now=time.time() - sessions.MAX_AGE - 10)
    assert sessions.purge_expired(connection) == 1
    assert connection.execute("SELECT COUNT(*) FROM browser_sessions").fetchone()[0] == 0


def test_session_and_pending_tables_index_their_expiry(connection):
    indexed = {
        (row["tbl_name"], row["sql"].split("(", 1)[1].rstrip(")").strip())
        for row in connection.execute(
            "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index'"
            if connection.dialect == "sqlite"
            else "SELECT tablename AS tbl_name, indexdef AS sql FROM pg_indexes WHERE schemaname = 'public'"
        )
        if row["sql"]
    }
    assert ("browser_sessions", "expires") in indexed
    assert ("pending_sign_ins", "expires") in indexed


def test_sessions_can_be_ended_by_keycloak_session_id(connection):
    first = sessions.create(connection, _sign_in("alice", "kc-1"))
    second = sessions.create(connection, _sign_in("alice", "kc-2"))
    assert sessions.delete_by_keycloak_session(connection, sid="kc-1") == 1
    assert sessions.load(connection, first) is None
    assert sessions.load(connection, second) is not None


def test_the_database_file_is_created_readable_by_its_owner_only(make_local_app, tmp_path):
    path = tmp_path / "fresh" / "kcguard.sqlite"
    app = make_local_app(database=str(path))
    with app.app_context():
        db.get_db()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_pending_sign_in_expires(connection):
    pending.save(connection, "browser-1", "state-1", {"nonce": "n"}, now=time.time() - pending.MAX_AGE - 1)
    assert pending.load(connection, "browser-1", "state-1") is None


def test_pending_sign_ins_of_other_browsers_are_not_evicted_by_one_browser(connection):
    pending.save(connection, "patient", "theirs", {"nonce": "n"})
    for n in range(3 * pending.MAX_PER_BROWSER):
        pending.save(connection, "busy", f"state-{n}", {"nonce": "n"})
    assert pending.load(connection, "patient", "theirs") == {"nonce": "n"}
    assert connection.execute("SELECT COUNT(*) FROM pending_sign_ins WHERE browser = 'busy'").fetchone()[0] == (
        pending.MAX_PER_BROWSER
    )
