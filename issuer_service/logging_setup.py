"""JSON log lines for the service process: one object per line, easy to ship and grep.

Only `__main__.serve` calls configure_logging; tests and embedding apps keep their own logging.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from issuer_service.clock import iso_utc, utc_now
from issuer_service.request_context import current_request_id

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged too.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "fields",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """`extra={"fields": {...}}` or plain `extra={...}` keys become members of the line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": iso_utc(utc_now()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        line.update(getattr(record, "fields", {}))
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours (and its format is not JSON).
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request with its full URL (a webhook URL's query may hold a token);
    # the webhook dispatcher logs each attempt itself, without the URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
