"""The books the demo API serves, stored in the app's SQLite database.

Storage knows nothing of HTTP: it raises the domain errors below and
``errors.py`` decides what a caller sees.
"""

from __future__ import annotations

import sqlite3
from typing import Any

MAX_BOOKS = 10_000
MAX_TEXT = 200
_FIELDS = {"title": str, "author": str, "year": int}
_SEED = [
    ("Designing Data-Intensive Applications", "Martin Kleppmann", 2017),
    ("OAuth 2 in Action", "Justin Richer, Antonio Sanso", 2017),
]


class InvalidBook(ValueError):
    """A new book's fields do not validate; the message names the field."""


class BookNotFound(LookupError):
    """No book has the id asked for."""


class StoreFull(RuntimeError):
    """The demo store holds its maximum number of books."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS books (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    year INTEGER
)
"""


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the table and the two demo books once (inside the caller's transaction)."""
    connection.execute(_SCHEMA)
    if connection.execute("SELECT COUNT(*) FROM books").fetchone()[0] == 0:
        connection.executemany("INSERT INTO books (title, author, year) VALUES (?, ?, ?)", _SEED)


def parse_new_book(payload: Any) -> dict[str, Any]:
    """Validate a POST body: ``title`` and ``author`` required, ``year`` optional, nothing else."""
    if not isinstance(payload, dict):
        raise InvalidBook("The body must be a JSON object.")
    unknown = sorted(set(payload) - set(_FIELDS))
    if unknown:
        raise InvalidBook(f"Unknown field(s): {', '.join(unknown)}.")
    book: dict[str, Any] = {"year": None}
    for name in ("title", "author"):
        value = payload.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidBook(f"'{name}' is required and must be a non-empty string.")
        if len(value) > MAX_TEXT:
            raise InvalidBook(f"'{name}' must be at most {MAX_TEXT} characters.")
        book[name] = value.strip()
    year = payload.get("year")
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, int) or not -5000 <= year <= 3000:
            raise InvalidBook("'year' must be a whole number between -5000 and 3000.")
        book["year"] = year
    return book


def list_books(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute("SELECT id, title, author, year FROM books ORDER BY id")]


def get_book(connection: sqlite3.Connection, book_id: int) -> dict[str, Any]:
    row = connection.execute("SELECT id, title, author, year FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise BookNotFound(f"No book with id {book_id}.")
    return dict(row)


def add_book(connection: sqlite3.Connection, book: dict[str, Any]) -> dict[str, Any]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        if connection.execute("SELECT COUNT(*) FROM books").fetchone()[0] >= MAX_BOOKS:
            raise StoreFull(f"The demo store holds at most {MAX_BOOKS} books.")
        cursor = connection.execute(
            "INSERT INTO books (title, author, year) VALUES (?, ?, ?)", (book["title"], book["author"], book["year"])
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return {"id": cursor.lastrowid, **book}
