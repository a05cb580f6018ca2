"""How big the reliability and fuzz tests run (issue: reliability, "run by CI at a bounded size; a
flag runs them bigger").

Each size has a CI default and a full-size default. `CNH_FULL_SIZE=1` switches every test to its
full size; a size's own variable (e.g. `CNH_RELIABILITY_REQUESTS=2000`) overrides either. The
figures of the last full-size run are in docs/reliability.md."""

from __future__ import annotations

import os

FULL_SIZE = os.environ.get("CNH_FULL_SIZE", "").strip().lower() not in ("", "0", "false", "no")


def size(variable: str, *, ci: int, full: int) -> int:
    """The size named by `variable` if it is set, else the full or the CI default."""
    value = os.environ.get(variable, "").strip()
    if value:
        return int(value)
    return full if FULL_SIZE else ci
