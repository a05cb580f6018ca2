"""Keyset paging shared by every list endpoint: `?limit=&cursor=` → `{items, next_cursor}`.

Cursors are opaque to clients (base64 of the last key seen), so the key can change later without
breaking them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from issuer_service.errors import ValidationFailed

T = TypeVar("T")
RowT = TypeVar("RowT")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

LimitQuery = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.", examples=[DEFAULT_LIMIT]),
]
CursorQuery = Annotated[
    str | None,
    Query(description="The `next_cursor` of the previous page; omit for the first page.", examples=["Y3VzXzAx"]),
]


class Page(BaseModel, Generic[T]):
    """One page of results; pass `next_cursor` as `cursor` for the next page, until it is null."""

    items: list[T] = Field(description="This page's items, oldest first.", examples=[[]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page.", examples=["Y3VzXzAx"]
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """A class's docstring is not inherited, and pydantic builds each `Page[X]` as a subclass: give
        them this one, so every `Page_X_` in the OpenAPI has a description."""
        super().__pydantic_init_subclass__(**kwargs)
        cls.__doc__ = cls.__doc__ or Page.__doc__


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


MAX_KEY_CHARS = 100  # longer than any id or sequence number a cursor carries


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor carries; a 422 naming `query.cursor` for anything this API could not have
    issued (not base64, not UTF-8, or a key no row can have: control characters, too long)."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = None
    if key is None or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise foreign_cursor()
    return key


def foreign_cursor() -> ValidationFailed:
    """The refusal of a cursor this API could not have issued."""
    return ValidationFailed(
        "cursor is not one this API issued; pass the `next_cursor` of the previous page unchanged",
        field="query.cursor",
    )


def page_of(rows: Sequence[RowT], limit: int, key: Callable[[RowT], str]) -> tuple[list[RowT], str | None]:
    """Split what a repository fetched (limit + 1 rows) into this page and the next cursor.

    The extra row only tells whether another page exists, so the last page has no cursor.
    """
    page = list(rows[:limit])
    return page, (encode_cursor(key(page[-1])) if len(rows) > limit else None)
