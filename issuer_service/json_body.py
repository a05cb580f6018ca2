"""What no JSON request body may hold, whatever the endpoint: a member name given twice, and
characters that are invisible or rewrite how text is shown.

- Integers of more than a thousand digits: Python will not convert them (or only slowly), so the
  body would fail to parse with no field named.
- Duplicate names: `{"amount": "1.00", "amount": "2.00"}` is a mint of 2.00 to Python's parser and
  of 1.00 to a proxy, log or signer that keeps the first; refusing it leaves one reading.
- Control characters (C0 and C1, except tab, line feed and carriage return), bidirectional
  formatting controls (e.g. U+202E, which shows "txt.exe" for "exe.txt"), invisible characters
  (zero-width space, soft hyphen, word joiner, byte order mark: "BANK-\u200bX" would otherwise be a
  second bank reference that looks like "BANK-X") and lone UTF-16 surrogates:
  none has a place in a reference, a reason or a party's name, NUL cannot be stored on PostgreSQL,
  and all of them travel into audit records, reports and screening.

Checked once for every body (`middleware.RequestBodyMiddleware`) so that no schema field can forget
it; the answer names the field like any validation error. Customer names are stricter still
(`customers/schemas.py`: any invisible or format character, mixed scripts).
"""

from __future__ import annotations

import json
import re
from typing import Any

from issuer_service.errors import FieldError

FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # control characters, but tab, LF and CR
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional formatting
    "\u00ad\u180e\u200b\u2060-\u2064\ufeff"  # invisible: soft hyphen, zero-width space, word joiner, BOM
    "\ud800-\udfff]"  # lone surrogates ("\ud800" in JSON): not text, and no database encodes them
)


class _Members(dict[str, Any]):
    """A JSON object that remembers which of its member names came more than once."""

    duplicates: list[str]


def _members(pairs: list[tuple[str, Any]]) -> _Members:
    members = _Members(pairs)
    members.duplicates = []
    if len(members) < len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                members.duplicates.append(name)
            seen.add(name)
    return members


class _LongNumber(str):
    """A JSON integer too long for Python to convert (over `sys.int_info.str_digits_check_threshold`
    digits): json.loads would fail and the endpoint answer "error parsing the body" without a field."""


def _integer(digits: str) -> int | _LongNumber:
    return _LongNumber(digits) if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS else int(digits)


MAX_INTEGER_DIGITS = 1000  # far beyond any amount (78 digits hold a uint256), far below Python's limit


def problems(body: bytes) -> list[FieldError]:
    """What is wrong with this body by the rules above; empty if nothing is, or if it is not JSON
    at all (the endpoint's own parsing answers that)."""
    try:
        document = json.loads(body, object_pairs_hook=_members, parse_int=_integer)
    except ValueError:  # not JSON, or not UTF-8
        return []
    found: list[FieldError] = []
    _walk(document, "body", found)
    return found


def _walk(value: Any, path: str, found: list[FieldError]) -> None:
    if isinstance(value, _LongNumber):
        digits = len(value.lstrip("-"))
        found.append(FieldError(path, f"a number of {digits} digits; no field takes more than {MAX_INTEGER_DIGITS}"))
    elif isinstance(value, str):
        _check_text(value, path, found)
    elif isinstance(value, _Members):
        for name in dict.fromkeys(value.duplicates):
            found.append(FieldError(f"{path}.{name}", f"`{name}` is given more than once; send each member once"))
        for name, member in value.items():
            _check_text(name, f"{path}.{name}", found, what="the member name")
            _walk(member, f"{path}.{name}", found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}.{index}", found)


def _check_text(text: str, path: str, found: list[FieldError], *, what: str = "the text") -> None:
    match = FORBIDDEN.search(text)
    if match is not None:
        found.append(
            FieldError(
                path,
                f"{what} contains U+{ord(match.group()):04X}, a control, text-direction, invisible or lone surrogate "
                "code point; "
                "remove it (tab, line feed and carriage return are allowed)",
            )
        )
