"""The app's data on PostgreSQL (DATABASE_URL): the same storage code, shared by every process that uses it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from kcguard.app import books, db
from kcguard.app.settings import AppSettings
from kcguard.app.web import sessions
from kcguard.config import ConfigError
from kcguard.devstack import PostgresServer, free_port
from tests.support.auth import bearer
from tests.support.dpop import new_key, proof_claims, sign_proof
from tests.support.local_issuer import LocalIssuer

SECRET = "test-only-" + "s" * 40


@pytest.fixture
def make_pg_app(make_local_app: Callable[..., Flask], database_url: str) -> Iterator[Callable[..., Flask]]:
    """Apps (replicas) on one fresh PostgreSQL database; their pools are closed afterwards."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        app = make_local_app(database_url=database_url, secret_key=SECRET, **overrides)
        apps.append(app)
        return app

    yield build
    for app in apps:
        db.close(app)


def _books_token(local_issuer: LocalIssuer) -> dict[str, str]:
    return bearer(local_issuer.sign(scope="books.read books.admin"))


def test_replicas_creating_the_schema_at_once_seed_it_once(make_pg_app):
    replicas = [make_pg_app() for _ in range(6)]
    start = threading.Barrier(len(replicas), timeout=30)
    counts: list[int] = []
    errors: list[BaseException] = []

    def first_request(app: Flask) -> None:
        try:
            with app.app_context():
                connection = db.get_db()
                start.wait()
                counts.append(len(books.list_books(connection)))
        except BaseException as error:
            errors.append(error)

    # Each replica's first connection creates the schema; the barrier is passed only after that,
    # so the creations overlap as closely as threads allow and every count is read afterwards.
    threads = [threading.Thread(target=first_request, args=(app,)) for app in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert counts == [2] * len(replicas)


def test_book_added_on_one_replica_is_read_on_another(make_pg_app, local_issuer: LocalIssuer):
    a, b = make_pg_app().test_client(), make_pg_app().test_client()
    headers = _books_token(local_issuer)
    new_book = {"title": "Kafka: The Definitive Guide", "author": "Neha Narkhede", "num_pages": 320, "cost": 39.99}
    created = a.post("/api/books", json=new_book, headers=headers)
    assert created.status_code == 201
    book = created.json
    assert book["id"] == 3
    assert b.get(f"/api/books/{book['id']}", headers=headers).json == book
    assert [entry["id"] for entry in b.get("/api/books", headers=headers).json["books"]] == [1, 2, 3]


def test_sign_in_session_is_shared_and_deleted_across_replicas(make_pg_app):
    a, b = make_pg_app(), make_pg_app()
    sign_in = sessions.SignIn("access", "id", {"sub": "alice", "name": "Alice"})
    with a.app_context():
        session_id = sessions.create(db.get_db(), sign_in)
    with b.app_context():
        loaded = sessions.load(db.get_db(), session_id)
        assert loaded is not None and (loaded.access_token, loaded.userinfo) == ("access", sign_in.userinfo)
        sessions.delete(db.get_db(), session_id)
    with a.app_context():
        assert sessions.load(db.get_db(), session_id) is None


def test_session_expiry_keeps_sub_second_precision(make_pg_app):
    """PostgreSQL's REAL is single precision (whole minutes at today's epoch); the column is DOUBLE PRECISION."""
    app = make_pg_app()
    with app.app_context():
        connection = db.get_db()
        connection.execute(
            "INSERT INTO browser_sessions (id, subject, created, expires, csrf_token, access_token, id_token, userinfo)"
            " VALUES (?, 'alice', ?, ?, '', '', '', '{}')",
            ("precise", 1_795_000_000.25, 1_795_000_000.25),
        )
        row = connection.execute("SELECT created, expires FROM browser_sessions WHERE id = ?", ("precise",)).fetchone()
        assert tuple(row) == (1_795_000_000.25, 1_795_000_000.25)


def test_unreachable_postgresql_is_a_503_json_error(make_local_app, local_issuer: LocalIssuer):
    app = make_local_app(database_url=f"postgresql://kcguard:x@127.0.0.1:{free_port()}/kcguard")
    try:
        response = app.test_client().get("/api/books", headers=_books_token(local_issuer))
    finally:
        db.close(app)
    assert response.status_code == 503
    assert response.json == {
        "error": "temporarily_unavailable",
        "error_description": "The database is unavailable right now.",
    }


def test_connections_closed_by_the_server_are_replaced(
    make_pg_app, local_issuer: LocalIssuer, postgres: PostgresServer, database_url: str
):
    """A PostgreSQL restart or failover closes pooled connections; the next requests still succeed."""
    client = make_pg_app().test_client()
    headers = _books_token(local_issuer)
    assert client.get("/api/books", headers=headers).status_code == 200
    database = urlsplit(database_url).path.lstrip("/")  # kcguard_<hex>, made by the fixture
    postgres.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")  # noqa: S608

    assert [client.get("/api/books", headers=headers).status_code for _ in range(3)] == [200, 200, 200]


def test_readiness_reports_an_unreachable_database(make_local_app):
    app = make_local_app(database_url=f"postgresql://kcguard:x@127.0.0.1:{free_port()}/kcguard")
    try:
        response = app.test_client().get("/readyz")
    finally:
        db.close(app)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json == {"error": "not_ready", "error_description": "The database is unavailable."}


def test_database_url_must_be_postgresql_and_is_not_echoed():
    with pytest.raises(ConfigError) as raised:
        AppSettings.from_env({"DATABASE_URL": "mysql://user:hunter2@db/app"})
    assert "hunter2" not in str(raised.value)
    assert "DATABASE_URL must be a postgresql:// URL" in str(raised.value)
    assert "hunter2" not in repr(AppSettings.from_env({"DATABASE_URL": "postgresql://user:hunter2@db/app"}))


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT * FROM books WHERE id = ?", "SELECT * FROM books WHERE id = %s"),
        ("SELECT '100%' WHERE 1 = ?", "SELECT '100%%' WHERE 1 = %s"),
        (
            "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL)",
            "CREATE TABLE IF NOT EXISTS t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "at DOUBLE PRECISION NOT NULL)",
        ),
        ("SELECT title AS real_title FROM books", "SELECT title AS real_title FROM books"),
    ],
)
def test_sqlite_spelling_is_rewritten_for_postgresql(sqlite: str, postgres: str):
    assert db.to_postgres(sqlite) == postgres


def test_a_dpop_proof_used_at_one_replica_is_refused_at_the_other(make_pg_app, local_issuer: LocalIssuer):
    a, b = make_pg_app(), make_pg_app()
    key = new_key("ES256")
    token = local_issuer.sign(typ="DPoP", cnf={"jkt": key.thumbprint(), "kc-jkt-type": "DPoP"})
    proof = sign_proof(key, proof_claims("GET", "http://localhost/api/private", token))
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert a.test_client().get("/api/private", headers=headers).status_code == 200

    replayed = b.test_client().get("/api/private", headers=headers)
    assert replayed.status_code == 401
    assert replayed.json == {"error": "invalid_dpop_proof", "error_description": "The DPoP proof was already used."}
    fresh = sign_proof(key, proof_claims("GET", "http://localhost/api/private", token))
    assert b.test_client().get("/api/private", headers={**headers, "DPoP": fresh}).status_code == 200
