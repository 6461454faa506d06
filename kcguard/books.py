"""The books the demo API serves, stored in the app's SQLite database."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from .db import connect
from .errors import ApiError

MAX_BOOKS = 10_000
MAX_TEXT = 200
_FIELDS = {"title": str, "author": str, "year": int}
_SEED = [
    ("Designing Data-Intensive Applications", "Martin Kleppmann", 2017),
    ("OAuth 2 in Action", "Justin Richer, Antonio Sanso", 2017),
]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS books (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    year INTEGER
)
"""


def init_db(path: str) -> None:
    """Create the table and the two demo books once; safe to call from every worker."""
    with closing(connect(path)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(_SCHEMA)
        if connection.execute("SELECT COUNT(*) FROM books").fetchone()[0] == 0:
            connection.executemany("INSERT INTO books (title, author, year) VALUES (?, ?, ?)", _SEED)
        connection.execute("COMMIT")


def parse_new_book(payload: Any) -> dict[str, Any]:
    """Validate a POST body: ``title`` and ``author`` required, ``year`` optional, nothing else."""
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    unknown = sorted(set(payload) - set(_FIELDS))
    if unknown:
        raise ApiError(400, "invalid_request", f"Unknown field(s): {', '.join(unknown)}.")
    book: dict[str, Any] = {"year": None}
    for name in ("title", "author"):
        value = payload.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, "invalid_request", f"'{name}' is required and must be a non-empty string.")
        if len(value) > MAX_TEXT:
            raise ApiError(400, "invalid_request", f"'{name}' must be at most {MAX_TEXT} characters.")
        book[name] = value.strip()
    year = payload.get("year")
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, int) or not -5000 <= year <= 3000:
            raise ApiError(400, "invalid_request", "'year' must be a whole number between -5000 and 3000.")
        book["year"] = year
    return book


def list_books(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute("SELECT id, title, author, year FROM books ORDER BY id")]


def get_book(connection: sqlite3.Connection, book_id: int) -> dict[str, Any] | None:
    row = connection.execute("SELECT id, title, author, year FROM books WHERE id = ?", (book_id,)).fetchone()
    return dict(row) if row else None


def add_book(connection: sqlite3.Connection, book: dict[str, Any]) -> dict[str, Any]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        if connection.execute("SELECT COUNT(*) FROM books").fetchone()[0] >= MAX_BOOKS:
            raise ApiError(507, "insufficient_storage", f"The demo store holds at most {MAX_BOOKS} books.")
        cursor = connection.execute(
            "INSERT INTO books (title, author, year) VALUES (?, ?, ?)", (book["title"], book["author"], book["year"])
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return {"id": cursor.lastrowid, **book}
