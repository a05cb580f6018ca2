"""Fiat account movements the mint flow uses: reserve, release, settle (R10), under a row lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from issuer_service.errors import RuleRejected
from issuer_service.fiat_accounts import service as fiat_accounts
from tests.service.service_helpers import bearer


@pytest.fixture
def funded_customer(client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]) -> str:
    customer_id: str = make_customer()["id"]
    body = {"customer_id": customer_id, "amount": "100.00", "currency": "CNH", "bank_reference": "F-1"}
    client.post("/v1/deposits", json=body, headers=bearer(operator_key, **{"Idempotency-Key": "fund"}))
    return customer_id


@pytest.fixture
def session(client: TestClient) -> Iterator[Session]:
    with client.app.state.sessionmaker.begin() as session:  # type: ignore[attr-defined]
        yield session


def _balance(session: Session, customer_id: str) -> tuple[int, int]:
    account = fiat_accounts.lock_account(session, customer_id)
    return account.available_fen, account.reserved_fen


def test_reserve_moves_available_to_reserved_and_release_moves_it_back(session: Session, funded_customer: str) -> None:
    fiat_accounts.reserve(session, funded_customer, 4000)
    assert _balance(session, funded_customer) == (6000, 4000)
    fiat_accounts.release(session, funded_customer, 4000)
    assert _balance(session, funded_customer) == (10000, 0)


def test_settle_consumes_the_reservation(session: Session, funded_customer: str) -> None:
    fiat_accounts.reserve(session, funded_customer, 2500)
    fiat_accounts.settle_reserved(session, funded_customer, 2500)
    assert _balance(session, funded_customer) == (7500, 0)


def test_reserving_more_than_available_is_rejected_with_r10(session: Session, funded_customer: str) -> None:
    with pytest.raises(RuleRejected) as rejected:
        fiat_accounts.reserve(session, funded_customer, 10001)
    assert (rejected.value.reason_code, rejected.value.rule_id) == ("insufficient_fiat", "R10")
    assert _balance(session, funded_customer) == (10000, 0)


def test_releasing_more_than_reserved_is_a_bug_and_raises(session: Session, funded_customer: str) -> None:
    with pytest.raises(RuntimeError, match="reserved"):
        fiat_accounts.release(session, funded_customer, 1)


def test_non_positive_or_non_int_amounts_are_refused(session: Session, funded_customer: str) -> None:
    for amount in (0, -1, True):
        with pytest.raises(ValueError):
            fiat_accounts.credit(session, funded_customer, amount)
