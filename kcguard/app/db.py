"""The app's SQLite database: one connection per request, the schema created on first use.

SQLite (not process memory) because the production server runs several
worker processes: a book added, or a browser session created, through one
worker must be seen by the others. Each part of the app registers the
function that creates its tables; they run once per process, on the first
connection, inside one ``BEGIN IMMEDIATE`` so concurrent workers don't race.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable

from flask import Flask, current_app, g

SchemaFunction = Callable[[sqlite3.Connection], None]
_EXTENSION = "kcguard.db"


def connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


class _Schema:
    """The schema functions of one app, run once per process."""

    def __init__(self) -> None:
        self.functions: list[SchemaFunction] = []
        self.created = False
        self.lock = threading.Lock()

    def ensure(self, connection: sqlite3.Connection) -> None:
        with self.lock:
            if self.created:
                return
            connection.execute("BEGIN IMMEDIATE")
            try:
                for function in self.functions:
                    function(connection)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            self.created = True


def create_private_file(path: str) -> None:
    """Create the database file (and its folder) for the owner only: it holds users' tokens.

    SQLite gives its journal files the database file's permissions.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        path = current_app.config["DATABASE"]
        schema: _Schema = current_app.extensions[_EXTENSION]
        if not schema.created:
            create_private_file(path)
        g.db = connect(path)
        schema.ensure(g.db)
    return g.db


def _close_db(_error: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def add_schema(app: Flask, function: SchemaFunction) -> None:
    """Have ``function`` create its tables before the first query."""
    app.extensions[_EXTENSION].functions.append(function)


def init_app(app: Flask, *schemas: SchemaFunction) -> None:
    app.extensions[_EXTENSION] = _Schema()
    for function in schemas:
        add_schema(app, function)
    app.teardown_appcontext(_close_db)
