"""The books the demo API serves (the FakeBook seed's book), stored in the app's database.

Storage knows nothing of HTTP: it raises the domain errors below and
``errors.py`` decides what a caller sees. ``NewBook`` validates a request
body and its JSON Schema is the one the OpenAPI document shows, so the
document and the checks cannot drift apart.

Money is exact: ``cost`` arrives as the JSON number's decimal text (the API
parses bodies with ``parse_float=Decimal``), must have at most two decimals,
is stored as integer cents, and is answered as ``cents / 100`` (a float
whose shortest representation is the two-decimal value, e.g. ``7.99``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

from .db import Connection

MAX_BOOKS = 10_000
MAX_TEXT = 200
MAX_PAGES = 100_000
MAX_COST = Decimal("1000000.00")
#: Bounded so every id fits a signed 64-bit column (SQLite INTEGER, SQL BIGINT).
MAX_ID = 2**63 - 1
#: The FakeBook seed's example body, accepted verbatim (its ``id`` is ignored).
EXAMPLE = {"author": "Woziek Schezcny", "cost": 7.99, "id": 1, "num_pages": 300, "title": "And Then There Were None"}
_SEED = [
    ("Designing Data-Intensive Applications", "Martin Kleppmann", 616, 3999, 2017),
    ("OAuth 2 in Action", "Justin Richer, Antonio Sanso", 360, 4499, 2017),
]
_COLUMNS = "id, title, author, num_pages, cost_cents, year"


class InvalidBook(ValueError):
    """A new book's fields do not validate; the message names the field."""


class BookNotFound(LookupError):
    """No book has the id asked for."""


class StoreFull(RuntimeError):
    """The demo store holds its maximum number of books."""


def _cost(value: Any) -> Decimal:
    """A JSON number with at most two decimals, kept as its exact decimal value."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a number")
    value = Decimal(value)
    if not value.is_finite() or not 0 <= value <= MAX_COST:
        raise ValueError(f"must be between 0 and {MAX_COST}")
    try:
        exact = value == value.quantize(Decimal("0.01"))
    except InvalidOperation:
        exact = False
    if not exact:
        raise ValueError("must have at most two decimals")
    return value


def _whole(value: Any) -> Any:
    """JSON Schema counts ``300.0`` as an integer, so a Decimal without a fraction becomes an int (bounded)."""
    if isinstance(value, Decimal) and value.is_finite() and abs(value) <= MAX_ID and value == value.to_integral_value():
        return int(value)
    return value


def whole(minimum: int, maximum: int) -> Any:
    """A JSON integer in bounds, ``300`` or ``300.0`` (not ``"300"``, ``true`` or ``300.5``).

    The bounds come before the validator: the other way round pydantic writes
    them into the JSON Schema as its own ``ge``/``le`` instead of ``minimum``/``maximum``.
    """
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_whole)]


#: Printable text with at least one non-space character (no control characters: portable to any SQL TEXT).
Text = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=MAX_TEXT, pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
    ),
]
Cost = Annotated[
    Decimal,
    PlainValidator(_cost),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": float(MAX_COST),
            "multipleOf": 0.01,
            "description": "Non-negative, at most two decimals; kept exact (stored as integer cents).",
        }
    ),
]


class NewBook(BaseModel):
    """A book to add (the FakeBook seed's shape). Unknown fields are refused; ``id`` is accepted and ignored."""

    model_config = ConfigDict(
        extra="forbid", strict=True, regex_engine="python-re", json_schema_extra={"examples": [EXAMPLE]}
    )

    id: Annotated[whole(-MAX_ID - 1, MAX_ID) | None, Field(description="Ignored: the server assigns ids.")] = None
    title: Text
    author: Text
    num_pages: whole(1, MAX_PAGES)
    cost: Cost
    year: Annotated[whole(-5000, 3000) | None, Field(description="Optional extra: year of publication.")] = None


class Book(BaseModel):
    """A stored book; ``year`` appears only when it was given."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": 3, **{k: v for k, v in EXAMPLE.items() if k != "id"}}],
        }
    )

    id: Annotated[int, Field(ge=1, le=MAX_ID)]
    title: str
    author: str
    num_pages: int
    #: No ``multipleOf: 0.01`` here: validators that divide binary floats (Python's jsonschema) call 0.57 invalid.
    cost: Annotated[float, Field(ge=0, description="Two decimals at most, e.g. 7.99.")]
    year: int | None = None


class BookList(BaseModel):
    """Every book, oldest first."""

    books: list[Book]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS books (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    num_pages INTEGER NOT NULL,
    cost_cents INTEGER NOT NULL,
    year INTEGER
)
"""


def create_schema(connection: Connection) -> None:
    """Create the table and the two demo books once (inside the caller's transaction)."""
    connection.execute(_SCHEMA)
    if connection.execute("SELECT COUNT(*) FROM books").fetchone()[0] == 0:
        connection.executemany(
            "INSERT INTO books (title, author, num_pages, cost_cents, year) VALUES (?, ?, ?, ?, ?)", _SEED
        )


def _describe(error: ValidationError) -> str:
    unknown = sorted(str(e["loc"][0]) for e in error.errors() if e["type"] == "extra_forbidden")
    if unknown:
        return f"Unknown field(s): {', '.join(unknown)}."
    first = error.errors()[0]
    if not first["loc"]:
        return "The body must be a JSON object."
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "is required"
    elif first["type"] == "string_pattern_mismatch":
        message = "must contain a non-space character and no control characters"
    return f"'{first['loc'][0]}' {message[0].lower()}{message[1:]}."


def parse_new_book(payload: Any) -> dict[str, Any]:
    """Validate a POST body (the ``NewBook`` model): the book to store, with ``cost`` in cents."""
    if not isinstance(payload, dict):
        raise InvalidBook("The body must be a JSON object.")
    try:
        book = NewBook.model_validate(payload)
    except ValidationError as error:
        raise InvalidBook(_describe(error)) from None
    return {
        "title": book.title.strip(),
        "author": book.author.strip(),
        "num_pages": book.num_pages,
        "cost_cents": int(book.cost * 100),
        "year": book.year,
    }


def _answer(row: Mapping[str, Any]) -> dict[str, Any]:
    """The API's shape: ``cost`` as a number with two decimals at most, ``year`` only when set."""
    book = {
        "id": row["id"],
        "title": row["title"],
        "author": row["author"],
        "num_pages": row["num_pages"],
        "cost": row["cost_cents"] / 100,
    }
    if row["year"] is not None:
        book["year"] = row["year"]
    return book


def list_books(connection: Connection) -> list[dict[str, Any]]:
    return [_answer(row) for row in connection.execute(f"SELECT {_COLUMNS} FROM books ORDER BY id")]  # noqa: S608


def get_book(connection: Connection, book_id: int) -> dict[str, Any]:
    row = connection.execute(f"SELECT {_COLUMNS} FROM books WHERE id = ?", (book_id,)).fetchone()  # noqa: S608
    if row is None:
        raise BookNotFound(f"No book with id {book_id}.")
    return _answer(row)


def add_book(connection: Connection, book: dict[str, Any]) -> dict[str, Any]:
    """Store ``book`` (from ``parse_new_book``) under a new server-assigned id."""
    with connection.transaction():
        if connection.execute("SELECT COUNT(*) FROM books").fetchone()[0] >= MAX_BOOKS:
            raise StoreFull(f"The demo store holds at most {MAX_BOOKS} books.")
        cursor = connection.execute(
            "INSERT INTO books (title, author, num_pages, cost_cents, year) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (book["title"], book["author"], book["num_pages"], book["cost_cents"], book["year"]),
        )
        book_id = cursor.fetchone()[0]
    return _answer({"id": book_id, **book})
