"""Every validation failure names the field, says how to fix it, and changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.service_helpers import assert_problem, bearer

BAD_AMOUNTS = ["1e3", "-5", "0", "0.00", "1.234", 1.5, 100, "", " 5", "abc", "+5", "1,000.00", None]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_deposit_amount_is_422_naming_amount_and_credits_nothing(
    client: TestClient,
    operator_key: str,
    make_customer: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
    amount: object,
) -> None:
    customer = make_customer()
    body = {"customer_id": customer["id"], "amount": amount, "currency": "CNH", "bank_reference": "REF-BAD"}
    response = client.post("/v1/deposits", json=body, headers=bearer(operator_key, **{"Idempotency-Key": "k1"}))
    problem = assert_problem(response, 422, field="body.amount")
    message = next(e["message"] for e in problem["errors"] if e["field"] == "body.amount")
    assert "amount" in message and "Value error" not in message
    balance = client.get(f"/v1/customers/{customer['id']}/balance", headers=bearer(operator_key)).json()
    assert balance == {"available": "0.00", "reserved": "0.00"}
    audit = client.get("/v1/audit-log", params={"action": "deposit.confirmed"}, headers=bearer(make_key("auditor")))
    assert audit.json()["items"] == []


def test_json_number_amount_is_refused_with_a_hint_to_send_a_string(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    body = {"customer_id": customer["id"], "amount": 1.5, "currency": "CNH", "bank_reference": "REF-F"}
    problem = assert_problem(
        client.post("/v1/deposits", json=body, headers=bearer(operator_key, **{"Idempotency-Key": "k"})), 422
    )
    assert 'JSON string such as "1250.50"' in problem["errors"][0]["message"]


def test_non_cnh_currency_is_422_naming_currency(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    body = {"customer_id": customer["id"], "amount": "10.00", "currency": "USD", "bank_reference": "REF-U"}
    response = client.post("/v1/deposits", json=body, headers=bearer(operator_key, **{"Idempotency-Key": "k"}))
    problem = assert_problem(response, 422, field="body.currency")
    assert "CNH" in problem["errors"][0]["message"]


def test_several_bad_fields_are_all_named(client: TestClient, operator_key: str) -> None:
    body = {"name": "", "kind": "company", "jurisdiction": "XX", "colour": "red"}
    problem = assert_problem(client.post("/v1/customers", json=body, headers=bearer(operator_key)), 422)
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {"body.name", "body.kind", "body.jurisdiction", "body.colour"}
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert "ISO 3166-1 alpha-2" in messages["body.jurisdiction"]
    assert "remove it" in messages["body.colour"]


def test_lower_case_jurisdiction_is_accepted_and_normalized(
    make_customer: Callable[..., dict[str, Any]],
) -> None:
    assert make_customer(jurisdiction="sg")["jurisdiction"] == "SG"


def test_a_too_short_text_is_refused_as_too_short_not_as_empty(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    too_short = {"daily_mint_limit": "100.00", "reason": "ok"}  # at least 3 characters
    response = client.post(f"/v1/customers/{customer['id']}/limits", json=too_short, headers=bearer(operator_key))
    problem = assert_problem(response, 422, field="body.reason")
    message = next(e["message"] for e in problem["errors"] if e["field"] == "body.reason")
    assert "at least 3 characters" in message and "empty" not in message, message
    empty = {"daily_mint_limit": "100.00", "reason": ""}
    response = client.post(f"/v1/customers/{customer['id']}/limits", json=empty, headers=bearer(operator_key))
    message = next(e["message"] for e in assert_problem(response, 422)["errors"] if e["field"] == "body.reason")
    assert "at least 3 characters" in message, message


def test_body_that_is_not_an_object_is_422_naming_body(client: TestClient, operator_key: str) -> None:
    response = client.post("/v1/customers", json=["not", "an", "object"], headers=bearer(operator_key))
    assert_problem(response, 422, field="body")


def test_bad_paging_parameters_are_named(client: TestClient, operator_key: str) -> None:
    assert_problem(client.get("/v1/customers?limit=0", headers=bearer(operator_key)), 422, field="query.limit")
    assert_problem(client.get("/v1/customers?limit=1000", headers=bearer(operator_key)), 422, field="query.limit")
    assert_problem(client.get("/v1/customers?cursor=%%%", headers=bearer(operator_key)), 422, field="query.cursor")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/customers", "\x00"),  # decodes, but no id holds a NUL (PostgreSQL could not even compare it)
        ("/v1/customers", "cus_" + "x" * 200),
        ("/v1/audit-log", "9999999999999999999"),  # beyond BIGINT
        ("/v1/audit-log", "\u0661\u0662"),  # Arabic-Indic digits pass str.isdigit()
    ],
)
def test_a_cursor_carrying_a_key_no_row_can_have_is_422_naming_the_cursor(
    client: TestClient, admin_key: str, operator_key: str, path: str, key: str
) -> None:
    cursor = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    staff_key = admin_key if path == "/v1/audit-log" else operator_key
    response = client.get(path, params={"cursor": cursor}, headers=bearer(staff_key))
    assert "previous page" in assert_problem(response, 422, field="query.cursor")["detail"]


def test_unknown_customer_in_deposit_is_422_naming_customer_id(client: TestClient, operator_key: str) -> None:
    body = {"customer_id": "cus_missing", "amount": "10.00", "currency": "CNH", "bank_reference": "REF-1"}
    response = client.post("/v1/deposits", json=body, headers=bearer(operator_key, **{"Idempotency-Key": "k"}))
    problem = assert_problem(response, 422, field="body.customer_id")
    assert "POST /v1/customers" in problem["detail"]
