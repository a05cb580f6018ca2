"""The current request id, carried in a contextvar so audit records, logs and errors include it
without threading it through every call. Sync endpoints run in a thread pool that copies the
context, so the value is visible there too.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# A client-supplied id is echoed in headers and logs, so only short, plain tokens are accepted.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def new_request_id(prefix: str = "req") -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def sanitize_request_id(candidate: str | None) -> str:
    """The client's X-Request-ID if it is sane, else a fresh one."""
    if candidate and _SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return new_request_id()


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_id_context(request_id: str) -> Iterator[str]:
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)
