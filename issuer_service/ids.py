"""Public ids: a type prefix, then 12 hex digits of milliseconds and 16 random hex digits.

The time part makes ids sort by creation time, so lists page on the id alone (keyset paging);
the random part (64 bits) makes them unguessable enough for a sandbox and unique across processes.
"""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{millis:012x}{secrets.token_hex(8)}"
