"""The app's SQLite database: one connection per request, closed when the request ends.

SQLite (not process memory) because gunicorn runs several worker processes:
a book added, or a browser session created, through one worker must be seen
by the others.
"""

from __future__ import annotations

import sqlite3

from flask import Flask, current_app, g


def connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def _close_db(_error: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close_db)
