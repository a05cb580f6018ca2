"""Helpers shared by the compliance-layer service tests (R20-R25, R40)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from eth_utils.address import to_checksum_address
from sqlalchemy.orm import Session, sessionmaker

from issuer_service.clock import utc_now
from issuer_service.ids import new_id
from issuer_service.wallets.models import Wallet
from tests.service.service_helpers import ADMIN_KEY, bearer

T = TypeVar("T")


def staff_key(client: Any, role: str, label: str | None = None) -> str:
    response = client.post(
        "/v1/api-keys", json={"role": role, "label": label or f"compliance-tests {role}"}, headers=bearer(ADMIN_KEY)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def poll(read: Callable[[], T], done: Callable[[T], bool], *, timeout: float = 30.0, what: str = "condition") -> T:
    """Read until `done(value)`; fails with the last value after `timeout` seconds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last value: {value!r}")
        time.sleep(0.05)
        value = read()
    return value


def add_active_wallet(sessions: sessionmaker[Session], customer_id: str, address: str | None = None) -> str:
    """A wallet row as the allow-list confirmation leaves it, for tests that need no chain."""
    address = address or to_checksum_address("0x" + secrets.token_hex(20))
    with sessions.begin() as session:
        session.add(
            Wallet(
                id=new_id("wal"),
                customer_id=customer_id,
                address=address,
                kind="eoa",
                status="active",
                frozen=False,
                created_at=utc_now(),
                activated_at=utc_now(),
            )
        )
    return address


def audit_actions(client: Any, auditor: str, **filters: str) -> list[dict[str, Any]]:
    response = client.get("/v1/audit-log", params={"limit": 200, **filters}, headers=bearer(auditor))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])
