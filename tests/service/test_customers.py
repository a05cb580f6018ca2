"""Customers: onboarding, reading, paging and KYC decisions (R20)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.service.service_helpers import assert_problem, bearer


def test_new_customer_is_pending_kyc_and_active(client: TestClient, operator_key: str) -> None:
    body = {"name": "  Ada Lovelace ", "kind": "individual", "jurisdiction": "GB"}
    response = client.post("/v1/customers", json=body, headers=bearer(operator_key))
    assert response.status_code == 201
    customer = response.json()
    assert customer["id"].startswith("cus_")
    assert {k: customer[k] for k in ("name", "kind", "jurisdiction", "kyc_status", "risk", "status")} == {
        "name": "Ada Lovelace",
        "kind": "individual",
        "jurisdiction": "GB",
        "kyc_status": "pending",
        "risk": None,
        "status": "active",
    }
    assert client.get(f"/v1/customers/{customer['id']}", headers=bearer(operator_key)).json() == customer


def test_an_unknown_jurisdiction_is_refused_quoting_the_code_that_was_sent(
    client: TestClient, operator_key: str
) -> None:
    body = {"name": "Atlantis Holdings Ltd", "kind": "institution", "jurisdiction": "XX"}
    problem = assert_problem(client.post("/v1/customers", json=body, headers=bearer(operator_key)), 422)
    [error] = [error for error in problem["errors"] if error["field"] == "body.jurisdiction"]
    assert error["message"].startswith("'XX' is not an ISO 3166-1 alpha-2 country code"), error


def test_customers_list_pages_through_everything_once(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    created = [make_customer(name=f"Customer {i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/customers", params=params, headers=bearer(operator_key)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Ids sort by creation millisecond; within one millisecond their order is random.
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))


def test_kyc_approval_then_redecision_is_recorded_each_time(
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
) -> None:
    compliance, auditor = make_key("compliance"), make_key("auditor")
    customer = make_customer()
    approve = {"decision": "approved", "risk": "low", "reference": "KYC-1"}
    approved = client.post(f"/v1/customers/{customer['id']}/kyc", json=approve, headers=bearer(compliance))
    assert approved.status_code == 200
    assert (approved.json()["kyc_status"], approved.json()["risk"]) == ("approved", "low")
    reject = {"decision": "rejected", "risk": "high", "reference": "KYC-2"}
    rejected = client.post(f"/v1/customers/{customer['id']}/kyc", json=reject, headers=bearer(compliance)).json()
    assert (rejected["kyc_status"], rejected["risk"]) == ("rejected", "high")
    audit = client.get(
        "/v1/audit-log",
        params={"entity_type": "customer", "entity_id": customer["id"], "action": "customer.kyc_decided"},
        headers=bearer(auditor),
    ).json()["items"]
    assert [(r["data"]["decision"], r["data"]["previous_status"], r["rule_ids"]) for r in audit] == [
        ("approved", "pending", ["R20"]),
        ("rejected", "approved", ["R20"]),
    ]


def test_high_risk_approval_is_flagged_for_enhanced_due_diligence(
    client: TestClient, make_key: Callable[..., str], make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    body = {"decision": "approved", "risk": "high", "reference": "KYC-EDD"}
    decided = client.post(f"/v1/customers/{customer['id']}/kyc", json=body, headers=bearer(make_key("compliance")))
    assert decided.json()["kyc_status"] == "approved"
    record = client.get(
        "/v1/audit-log", params={"action": "customer.kyc_decided"}, headers=bearer(make_key("auditor"))
    ).json()["items"][0]
    assert record["data"]["enhanced_due_diligence_required"] is True


def test_only_compliance_decides_kyc(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    body = {"decision": "approved", "risk": "low", "reference": "KYC-1"}
    assert_problem(client.post(f"/v1/customers/{customer['id']}/kyc", json=body, headers=bearer(operator_key)), 403)


def test_kyc_for_unknown_customer_is_404(client: TestClient, make_key: Callable[..., str]) -> None:
    body = {"decision": "approved", "risk": "low", "reference": "KYC-1"}
    assert_problem(client.post("/v1/customers/cus_nope/kyc", json=body, headers=bearer(make_key("compliance"))), 404)
