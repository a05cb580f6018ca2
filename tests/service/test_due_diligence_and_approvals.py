"""Enhanced due diligence and the general approvals mechanism through the API (R12, R20, R40, R42):
high risk needs EDD recorded by a second compliance officer before any mint; a per-customer limit
change applies only once a different principal with a policy role approves; nobody counts twice."""

from __future__ import annotations

import threading
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

HIGH = {"decision": "approved", "risk": "high", "reference": "KYC-HIGH-1"}
LOW = {"decision": "approved", "risk": "low", "reference": "KYC-LOW-1"}


def _mint(client: TestClient, key: str, wallet: str, amount: str) -> Any:
    return client.post(
        "/v1/mints",
        json={"wallet": wallet, "amount": amount},
        headers=bearer(key, **{"Idempotency-Key": f"m-{wallet}-{amount}"}),
    )


def test_a_high_risk_customer_may_mint_only_after_a_second_compliance_officer_records_edd(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
) -> None:
    officer_a, officer_b, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer(name="Harbour Lights Trading Ltd")
    key = make_customer_key(customer["id"])
    wallet = add_active_wallet(app.state.sessionmaker, customer["id"])
    path = f"/v1/customers/{customer['id']}/due-diligence"
    assert client.post(f"/v1/customers/{customer['id']}/kyc", json=HIGH, headers=bearer(officer_a)).status_code == 200
    pending = client.get(path, headers=bearer(auditor)).json()
    assert (pending["enhanced_due_diligence"], pending["may_transact"]) == ("pending", False)
    refused = assert_problem(_mint(client, key, wallet, "10.00"), 422)
    assert (refused["reason_code"], refused["rule_id"]) == ("enhanced_due_diligence_pending", "R20")

    approve = f"/v1/approvals/{pending['edd_approval_id']}/approve"
    assert (
        assert_problem(client.post(approve, json={"reference": "EDD-1"}, headers=bearer(officer_a)), 403)["reason_code"]
        == "same_principal"
    )  # R40: the officer who approved KYC cannot also record EDD
    assert_problem(client.post(approve, json={}, headers=bearer(officer_b)), 422, field="body.reference")
    recorded = client.post(
        approve, json={"reference": "EDD-2026-0007", "note": "source of wealth verified"}, headers=bearer(officer_b)
    )
    assert recorded.status_code == 200, recorded.text
    done = client.get(path, headers=bearer(auditor)).json()
    assert (done["enhanced_due_diligence"], done["edd_reference"], done["may_transact"]) == (
        "completed",
        "EDD-2026-0007",
        True,
    )
    # EDD no longer stops the mint; the next rule does (no fiat deposited).
    assert assert_problem(_mint(client, key, wallet, "10.00"), 422)["reason_code"] == "insufficient_fiat"
    edd = [
        r for r in audit_actions(client, auditor, entity_id=customer["id"]) if r["action"] == "customer.edd_completed"
    ]
    assert len(edd) == 1 and edd[0]["data"]["kyc_approved_by"] != edd[0]["data"]["edd_recorded_by"]
    assert edd[0]["rule_ids"] == ["R20", "R40"]

    # Each high-risk approval needs its own EDD; a re-rating to low withdraws the pending request.
    assert client.post(f"/v1/customers/{customer['id']}/kyc", json=HIGH, headers=bearer(officer_b)).status_code == 200
    again = client.get(path, headers=bearer(auditor)).json()
    assert again["enhanced_due_diligence"] == "pending" and again["edd_approval_id"] != pending["edd_approval_id"]
    assert client.post(f"/v1/customers/{customer['id']}/kyc", json=LOW, headers=bearer(officer_a)).status_code == 200
    assert client.get(path, headers=bearer(auditor)).json()["enhanced_due_diligence"] == "not_required"
    assert (
        client.get(f"/v1/approvals/{again['edd_approval_id']}", headers=bearer(auditor)).json()["status"] == "cancelled"
    )


def test_the_officer_who_rated_a_customer_high_risk_cannot_lower_it_alone_while_edd_is_pending(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
) -> None:  # R20, R40
    """Re-rating to low cancels the pending EDD: done by the officer who rated high, it skipped the
    second officer R20 requires. Another officer may still re-rate; anyone may reject."""
    officer_a, officer_b, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer(name="Quayside Metals Ltd")
    key = make_customer_key(customer["id"])
    wallet = add_active_wallet(app.state.sessionmaker, customer["id"])
    kyc, path = f"/v1/customers/{customer['id']}/kyc", f"/v1/customers/{customer['id']}/due-diligence"
    assert client.post(kyc, json=HIGH, headers=bearer(officer_a)).status_code == 200
    edd = client.get(path, headers=bearer(auditor)).json()["edd_approval_id"]

    alone = assert_problem(client.post(kyc, json=LOW, headers=bearer(officer_a)), 403, field="body.risk")
    assert alone["reason_code"] == "same_principal" and "second compliance officer" in alone["detail"]
    after = client.get(path, headers=bearer(auditor)).json()
    assert (after["enhanced_due_diligence"], after["edd_approval_id"], after["may_transact"]) == ("pending", edd, False)
    assert assert_problem(_mint(client, key, wallet, "10.00"), 422)["reason_code"] == "enhanced_due_diligence_pending"

    rejected = {"decision": "rejected", "risk": "high", "reference": "KYC-EXIT-1"}
    assert client.post(kyc, json=rejected, headers=bearer(officer_a)).status_code == 200  # stricter: always allowed
    # Rejecting first and then approving at low risk is the same officer undoing their own rating.
    detour = assert_problem(client.post(kyc, json=LOW, headers=bearer(officer_a)), 403, field="body.risk")
    assert detour["reason_code"] == "same_principal"
    assert client.post(kyc, json=HIGH, headers=bearer(officer_a)).status_code == 200
    assert client.post(kyc, json=LOW, headers=bearer(officer_b)).status_code == 200  # a second officer concurs
    assert client.get(path, headers=bearer(auditor)).json()["enhanced_due_diligence"] == "not_required"
    assert client.post(kyc, json=LOW, headers=bearer(officer_a)).status_code == 200  # after B, A may re-decide


def test_an_officer_may_lower_their_own_high_rating_once_a_second_officer_recorded_the_edd(
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
) -> None:  # R20, R40
    officer_a, officer_b, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer(name="Harbour Metals Ltd")
    kyc, path = f"/v1/customers/{customer['id']}/kyc", f"/v1/customers/{customer['id']}/due-diligence"
    assert client.post(kyc, json=HIGH, headers=bearer(officer_a)).status_code == 200
    edd = client.get(path, headers=bearer(auditor)).json()["edd_approval_id"]
    recorded = client.post(
        f"/v1/approvals/{edd}/approve", json={"reference": "EDD-FILE-7"}, headers=bearer(officer_b)
    )
    assert recorded.status_code == 200, recorded.text
    assert client.post(kyc, json=LOW, headers=bearer(officer_a)).status_code == 200


def test_limits_approved_under_a_lower_risk_rating_do_not_survive_a_higher_one(
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
) -> None:  # R12, R20
    compliance, second, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer(name="Tidewater Ltd")
    kyc, limits = f"/v1/customers/{customer['id']}/kyc", f"/v1/customers/{customer['id']}/limits"
    assert client.post(kyc, json=LOW, headers=bearer(compliance)).status_code == 200
    raise_it = {"daily_mint_limit": "8000000.00", "reason": "verified monthly turnover of CNH 150m"}
    approved = client.post(limits, headers=bearer(operator_key), json=raise_it).json()
    decided = client.post(f"/v1/approvals/{approved['id']}/approve", json={}, headers=bearer(compliance))
    assert decided.status_code == 200
    waiting = client.post(limits, headers=bearer(operator_key), json={**raise_it, "daily_mint_limit": "9000000.00"})
    assert client.get(limits, headers=bearer(auditor)).json()["mint"]["source"] == "override"

    assert client.post(kyc, json=HIGH, headers=bearer(second)).status_code == 200
    after = client.get(limits, headers=bearer(auditor)).json()
    # hk: a high-risk customer may mint 200,000.00 a day; the override approved for "low" is gone.
    mint = after["mint"]
    assert (mint["limit"], mint["source"], after["pending_change_ids"]) == ("200000.00", "profile", [])
    assert client.get(f"/v1/approvals/{waiting.json()['id']}", headers=bearer(auditor)).json()["status"] == "cancelled"
    records = audit_actions(client, auditor, entity_id=customer["id"])
    reset = [r for r in records if r["action"] == "customer.limits_reset"]
    assert [r["data"]["daily_mint_limit_fen_before"] for r in reset] == [800_000_000]
    # Lowering the rating again does not bring the old override back.
    assert client.post(kyc, json=LOW, headers=bearer(compliance)).status_code == 200
    assert client.get(limits, headers=bearer(auditor)).json()["mint"]["source"] == "profile"


def test_a_limit_lowered_below_the_profile_s_still_binds_after_a_higher_risk_rating(
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
) -> None:  # R12, R20
    """A higher rating must never loosen a customer's limits: an override stricter than the new
    rating's profile limit stays; only the part above it goes."""
    compliance, second, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer(name="Lantern Quay Ltd")
    kyc, limits = f"/v1/customers/{customer['id']}/kyc", f"/v1/customers/{customer['id']}/limits"
    assert client.post(kyc, json=LOW, headers=bearer(compliance)).status_code == 200
    change = {"daily_mint_limit": "100.00", "daily_redeem_limit": "9000000.00", "reason": "unusual activity"}
    asked = client.post(limits, headers=bearer(operator_key), json=change).json()
    assert client.post(f"/v1/approvals/{asked['id']}/approve", json={}, headers=bearer(compliance)).status_code == 200

    assert client.post(kyc, json=HIGH, headers=bearer(second)).status_code == 200
    after = client.get(limits, headers=bearer(auditor)).json()
    # hk, high risk: 200,000.00 a day each; the 100.00 restriction is stricter and stays, the raise goes.
    assert (after["mint"]["limit"], after["mint"]["source"]) == ("100.00", "override")
    assert (after["redeem"]["limit"], after["redeem"]["source"]) == ("200000.00", "profile")
    records = audit_actions(client, auditor, entity_id=customer["id"])
    reset = [r["data"] for r in records if r["action"] == "customer.limits_reset"]
    assert [(r["daily_mint_limit_fen"], r["daily_redeem_limit_fen"]) for r in reset] == [(10_000, None)]


def test_limits_approved_before_the_first_risk_rating_do_not_survive_a_high_one(
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
) -> None:  # R12, R20
    """An unrated customer ranks below every rating: a raise approved before KYC was approved
    without knowing the risk, and must not carry a high-risk customer past the profile's limit."""
    compliance, second, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer(name="Seabird Freight Ltd")
    kyc, limits = f"/v1/customers/{customer['id']}/kyc", f"/v1/customers/{customer['id']}/limits"
    raise_it = {"daily_mint_limit": "8000000.00", "reason": "verified monthly turnover of CNH 150m"}
    asked = client.post(limits, headers=bearer(operator_key), json=raise_it).json()
    assert client.post(f"/v1/approvals/{asked['id']}/approve", json={}, headers=bearer(compliance)).status_code == 200
    waiting = client.post(limits, headers=bearer(operator_key), json={**raise_it, "daily_mint_limit": "9000000.00"})
    assert client.get(limits, headers=bearer(auditor)).json()["mint"]["source"] == "override"

    assert client.post(kyc, json=HIGH, headers=bearer(second)).status_code == 200
    after = client.get(limits, headers=bearer(auditor)).json()
    # hk: a high-risk customer may mint 200,000.00 a day.
    assert (after["mint"]["limit"], after["mint"]["source"], after["pending_change_ids"]) == (
        "200000.00",
        "profile",
        [],
    )
    assert client.get(f"/v1/approvals/{waiting.json()['id']}", headers=bearer(auditor)).json()["status"] == "cancelled"
    records = audit_actions(client, auditor, entity_id=customer["id"])
    reset = [r["data"] for r in records if r["action"] == "customer.limits_reset"]
    assert [(r["daily_mint_limit_fen_before"], r["why"]) for r in reset] == [(800_000_000, "first risk rating high")]


def test_a_limit_change_approved_while_a_higher_rating_is_decided_stays_approved_and_is_reset(
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # R12, R40, R50
    """The higher rating withdraws limit changes still pending. One whose approval commits while the
    rating is being decided was withdrawn over its approval: it read "cancelled" although it had
    been approved and applied, and the log said both. It stays approved; the reset undoes it."""
    compliance, second, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer(name="Saltmarsh Ltd")
    kyc, limits = f"/v1/customers/{customer['id']}/kyc", f"/v1/customers/{customer['id']}/limits"
    assert client.post(kyc, json=LOW, headers=bearer(compliance)).status_code == 200
    raise_it = {"daily_mint_limit": "8000000.00", "reason": "verified monthly turnover of CNH 150m"}
    asked = client.post(limits, headers=bearer(operator_key), json=raise_it).json()
    executor = approvals._EXECUTORS["limit.change"]
    rating: list[Any] = []

    def apply_while_rated(*args: Any) -> None:
        executor.on_approved(*args)
        rated = threading.Thread(target=lambda: rating.append(client.post(kyc, json=HIGH, headers=bearer(second))))
        rated.start()
        rated.join(1.0)  # the rating reads the change as pending and waits for this approval to commit
        rating.insert(0, rated)

    monkeypatch.setitem(approvals._EXECUTORS, "limit.change", replace(executor, on_approved=apply_while_rated))
    approved = client.post(f"/v1/approvals/{asked['id']}/approve", json={}, headers=bearer(compliance))
    assert approved.status_code == 200, approved.text
    rating[0].join(30)
    assert rating[1].status_code == 200, rating[1].text

    assert client.get(f"/v1/approvals/{asked['id']}", headers=bearer(auditor)).json()["status"] == "approved"
    after = client.get(limits, headers=bearer(auditor)).json()
    assert (after["mint"]["limit"], after["mint"]["source"]) == ("200000.00", "profile")
    actions = [r["action"] for r in audit_actions(client, auditor, entity_id=asked["id"])]
    assert "approval.cancelled" not in actions


def test_a_limit_change_applies_only_after_a_different_principal_with_a_policy_role_approves(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    operator_key: str,
) -> None:
    compliance, treasury, auditor = make_key("compliance"), make_key("treasury"), make_key("auditor")
    customer = make_customer()
    client.post(f"/v1/customers/{customer['id']}/kyc", json=LOW, headers=bearer(compliance))
    key = make_customer_key(customer["id"])
    wallet = add_active_wallet(app.state.sessionmaker, customer["id"])
    # hk: a low-risk customer may mint 5,000,000.00 a day.
    over = assert_problem(_mint(client, key, wallet, "6000000.00"), 422)
    assert (over["reason_code"], over["rule_id"]) == ("over_daily_limit", "R12")

    asked = client.post(
        f"/v1/customers/{customer['id']}/limits",
        headers=bearer(operator_key),
        json={"daily_mint_limit": "8000000.00", "reason": "verified monthly turnover of CNH 150m"},
    )
    assert asked.status_code == 202, asked.text
    change = asked.json()
    assert (change["action"], change["status"], change["payload"]["daily_mint_limit_fen"]) == (
        "limit.change",
        "pending",
        800_000_000,
    )
    limits = client.get(f"/v1/customers/{customer['id']}/limits", headers=bearer(auditor)).json()
    assert (limits["mint"]["limit"], limits["mint"]["source"], limits["pending_change_ids"]) == (
        "5000000.00",
        "profile",
        [change["id"]],
    )
    approve = f"/v1/approvals/{change['id']}/approve"
    assert (
        assert_problem(client.post(approve, json={}, headers=bearer(operator_key)), 403)["reason_code"]
        == "same_principal"
    )
    assert (
        assert_problem(client.post(approve, json={}, headers=bearer(treasury)), 403)["reason_code"]
        == "approver_role_not_allowed"
    )
    assert_problem(client.post(approve, json={}, headers=bearer(auditor)), 403)  # read-only (R42)
    assert assert_problem(_mint(client, key, wallet, "6000000.00"), 422)["reason_code"] == "over_daily_limit"

    approved = client.post(approve, json={"note": "turnover evidence on file"}, headers=bearer(compliance))
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")
    limits = client.get(f"/v1/customers/{customer['id']}/limits", headers=bearer(auditor)).json()
    assert (limits["mint"]["limit"], limits["mint"]["source"], limits["redeem"]["source"]) == (
        "8000000.00",
        "override",
        "profile",
    )
    assert assert_problem(_mint(client, key, wallet, "6000000.00"), 422)["reason_code"] == "insufficient_fiat"
    assert_problem(client.post(approve, json={}, headers=bearer(compliance)), 409)  # decided: nothing to approve
    changed = [
        r for r in audit_actions(client, auditor, entity_id=customer["id"]) if r["action"] == "customer.limits_changed"
    ]
    assert [(r["data"]["approval_id"], r["data"]["daily_mint_limit_fen"]) for r in changed] == [
        (change["id"], 800_000_000)
    ]
    policy = client.get("/v1/approvals/policy", headers=bearer(auditor)).json()["actions"]
    for action in (
        "mint.large",
        "seizure",
        "system.resume",
        "limit.change",
        "customer.edd",
        "reserve_asset.change",
        "role.change",
        "api_key.issue",
    ):
        assert policy[action]["approvals_required"] >= 1 and "auditor" not in policy[action]["approver_roles"]


@pytest.fixture
def two_approver_limit_changes(monkeypatch: pytest.MonkeyPatch) -> ApprovalPolicy:
    shipped = default_policy()
    rules = dict(shipped.rules)
    rules["limit.change"] = replace(rules["limit.change"], approvals_required=2)
    policy = ApprovalPolicy(version="test-two-approvers", rules=rules)
    monkeypatch.setattr(approvals, "policy", lambda: policy)
    return policy


def test_with_two_approvers_required_the_approval_of_a_key_revoked_since_no_longer_counts(
    client: TestClient,
    admin_key: str,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
    two_approver_limit_changes: ApprovalPolicy,
) -> None:  # R40: two live checkers, not one and a revoked (say, leaked) key
    first, second, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer()
    body = {"daily_mint_limit": "900000.00", "reason": "customer asked for a higher cap"}
    change = client.post(f"/v1/customers/{customer['id']}/limits", json=body, headers=bearer(operator_key)).json()
    approve = f"/v1/approvals/{change['id']}/approve"
    first_vote = client.post(approve, json={}, headers=bearer(first)).json()
    revoked_id = first_vote["approvals"][0]["approver_id"]
    assert client.delete(f"/v1/api-keys/{revoked_id}", headers=bearer(admin_key)).status_code == 200

    after = client.post(approve, json={}, headers=bearer(second)).json()
    assert after["status"] == "pending", after
    limits = client.get(f"/v1/customers/{customer['id']}/limits", headers=bearer(auditor)).json()
    assert limits["mint"]["source"] == "profile"
    done = client.post(approve, json={}, headers=bearer(make_key("admin"))).json()
    assert done["status"] == "approved", done


def test_with_two_approvers_required_the_approval_of_a_key_demoted_since_no_longer_counts(
    client: TestClient,
    admin_key: str,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
    two_approver_limit_changes: ApprovalPolicy,
) -> None:  # R40, R42: two checkers the policy lets approve, not one and a key moved to a read-only role
    first, second, auditor, second_admin = (
        make_key("compliance"),
        make_key("compliance"),
        make_key("auditor"),
        make_key("admin"),
    )
    customer = make_customer()
    body = {"daily_mint_limit": "900000.00", "reason": "customer asked for a higher cap"}
    change = client.post(f"/v1/customers/{customer['id']}/limits", json=body, headers=bearer(operator_key)).json()
    approve = f"/v1/approvals/{change['id']}/approve"
    first_vote = client.post(approve, json={}, headers=bearer(first)).json()
    demoted_id = first_vote["approvals"][0]["approver_id"]
    demotion = client.post(
        f"/v1/api-keys/{demoted_id}/role",
        json={"role": "auditor", "reason": "moved to internal audit"},
        headers=bearer(admin_key),
    ).json()
    demoted = client.post(f"/v1/approvals/{demotion['id']}/approve", json={}, headers=bearer(second_admin))
    assert demoted.status_code == 200, demoted.text

    after = client.post(approve, json={}, headers=bearer(second)).json()
    assert (after["status"], len(after["approvals"])) == ("pending", 2), after
    limits = client.get(f"/v1/customers/{customer['id']}/limits", headers=bearer(auditor)).json()
    assert limits["mint"]["source"] == "profile"
    done = client.post(approve, json={}, headers=bearer(second_admin)).json()
    assert done["status"] == "approved", done


def test_with_two_approvers_required_the_same_principal_never_counts_twice_and_rejection_applies_nothing(
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
    two_approver_limit_changes: ApprovalPolicy,
) -> None:
    first, second, auditor = make_key("compliance"), make_key("compliance"), make_key("auditor")
    customer = make_customer()
    body = {"daily_redeem_limit": "1.00", "reason": "customer asked for a lower cap"}
    change = client.post(f"/v1/customers/{customer['id']}/limits", json=body, headers=bearer(operator_key)).json()
    assert change["required_approvals"] == 2
    approve = f"/v1/approvals/{change['id']}/approve"
    assert client.post(approve, json={}, headers=bearer(first)).json()["status"] == "pending"  # 1 of 2
    assert (
        assert_problem(client.post(approve, json={}, headers=bearer(first)), 403)["reason_code"] == "already_approved"
    )
    done = client.post(approve, json={}, headers=bearer(make_key("admin"))).json()
    assert (done["status"], len(done["approvals"])) == ("approved", 2)
    assert (
        client.get(f"/v1/customers/{customer['id']}/limits", headers=bearer(auditor)).json()["redeem"]["limit"]
        == "1.00"
    )

    other = client.post(
        f"/v1/customers/{customer['id']}/limits",
        headers=bearer(operator_key),
        json={"daily_mint_limit": "9.00", "reason": "typo, will be rejected"},
    ).json()
    rejected = client.post(
        f"/v1/approvals/{other['id']}/reject", json={"note": "no evidence given"}, headers=bearer(second)
    )
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    withdrawn_change = client.post(
        f"/v1/customers/{customer['id']}/limits",
        headers=bearer(operator_key),
        json={"daily_mint_limit": "7.00", "reason": "asked in error"},
    ).json()
    withdrawn = client.post(
        f"/v1/approvals/{withdrawn_change['id']}/reject", json={"note": "asked in error"}, headers=bearer(operator_key)
    )
    assert withdrawn.json()["status"] == "cancelled"
    limits = client.get(f"/v1/customers/{customer['id']}/limits", headers=bearer(auditor)).json()
    assert (limits["mint"]["source"], limits["pending_change_ids"]) == ("profile", [])
    listed = client.get("/v1/approvals", params={"action": "limit.change"}, headers=bearer(auditor)).json()["items"]
    assert [a["status"] for a in listed] == ["approved", "rejected", "cancelled"]
