"""Sandbox bank deposits (R10) and the idempotency of money-moving POSTs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from issuer_service.app import create_app
from issuer_service.deposits.models import Deposit
from issuer_service.idempotency import IdempotencyRecord
from tests.service.service_helpers import ADMIN_KEY, assert_problem, bearer, make_settings


def _deposit(customer_id: str, amount: str = "1250.50", reference: str = "HKB-0001") -> dict[str, str]:
    return {"customer_id": customer_id, "amount": amount, "currency": "CNH", "bank_reference": reference}


def _post(client: TestClient, key: str, body: dict[str, str], idempotency_key: str) -> Any:
    return client.post("/v1/deposits", json=body, headers=bearer(key, **{"Idempotency-Key": idempotency_key}))


def test_deposit_is_confirmed_and_credits_available_balance(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    first = _post(client, operator_key, _deposit(customer["id"], "1250.50", "HKB-1"), "k-1")
    second = _post(client, operator_key, _deposit(customer["id"], "0.5", "HKB-2"), "k-2")
    assert first.status_code == second.status_code == 201
    deposit = first.json()
    assert deposit["id"].startswith("dep_")
    assert {k: deposit[k] for k in ("customer_id", "amount", "currency", "bank_reference", "status")} == {
        "customer_id": customer["id"],
        "amount": "1250.50",
        "currency": "CNH",
        "bank_reference": "HKB-1",
        "status": "confirmed",
    }
    assert second.json()["amount"] == "0.50"
    balance = client.get(f"/v1/customers/{customer['id']}/balance", headers=bearer(operator_key)).json()
    assert (balance["available"], balance["reserved"]) == ("1251.00", "0.00")


def test_a_deposit_that_would_overflow_the_customers_balance_is_refused_naming_the_amount(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]], db_engine: Engine
) -> None:
    """Ten deposits of the largest amount one deposit allows reach the most a balance holds
    (MAX_BALANCE_FEN, far below the 64-bit columns' limit); the eleventh is the client's to fix."""
    customer = make_customer()
    largest = "1000000000000000.00"  # MAX_AMOUNT_FEN
    for i in range(10):
        assert _post(client, operator_key, _deposit(customer["id"], largest, f"BIG-{i}"), f"big-{i}").status_code == 201
    refused = _post(client, operator_key, _deposit(customer["id"], "0.01", "BIG-10"), "big-10")
    problem = assert_problem(refused, 422, field="body.amount")
    assert "deposit less" in problem["detail"]
    balance = client.get(f"/v1/customers/{customer['id']}/balance", headers=bearer(operator_key)).json()
    assert balance["available"] == "10000000000000000.00"
    with db_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Deposit)).scalar_one() == 10


def test_same_idempotency_key_and_body_replays_the_original_response(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    body = _deposit(customer["id"])
    first = _post(client, operator_key, body, "retry-me")
    again = _post(client, operator_key, body, "retry-me")
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    balance = client.get(f"/v1/customers/{customer['id']}/balance", headers=bearer(operator_key)).json()
    assert balance["available"] == "1250.50"


def test_equivalent_amount_spelling_is_the_same_request(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    first = _post(client, operator_key, _deposit(customer["id"], "5"), "k")
    again = _post(client, operator_key, _deposit(customer["id"], "5.00"), "k")
    assert again.content == first.content


def test_same_idempotency_key_with_another_body_is_409_naming_the_header(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    assert _post(client, operator_key, _deposit(customer["id"], "10.00"), "k").status_code == 201
    problem = assert_problem(
        _post(client, operator_key, _deposit(customer["id"], "99.00"), "k"), 409, field="header.Idempotency-Key"
    )
    assert "Idempotency-Key" in problem["detail"]
    balance = client.get(f"/v1/customers/{customer['id']}/balance", headers=bearer(operator_key)).json()
    assert balance["available"] == "10.00"


def test_idempotency_keys_are_scoped_to_the_caller(
    client: TestClient, make_key: Callable[..., str], make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    alice, bob = make_key("operator", "alice"), make_key("operator", "bob")
    assert _post(client, alice, _deposit(customer["id"], "1.00", "A"), "shared").status_code == 201
    assert _post(client, bob, _deposit(customer["id"], "2.00", "B"), "shared").status_code == 201


def test_missing_or_malformed_idempotency_key_is_422_naming_the_header(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    body = _deposit(make_customer()["id"])
    missing = client.post("/v1/deposits", json=body, headers=bearer(operator_key))
    assert_problem(missing, 422, field="header.Idempotency-Key")
    for bad in (b"x" * 256, b"tab\there", "caf\u00e9".encode()):
        response = client.post("/v1/deposits", json=body, headers={**bearer(operator_key), "Idempotency-Key": bad})
        assert_problem(response, 422, field="header.Idempotency-Key")
    assert (
        client.get(f"/v1/customers/{body['customer_id']}/balance", headers=bearer(operator_key)).json()["available"]
        == "0.00"
    )


def test_failed_request_does_not_burn_its_idempotency_key(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    _post(client, operator_key, _deposit(customer["id"], "1.00", "DUP"), "first")
    assert_problem(_post(client, operator_key, _deposit(customer["id"], "1.00", "DUP"), "second"), 409)
    retried = _post(client, operator_key, _deposit(customer["id"], "1.00", "NEW"), "second")
    assert retried.status_code == 201


def test_only_operators_record_deposits(
    client: TestClient, make_key: Callable[..., str], make_customer: Callable[..., dict[str, Any]]
) -> None:
    body = _deposit(make_customer()["id"])
    assert_problem(_post(client, make_key("treasury"), body, "k"), 403)


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def _setup(client: TestClient) -> tuple[str, str]:
    operator = client.post("/v1/api-keys", json={"role": "operator", "label": "o"}, headers=bearer(ADMIN_KEY)).json()
    customer = client.post(
        "/v1/customers", json={"name": "C", "kind": "individual", "jurisdiction": "HK"}, headers=bearer(operator["key"])
    ).json()
    return operator["key"], customer["id"]


def _race(workers: int, send: Callable[[int], Any]) -> list[Any]:
    """Run `send(i)` in `workers` threads released at the same instant."""
    barrier = threading.Barrier(workers)

    def run(i: int) -> Any:
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(workers)))


def test_concurrent_requests_with_one_idempotency_key_create_one_deposit(pg_database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(pg_database_url, tmp_path))
    with TestClient(app) as client:
        operator, customer_id = _setup(client)
        responses = _race(8, lambda _: _post(client, operator, _deposit(customer_id), "same-key"))
        balance = client.get(f"/v1/customers/{customer_id}/balance", headers=bearer(operator)).json()
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert balance["available"] == "1250.50"
    assert _count(app.state.engine, Deposit) == 1
    assert _count(app.state.engine, IdempotencyRecord) == 1


def test_concurrent_deposits_with_one_bank_reference_credit_once(pg_database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(pg_database_url, tmp_path))
    with TestClient(app) as client:
        operator, customer_id = _setup(client)
        responses = _race(6, lambda i: _post(client, operator, _deposit(customer_id, "7.00", "ONE-REF"), f"key-{i}"))
        balance = client.get(f"/v1/customers/{customer_id}/balance", headers=bearer(operator)).json()
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert balance["available"] == "7.00"


def test_one_bank_transfer_is_never_credited_to_two_customers(pg_database_url: str, tmp_path: Path) -> None:  # R10
    """The same bank reference for different customers, however it is cased, at the same instant:
    one deposit, the others refused naming the reference."""
    app = create_app(make_settings(pg_database_url, tmp_path))
    with TestClient(app) as client:
        operator, first = _setup(client)
        others = [_setup(client)[1] for _ in range(3)]
        customers = [first, *others]
        references = ["BANK-TX-9", "bank-tx-9", "Bank-Tx-9", "BANK-TX-9"]
        responses = _race(
            4, lambda i: _post(client, operator, _deposit(customers[i], "7.00", references[i]), f"key-{i}")
        )
        balances = [
            client.get(f"/v1/customers/{c}/balance", headers=bearer(operator)).json()["available"] for c in customers
        ]
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    refused = [r for r in responses if r.status_code == 409]
    assert all(assert_problem(r, 409, field="body.bank_reference") for r in refused)
    assert sorted(balances) == ["0.00", "0.00", "0.00", "7.00"]
    assert _count(app.state.engine, Deposit) == 1
