"""Large mints through the general approvals mechanism (R1, R10, R12, R40, R50), without a chain:
the policy's `mint.large` rule decides how many distinct approvers of which roles a mint at or
above the threshold needs, whether they approve at POST /v1/mints/{id}/approve or at
POST /v1/approvals/{id}/approve. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from compliance.approval_policy import ApprovalPolicy, default_policy
from issuer_service.approvals import service as approvals
from tests.service.compliance_helpers import add_active_wallet, audit_actions
from tests.service.service_helpers import assert_problem, bearer

LARGE = "1000000.00"  # hk: mint_approval_threshold_fen is 1,000,000.00 CNH
PolicySwap = Callable[..., ApprovalPolicy]


@pytest.fixture
def mint_policy(monkeypatch: pytest.MonkeyPatch) -> PolicySwap:
    """Swap the `mint.large` rule of the approval policy (as `two_approver_limit_changes` does)."""

    def swap(**changes: Any) -> ApprovalPolicy:
        rules = dict(default_policy().rules)
        rules["mint.large"] = replace(rules["mint.large"], **changes)
        policy = ApprovalPolicy(version="test-mint-large", rules=rules)
        monkeypatch.setattr(approvals, "policy", lambda: policy)
        return policy

    return swap


def _pending_large_mint(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    operator_key: str,
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A low-risk customer with 1,000,000.00 deposited asks to mint all of it; reserves of 20,000.00
    (approved by a second treasury key) cover the buffer. Returns the mint, the customer key and the
    buffer asset."""
    treasury, treasury2 = make_key("treasury"), make_key("treasury")
    capital = client.post(
        "/v1/reserves/assets",
        json={"kind": "cash", "custodian": "Bank A", "currency": "CNH", "nominal": "20000.00", "reference": "CAP-1"},
        headers=bearer(treasury),
    ).json()
    assert client.post(f"/v1/reserves/assets/{capital['id']}/approve", headers=bearer(treasury2)).status_code == 200
    customer = make_customer()
    kyc = {"decision": "approved", "risk": "low", "reference": "KYC-1"}
    assert client.post(
        f"/v1/customers/{customer['id']}/kyc", json=kyc, headers=bearer(make_key("compliance"))
    ).is_success
    deposit = {"customer_id": customer["id"], "amount": LARGE, "currency": "CNH", "bank_reference": "BANK-1"}
    deposited = client.post(
        "/v1/deposits", json=deposit, headers=bearer(operator_key, **{"Idempotency-Key": uuid.uuid4().hex})
    )
    assert deposited.status_code == 201, deposited.text
    key = make_customer_key(customer["id"])
    wallet = add_active_wallet(app.state.sessionmaker, customer["id"])
    accepted = client.post(
        "/v1/mints",
        json={"wallet": wallet, "amount": LARGE},
        headers=bearer(key, **{"Idempotency-Key": uuid.uuid4().hex}),
    )
    assert accepted.status_code == 202, accepted.text
    mint = dict(accepted.json())
    assert mint["status"] == "pending_approval"
    return mint, key, {**capital, "treasury": treasury, "treasury2": treasury2}


def _balance(client: TestClient, customer_id: str, key: str) -> tuple[str, str]:
    balance = client.get(f"/v1/customers/{customer_id}/balance", headers=bearer(key)).json()
    return balance["available"], balance["reserved"]


def _request_of(client: TestClient, auditor: str, mint_id: str) -> dict[str, Any]:
    listed = client.get("/v1/approvals", params={"action": "mint.large"}, headers=bearer(auditor)).json()["items"]
    (request,) = [a for a in listed if a["subject_id"] == mint_id]
    return dict(request)


def test_with_two_approvers_required_a_large_mint_waits_for_two_distinct_operators(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    operator_key: str,
    mint_policy: PolicySwap,
) -> None:  # R12, R40, R50
    mint_policy(approvals_required=2)
    mint, customer_key, _ = _pending_large_mint(app, client, make_key, make_customer, make_customer_key, operator_key)
    auditor, second_operator = make_key("auditor"), make_key("operator")
    request = _request_of(client, auditor, mint["id"])
    assert (request["required_approvals"], request["approver_roles"], request["status"]) == (2, ["operator"], "pending")
    approve = f"/v1/mints/{mint['id']}/approve"

    assert_problem(client.post(approve, headers=bearer(customer_key)), 403)  # the maker (R40, R42)
    assert_problem(client.post(approve, headers=bearer(make_key("compliance"))), 403)  # not a policy role
    first = client.post(approve, headers=bearer(operator_key))
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["approved_by"]) == ("pending_approval", None)  # 1 of 2
    assert _balance(client, mint["customer_id"], customer_key) == ("0.00", LARGE)  # still held (R10)
    again = assert_problem(client.post(approve, headers=bearer(operator_key)), 403)
    assert again["reason_code"] == "already_approved"
    via_approvals = client.post(f"/v1/approvals/{request['id']}/approve", json={}, headers=bearer(operator_key))
    assert assert_problem(via_approvals, 403)["reason_code"] == "already_approved"  # one count, whichever door

    second = client.post(approve, headers=bearer(second_operator))
    assert second.status_code == 200, second.text
    done = _request_of(client, auditor, mint["id"])
    assert (done["status"], len(done["approvals"])) == ("approved", 2)
    first_id, second_id = (v["approver_id"] for v in done["approvals"])
    assert first_id != second_id
    assert (second.json()["status"], second.json()["approved_by"]) == ("approved", second_id)
    votes = [r for r in audit_actions(client, auditor, entity_id=request["id"]) if r["action"] == "approval.approved"]
    assert [r["data"]["approvals"] for r in votes] == [1, 2]  # R50: a record per vote
    assert assert_problem(client.post(approve, headers=bearer(make_key("operator"))), 409)  # decided


def test_a_second_approval_re_checks_the_reserves_and_a_rejection_ends_the_mint_and_releases_the_fiat(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    operator_key: str,
    mint_policy: PolicySwap,
) -> None:  # R1, R10, R40
    mint_policy(approvals_required=2)
    mint, customer_key, capital = _pending_large_mint(
        app, client, make_key, make_customer, make_customer_key, operator_key
    )
    approve, second_operator = f"/v1/mints/{mint['id']}/approve", make_key("operator")
    assert client.post(approve, headers=bearer(operator_key)).json()["status"] == "pending_approval"
    written_down = client.post(
        f"/v1/reserves/assets/{capital['id']}/valuations",
        json={"market_value": "0.01", "reference": "CUSTODIAN-DEFAULT"},
        headers=bearer(capital["treasury"]),
    ).json()
    approved = client.post(
        f"/v1/reserves/valuations/{written_down['id']}/approve", headers=bearer(capital["treasury2"])
    )
    assert approved.status_code == 200, approved.text

    refused = assert_problem(client.post(approve, headers=bearer(second_operator)), 422)
    assert (refused["reason_code"], refused["rule_id"]) == ("reserve_insufficient", "R1")
    request = _request_of(client, make_key("auditor"), mint["id"])
    assert (request["status"], len(request["approvals"])) == ("pending", 1)  # the refused vote was not kept
    assert _balance(client, mint["customer_id"], customer_key) == ("0.00", LARGE)

    declined = client.post(f"/v1/mints/{mint['id']}/reject", headers=bearer(second_operator))
    assert declined.status_code == 200, declined.text
    assert (declined.json()["status"], declined.json()["reason_code"]) == ("rejected", "declined_by_approver")
    assert _request_of(client, make_key("auditor"), mint["id"])["status"] == "rejected"
    assert _balance(client, mint["customer_id"], customer_key) == (LARGE, "0.00")


def test_the_roles_the_policy_names_for_large_mints_are_the_ones_that_may_approve(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    operator_key: str,
    mint_policy: PolicySwap,
) -> None:  # R40, R42
    mint_policy(approver_roles=frozenset({"compliance"}))
    mint, _, _ = _pending_large_mint(app, client, make_key, make_customer, make_customer_key, operator_key)
    approve = f"/v1/mints/{mint['id']}/approve"
    refused = assert_problem(client.post(approve, headers=bearer(operator_key)), 403)
    assert "compliance" in refused["detail"]
    assert_problem(client.post(f"/v1/mints/{mint['id']}/reject", headers=bearer(operator_key)), 403)
    approved = client.post(approve, headers=bearer(make_key("compliance")))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


def test_a_pending_mint_is_not_approved_above_the_daily_limit_of_a_higher_risk_rating_given_since(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    operator_key: str,
) -> None:  # R12, R20, R40
    """Requested at low risk (5,000,000.00 a day), the mint waits for its approver; compliance then
    rates the customer high (200,000.00 a day) and a second officer records the EDD. The approval
    checks the day's limit again under the rating in force, as it checks KYC and reserves: the mint
    stays pending, its fiat reserved, and can be declined."""
    mint, customer_key, _ = _pending_large_mint(app, client, make_key, make_customer, make_customer_key, operator_key)
    officer, second_officer, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    high = {"decision": "approved", "risk": "high", "reference": "KYC-ADVERSE-MEDIA-1"}
    assert client.post(f"/v1/customers/{mint['customer_id']}/kyc", json=high, headers=bearer(officer)).is_success
    edd = client.get(f"/v1/customers/{mint['customer_id']}/due-diligence", headers=bearer(auditor)).json()
    recorded = client.post(
        f"/v1/approvals/{edd['edd_approval_id']}/approve", json={"reference": "EDD-7"}, headers=bearer(second_officer)
    )
    assert recorded.status_code == 200, recorded.text

    refused = assert_problem(client.post(f"/v1/mints/{mint['id']}/approve", headers=bearer(operator_key)), 422)
    assert (refused["reason_code"], refused["rule_id"]) == ("over_daily_limit", "R12")
    assert "200000.00" in refused["detail"] and "stays pending approval" in refused["detail"]
    assert client.get(f"/v1/mints/{mint['id']}", headers=bearer(customer_key)).json()["status"] == "pending_approval"
    assert _balance(client, mint["customer_id"], customer_key) == ("0.00", LARGE)
    declined = client.post(f"/v1/mints/{mint['id']}/reject", headers=bearer(operator_key))
    assert declined.status_code == 200, declined.text
    assert _balance(client, mint["customer_id"], customer_key) == (LARGE, "0.00")
