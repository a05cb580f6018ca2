"""Helpers for the attestation and transparency tests."""

from __future__ import annotations

import time
from typing import Any

from tests.service.service_helpers import bearer

_CATCHING_UP = {"block_not_indexed", "ledger_catching_up"}


def attest(client: Any, auditor: str, block: int | None = None, timeout: float = 30.0) -> Any:
    """POST an attestation, polling while the indexer (a moment behind the chain) catches up."""
    body = {} if block is None else {"as_of_block": block}
    deadline = time.monotonic() + timeout
    while True:
        response = client.post("/v1/attestations", json=body, headers=bearer(auditor))
        caught_up = response.status_code != 409 or response.json().get("reason_code") not in _CATCHING_UP
        if caught_up or time.monotonic() > deadline:
            return response
        time.sleep(0.1)
