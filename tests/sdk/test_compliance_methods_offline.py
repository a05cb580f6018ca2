"""The compliance-layer SDK methods against a scripted server (httpx.MockTransport): approvals,
due diligence and limits, screening, freeze and seizure, travel rule, the compliance report and
the public pages. Each sends the method, path, query, body and headers the API expects and parses
the answer into its model, in the sync and the async client alike; and every operation of the API
has an SDK method."""

from __future__ import annotations

import ast
import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from cnh_sdk import (
    Approval,
    ApprovalPolicy,
    AsyncClient,
    Client,
    ComplianceReport,
    CustomerLimits,
    DueDiligence,
    ListedParty,
    Page,
    Redemption,
    RescreenResult,
    ScreeningCase,
    ScreeningList,
    ScreeningListLoaded,
    Seizure,
    TravelRuleParty,
    TravelRuleRecord,
    TravelRuleRequirements,
    WaitTimeout,
    WalletEnforcement,
)
from cnh_sdk._unasync import SOURCE

WALLET = "0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"
RECOVERY = "0x9d3D7d7C5e5a4e3F2b1A0f9E8d7C6b5A4f3E2d1C"
TX = "0x" + "ab" * 32
WHEN = "2026-01-05T08:00:00Z"

APPROVAL: dict[str, Any] = {
    "id": "apq_1",
    "action": "limit.change",
    "subject_type": "customer",
    "subject_id": "cus_1",
    "summary": "daily mint limit of cus_1: 50000.00 -> 5000000.00",
    "payload": {"daily_mint_limit_fen": 500000000},
    "status": "pending",
    "required_approvals": 1,
    "approver_roles": ["compliance", "admin"],
    "requested_by": "key_ops",
    "requester_role": "operator",
    "approvals": [],
    "rule_ids": ["R12", "R40"],
    "created_at": WHEN,
    "decided_by": None,
    "decided_at": None,
    "decision_note": None,
}
REJECTED = {**APPROVAL, "status": "rejected", "decided_by": "key_cmp", "decided_at": WHEN, "decision_note": "no"}
POLICY = {
    "version": "2026-01",
    "actions": {
        "seizure": {
            "description": "Burn a frozen wallet's balance and re-mint it",
            "requester_roles": ["compliance"],
            "approver_roles": ["compliance", "admin"],
            "approvals_required": 1,
            "reference_required": False,
            "rule_ids": ["R24", "R40"],
        }
    },
}
DUE_DILIGENCE: dict[str, Any] = {
    "customer_id": "cus_1",
    "kyc_status": "approved",
    "risk": "high",
    "status": "active",
    "enhanced_due_diligence": "pending",
    "edd_approval_id": "apq_2",
    "edd_reference": None,
    "unresolved_screening_cases": [],
    "may_transact": False,
}
LIMITS = {
    "customer_id": "cus_1",
    "risk": "low",
    "profile": "hk",
    "mint": {"limit": "50000.00", "source": "profile", "used_today": "1250.50"},
    "redeem": {"limit": "50000.00", "source": "override", "used_today": "0.00"},
    "pending_change_ids": ["apq_1"],
}
ENTRY: dict[str, Any] = {
    "id": "SBX-0001",
    "name": "Vexmoor Arms Brokerage Ltd",
    "aliases": ["Vexmoor Armaments"],
    "addresses": ["0x5abd00000000000000000000000000000000bad1"],
    "program": "SANDBOX-FICTIONAL-ARMS",
}
SCREENING_LIST = {
    "version": "sandbox-2026-02",
    "source": "CNH sandbox fictional screening list",
    "sha256": "90" * 32,
    "shipped": False,
    "loaded_by": "key_cmp",
    "loaded_at": WHEN,
    "name_match_threshold": 85,
    "entries": [ENTRY],
}
RESCREEN = {
    "list_version": "sandbox-2026-02",
    "customers_screened": 12,
    "wallets_screened": 15,
    "cases_opened": ["scr_1"],
    "customers_blocked": ["cus_1"],
    "wallets_frozen": [WALLET],
}
CASE = {
    "id": "scr_1",
    "subject_type": "customer",
    "subject_id": "cus_1",
    "customer_id": "cus_1",
    "screened_value": "Vexmore Arms Brokerage",
    "list_version": "sandbox-2026-02",
    "entry_id": "SBX-0001",
    "entry_name": "Vexmoor Arms Brokerage Ltd",
    "match_kind": "name",
    "matched_value": "Vexmoor Arms Brokerage Ltd",
    "score": 95,
    "status": "open",
    "opened_by": "key_ops",
    "opened_at": WHEN,
    "decided_by": None,
    "decided_at": None,
    "decision_note": None,
}
ENFORCEMENT = {
    "wallet": WALLET,
    "customer_id": "cus_1",
    "frozen": False,
    "chain_target": "frozen",
    "holds": [
        {
            "id": "frz_1",
            "reason": "suspected account takeover",
            "legal_basis": "HKMA direction ref. SBX-2026-001",
            "case_id": None,
            "requested_by": "key_cmp",
            "created_at": WHEN,
            "lifted_by": None,
            "lifted_at": None,
            "lift_reason": None,
        }
    ],
}
SEIZURE = {
    "id": "szr_1",
    "wallet": WALLET,
    "recovery_wallet": RECOVERY,
    "amount": "100.00",
    "legal_basis": "Court of First Instance order HCMP 1234/2026",
    "case_reference": "CASE-2026-0042",
    "chain_case_id": "0x" + "cd" * 32,
    "status": "pending_approval",
    "reason": None,
    "requested_by": "key_cmp",
    "approval_id": "apq_3",
    "approved_by": None,
    "burn_tx_hash": None,
    "remint_tx_hash": None,
    "audit_ref": None,
    "created_at": WHEN,
    "updated_at": WHEN,
    "completed_at": None,
}
PARTY = {"name": "Lotus Trading Ltd", "account": WALLET, "address": None, "id_number": "LEI 5493001KJTIIGC8Y1R12"}
RECORD = {
    "id": "trr_1",
    "kind": "transfer",
    "subject_id": None,
    "tx_hash": TX,
    "amount": "8000.00",
    "originator": PARTY,
    "beneficiary": {**PARTY, "account": RECOVERY},
    "full_data_required": True,
    "complete": True,
    "created_by": "key_cus",
    "created_at": WHEN,
}
REQUIREMENTS = {
    "amount": "8000.00",
    "profile": "hk",
    "threshold": "7300.00",
    "full_data_required": True,
    "required_fields": ["travel_rule.originator.name", "travel_rule.beneficiary.name"],
}
REPORT = {
    "banner": "SANDBOX — NOT A LICENSED STABLECOIN",
    "generated_at": WHEN,
    "profile": "hk",
    "redemption_sla": {
        "deadline_business_days": 1,
        "paid": 10,
        "paid_on_time": 9,
        "paid_late": [
            {
                "redemption_id": "red_1",
                "customer_id": "cus_1",
                "amount": "100.00",
                "status": "paid",
                "deadline_at": WHEN,
                "paid_at": WHEN,
                "late_by_seconds": 3600,
            }
        ],
        "overdue": [],
        "fee_disclosure": "GET /v1/redemptions/quote before the request; fee on every receipt",
        "holiday_calendar": "hk",
        "holiday_years": [2025, 2026, 2027],
        "calendar_warnings": [],
    },
    "attestation": {"cadence": "daily", "last_attested_at": None, "next_due_at": None, "overdue": True},
    "travel_rule": {
        "threshold": "7300.00",
        "record_window_seconds": 86400,
        "transfers_at_or_above_threshold": 3,
        "recorded": 2,
        "awaiting_record": 0,
        "flagged": [
            {
                "tx_hash": TX,
                "block_number": 120,
                "from_address": WALLET,
                "to_address": RECOVERY,
                "amount": "8000.000000",
                "observed_at": WHEN,
                "problem": "missing",
                "recorded_at": None,
            }
        ],
    },
    "screening": {"list_version": "sandbox-2026-02", "cases": {"open": 1}, "blocked_customers": ["cus_1"]},
    "enforcement": {
        "frozen_wallets": [{"wallet": WALLET, "customer_id": "cus_1", "frozen_on_chain": True, "holds": 1}],
        "seizures": [
            {"id": "szr_1", "wallet": WALLET, "amount": "100.00", "status": "completed", "legal_basis": "HCMP 1"}
        ],
    },
    "pending_approvals": {"seizure": 1},
}

PERMIT = {"deadline": 1_800_000_000, "v": 27, "r": "0x" + "11" * 32, "s": "0x" + "22" * 32}
REDEMPTION = {
    "id": "red_1",
    "customer_id": "cus_1",
    "wallet": WALLET,
    "amount": "8000.00",
    "fee": "0.00",
    "payout": "8000.00",
    "status": "requested",
    "chain_request_id": "0x" + "ef" * 32,
    "deadline_at": WHEN,
    "created_at": WHEN,
    "updated_at": WHEN,
}


def page(*items: dict[str, Any], next_cursor: str | None = None) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": next_cursor}


@dataclass
class Case:
    """One SDK call and the request it must make; the server answers `status` with `answer`."""

    call: Callable[[Any], Any]
    method: str
    path: str
    answer: dict[str, Any] | str
    shape: Any
    body: object = None
    params: dict[str, str] = field(default_factory=dict)
    status: int = 200
    idempotent: bool = False
    check: Callable[[Any], bool] = lambda _: True


CASES: dict[str, Case] = {
    "list_approvals": Case(
        lambda c: c.list_approvals(status="pending", action="limit.change", limit=5, cursor="c1"),
        "GET",
        "/v1/approvals",
        page(APPROVAL, next_cursor="c2"),
        Page[Approval],
        params={"status": "pending", "action": "limit.change", "limit": "5", "cursor": "c1"},
        check=lambda p: p.next_cursor == "c2" and p.items[0].approver_roles == ["compliance", "admin"],
    ),
    "approval_policy": Case(
        lambda c: c.approval_policy(),
        "GET",
        "/v1/approvals/policy",
        POLICY,
        ApprovalPolicy,
        check=lambda p: p.actions["seizure"].approvals_required == 1 and p.version == "2026-01",
    ),
    "reject_request": Case(
        lambda c: c.reject_request("apq_1", "legal basis does not cover this wallet"),
        "POST",
        "/v1/approvals/apq_1/reject",
        REJECTED,
        Approval,
        body={"note": "legal basis does not cover this wallet"},
        check=lambda a: a.status == "rejected" and a.decision_note == "no",
    ),
    "get_due_diligence": Case(
        lambda c: c.get_due_diligence("cus_1"),
        "GET",
        "/v1/customers/cus_1/due-diligence",
        DUE_DILIGENCE,
        DueDiligence,
        check=lambda d: (d.enhanced_due_diligence, d.edd_approval_id, d.may_transact) == ("pending", "apq_2", False),
    ),
    "get_limits": Case(
        lambda c: c.get_limits("cus_1"),
        "GET",
        "/v1/customers/cus_1/limits",
        LIMITS,
        CustomerLimits,
        check=lambda lim: (lim.mint.used_today, lim.redeem.source) == ("1250.50", "override"),
    ),
    "request_limit_change": Case(
        lambda c: c.request_limit_change("cus_1", "verified turnover", daily_mint_limit=Decimal("5000000.00")),
        "POST",
        "/v1/customers/cus_1/limits",
        APPROVAL,
        Approval,
        status=202,
        body={"reason": "verified turnover", "daily_mint_limit": "5000000.00"},
        check=lambda a: a.id == "apq_1" and a.status == "pending",
    ),
    "get_screening_list": Case(
        lambda c: c.get_screening_list(),
        "GET",
        "/v1/screening/list",
        SCREENING_LIST,
        ScreeningList,
        check=lambda s: s.entries[0].aliases == ["Vexmoor Armaments"] and not s.shipped,
    ),
    "load_screening_list": Case(
        lambda c: c.load_screening_list(
            "sandbox-2026-02",
            [ListedParty(**ENTRY), {"id": "SBX-0101", "name": "Ysolde Farthingale", "note": "fictional"}],
            source="CNH sandbox fictional screening list",
        ),
        "PUT",
        "/v1/screening/list",
        {"list": SCREENING_LIST, "rescreen": RESCREEN},
        ScreeningListLoaded,
        body={
            "version": "sandbox-2026-02",
            "entries": [ENTRY, {"id": "SBX-0101", "name": "Ysolde Farthingale", "note": "fictional"}],
            "source": "CNH sandbox fictional screening list",
        },
        check=lambda loaded: loaded.rescreen.wallets_frozen == [WALLET] and loaded.list.version == "sandbox-2026-02",
    ),
    "rescreen": Case(
        lambda c: c.rescreen(),
        "POST",
        "/v1/screening/rescreen",
        RESCREEN,
        RescreenResult,
        check=lambda r: r.cases_opened == ["scr_1"],
    ),
    "list_screening_cases": Case(
        lambda c: c.list_screening_cases(status="open", customer_id="cus_1"),
        "GET",
        "/v1/screening/cases",
        page(CASE),
        Page[ScreeningCase],
        params={"status": "open", "customer_id": "cus_1"},
        check=lambda p: p.items[0].score == 95 and p.next_cursor is None,
    ),
    "get_screening_case": Case(
        lambda c: c.get_screening_case("scr_1"),
        "GET",
        "/v1/screening/cases/scr_1",
        CASE,
        ScreeningCase,
        check=lambda s: s.match_kind == "name",
    ),
    "clear_screening_case": Case(
        lambda c: c.clear_screening_case("scr_1", "a different firm"),
        "POST",
        "/v1/screening/cases/scr_1/clear",
        {**CASE, "status": "cleared", "decision_note": "a different firm"},
        ScreeningCase,
        body={"note": "a different firm"},
        check=lambda s: s.status == "cleared",
    ),
    "confirm_screening_case": Case(
        lambda c: c.confirm_screening_case("scr_1", "the listed party"),
        "POST",
        "/v1/screening/cases/scr_1/confirm",
        {**CASE, "status": "confirmed"},
        ScreeningCase,
        body={"note": "the listed party"},
        check=lambda s: s.status == "confirmed",
    ),
    "freeze_wallet": Case(
        lambda c: c.freeze_wallet(WALLET, "suspected account takeover", legal_basis="HKMA direction SBX-2026-001"),
        "POST",
        f"/v1/wallets/{WALLET}/freeze",
        ENFORCEMENT,
        WalletEnforcement,
        status=202,
        body={"reason": "suspected account takeover", "legal_basis": "HKMA direction SBX-2026-001"},
        check=lambda e: e.chain_target == "frozen" and e.holds[0].id == "frz_1",
    ),
    "unfreeze_wallet": Case(
        lambda c: c.unfreeze_wallet(WALLET, "identity re-verified"),
        "POST",
        f"/v1/wallets/{WALLET}/unfreeze",
        {**ENFORCEMENT, "frozen": True, "chain_target": "unfrozen"},
        WalletEnforcement,
        status=202,
        body={"reason": "identity re-verified"},
        check=lambda e: (e.frozen, e.chain_target) == (True, "unfrozen"),
    ),
    "get_wallet_freezes": Case(
        lambda c: c.get_wallet_freezes(WALLET),
        "GET",
        f"/v1/wallets/{WALLET}/freezes",
        ENFORCEMENT,
        WalletEnforcement,
        check=lambda e: e.holds[0].legal_basis == "HKMA direction ref. SBX-2026-001",
    ),
    "request_seizure": Case(
        lambda c: c.request_seizure(WALLET, RECOVERY, "HCMP 1234/2026 (sandbox)", "CASE-2026-0042", amount="100.00"),
        "POST",
        "/v1/seizures",
        SEIZURE,
        Seizure,
        status=202,
        idempotent=True,
        body={
            "wallet": WALLET,
            "recovery_wallet": RECOVERY,
            "legal_basis": "HCMP 1234/2026 (sandbox)",
            "case_reference": "CASE-2026-0042",
            "amount": "100.00",
        },
        check=lambda s: (s.status, s.amount, s.approval_id) == ("pending_approval", "100.00", "apq_3"),
    ),
    "get_seizure": Case(
        lambda c: c.get_seizure("szr_1"),
        "GET",
        "/v1/seizures/szr_1",
        SEIZURE,
        Seizure,
        check=lambda s: s.chain_case_id == "0x" + "cd" * 32,
    ),
    "list_seizures": Case(
        lambda c: c.list_seizures(limit=1),
        "GET",
        "/v1/seizures",
        page(SEIZURE),
        Page[Seizure],
        params={"limit": "1"},
        check=lambda p: [s.id for s in p.items] == ["szr_1"],
    ),
    "travel_rule_requirements": Case(
        lambda c: c.travel_rule_requirements(Decimal("8000")),
        "GET",
        "/v1/travel-rule/requirements",
        REQUIREMENTS,
        TravelRuleRequirements,
        params={"amount": "8000"},
        check=lambda r: r.full_data_required and r.threshold == "7300.00",
    ),
    "create_travel_rule_record": Case(
        lambda c: c.create_travel_rule_record(
            TX,
            TravelRuleParty(name="Lotus Trading Ltd", account=WALLET, id_number="LEI 5493001KJTIIGC8Y1R12"),
            {"name": "Lotus Trading Ltd", "account": RECOVERY, "address": None, "id_number": "LEI 54930"},
        ),
        "POST",
        "/v1/travel-rule/records",
        RECORD,
        TravelRuleRecord,
        status=201,
        body={
            "tx_hash": TX,
            "originator": {"name": "Lotus Trading Ltd", "account": WALLET, "id_number": "LEI 5493001KJTIIGC8Y1R12"},
            "beneficiary": {"name": "Lotus Trading Ltd", "account": RECOVERY, "id_number": "LEI 54930"},
        },
        check=lambda r: r.complete and r.beneficiary.account == RECOVERY and r.amount == "8000.00",
    ),
    "list_travel_rule_records": Case(
        lambda c: c.list_travel_rule_records(tx_hash=TX, kind="transfer"),
        "GET",
        "/v1/travel-rule/records",
        page(RECORD),
        Page[TravelRuleRecord],
        params={"tx_hash": TX, "kind": "transfer"},
        check=lambda p: p.items[0].tx_hash == TX,
    ),
    "create_redemption_with_travel_rule": Case(
        lambda c: c.create_redemption(
            WALLET,
            "8000.00",
            PERMIT,
            originator=TravelRuleParty(name="Lotus Trading Ltd", account=WALLET, id_number="LEI 54930"),
            beneficiary={"name": "Lotus Trading Ltd", "account": "HK-BANK 012-345678-001", "address": "1 Sandbox Rd"},
        ),
        "POST",
        "/v1/redemptions",
        REDEMPTION,
        Redemption,
        status=202,
        idempotent=True,
        body={
            "wallet": WALLET,
            "amount": "8000.00",
            "permit": PERMIT,
            "travel_rule": {
                "originator": {"name": "Lotus Trading Ltd", "account": WALLET, "id_number": "LEI 54930"},
                "beneficiary": {
                    "name": "Lotus Trading Ltd",
                    "account": "HK-BANK 012-345678-001",
                    "address": "1 Sandbox Rd",
                },
            },
        },
        check=lambda r: r.amount == "8000.00",
    ),
    "create_redemption_without_travel_rule": Case(
        lambda c: c.create_redemption(WALLET, "8000.00", PERMIT),
        "POST",
        "/v1/redemptions",
        REDEMPTION,
        Redemption,
        status=202,
        idempotent=True,
        body={"wallet": WALLET, "amount": "8000.00", "permit": PERMIT},
    ),
    "compliance_report": Case(
        lambda c: c.compliance_report(),
        "GET",
        "/v1/compliance/report",
        REPORT,
        ComplianceReport,
        check=lambda r: (
            r.redemption_sla.paid_late[0].late_by_seconds == 3600
            and r.travel_rule.flagged[0].problem == "missing"
            and r.enforcement.frozen_wallets[0].frozen_on_chain
            and r.pending_approvals == {"seizure": 1}
            and r.attestation is not None
            and r.attestation.overdue
            and r.redemption_sla.holiday_years == [2025, 2026, 2027]
        ),
    ),
    "compliance_report_html": Case(
        lambda c: c.compliance_report_html(),
        "GET",
        "/v1/compliance/report.html",
        "<html><p>SANDBOX — NOT A LICENSED STABLECOIN</p></html>",
        str,
        check=lambda html: "NOT A LICENSED STABLECOIN" in html,
    ),
    "transparency_page": Case(
        lambda c: c.transparency_page(),
        "GET",
        "/transparency",
        "<html><h1>Reserves</h1></html>",
        str,
        check=lambda html: html.startswith("<html>"),
    ),
    "metrics": Case(
        lambda c: c.metrics(),
        "GET",
        "/metrics",
        "# HELP cnh_reserve_ratio x\ncnh_reserve_ratio 1.05\n",
        str,
        check=lambda text: "cnh_reserve_ratio 1.05" in text,
    ),
}


def _answer(case: Case) -> httpx.Response:
    if isinstance(case.answer, str):
        return httpx.Response(case.status, text=case.answer, headers={"content-type": "text/html; charset=utf-8"})
    return httpx.Response(case.status, json=case.answer)


def _run(case: Case, kind: str) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(case)

    transport = httpx.MockTransport(handler)
    if kind == "sync":
        with Client("http://issuer.test", "cnh_key", transport=transport) as client:
            return case.call(client), seen

    async def run() -> Any:
        async with AsyncClient("http://issuer.test", "cnh_key", transport=transport) as client:
            return await case.call(client)

    return asyncio.run(run()), seen


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_method_sends_its_request_and_parses_the_answer(name: str, kind: str) -> None:
    case = CASES[name]
    result, seen = _run(case, kind)
    assert len(seen) == 1
    request = seen[0]
    assert (request.method, request.url.path) == (case.method, case.path)
    assert dict(request.url.params) == case.params
    assert (json.loads(request.content) if request.content else None) == case.body
    assert request.headers["Authorization"] == "Bearer cnh_key"
    assert ("Idempotency-Key" in request.headers) == case.idempotent
    if isinstance(case.shape, type) and not issubclass(case.shape, BaseModel):
        assert isinstance(result, case.shape)
    else:
        assert result == case.shape.model_validate(case.answer)  # the typed model, every member kept
        assert type(result) is case.shape
    assert case.check(result)


def test_a_seizure_request_is_idempotent_a_fresh_key_per_call_one_key_across_retries(monkeypatch: Any) -> None:
    import cnh_sdk._sync_client

    monkeypatch.setattr(cnh_sdk._sync_client, "sleep", lambda _: None)
    busy = httpx.Response(503, json={"title": "Service unavailable", "status": 503, "detail": "chain"})
    answers = [busy, httpx.Response(202, json=SEIZURE), httpx.Response(202, json=SEIZURE)]
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return answers.pop(0)

    with Client("http://issuer.test", "cnh_key", transport=httpx.MockTransport(handler)) as client:
        client.request_seizure(WALLET, RECOVERY, "HCMP 1234/2026 (sandbox)", "CASE-1")
        client.request_seizure(WALLET, RECOVERY, "HCMP 1234/2026 (sandbox)", "CASE-1", idempotency_key="mine")
    assert keys[0] == keys[1] and keys[1] != keys[2] and keys[2] == "mine"


def test_a_limit_change_refuses_float_amounts_and_sends_only_the_limits_given() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=ENFORCEMENT if request.url.path.endswith("/freeze") else APPROVAL)

    with Client("http://issuer.test", "k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TypeError, match="never float"):
            client.request_limit_change("cus_1", "turnover", daily_redeem_limit=10.5)  # type: ignore[arg-type]
        client.request_limit_change("cus_1", "turnover", daily_redeem_limit=20000)
        client.freeze_wallet(WALLET, "takeover")
    assert [json.loads(r.content) for r in seen] == [
        {"reason": "turnover", "daily_redeem_limit": "20000"},
        {"reason": "takeover"},
    ]


@pytest.mark.parametrize(
    ("iterate", "path", "item", "filters"),
    [
        (lambda c: c.iter_approvals(page_size=1, status="pending"), "/v1/approvals", APPROVAL, {"status": "pending"}),
        (
            lambda c: c.iter_screening_cases(page_size=1, customer_id="cus_1"),
            "/v1/screening/cases",
            CASE,
            {"customer_id": "cus_1"},
        ),
        (lambda c: c.iter_seizures(page_size=1), "/v1/seizures", SEIZURE, {}),
        (
            lambda c: c.iter_travel_rule_records(page_size=1, kind="mint"),
            "/v1/travel-rule/records",
            RECORD,
            {"kind": "mint"},
        ),
    ],
)
def test_the_new_iterators_follow_next_cursor_and_keep_their_filters(
    iterate: Callable[[Any], Any], path: str, item: dict[str, Any], filters: dict[str, str]
) -> None:
    answers = [
        httpx.Response(200, json=page({**item, "id": "x_1"}, next_cursor="c2")),
        httpx.Response(200, json=page({**item, "id": "x_2"})),
    ]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    with Client("http://issuer.test", "k", transport=httpx.MockTransport(handler)) as client:
        assert [entry.id for entry in iterate(client)] == ["x_1", "x_2"]
    assert [r.url.path for r in seen] == [path, path]
    assert [dict(r.url.params) for r in seen] == [{"limit": "1", **filters}, {"limit": "1", "cursor": "c2", **filters}]


def test_wait_for_seizure_polls_until_a_final_status(monkeypatch: Any) -> None:
    import cnh_sdk._sync_client

    monkeypatch.setattr(cnh_sdk._sync_client, "sleep", lambda _: None)
    statuses = ["approved", "burned", "completed"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**SEIZURE, "status": statuses.pop(0) if len(statuses) > 1 else statuses[0]})

    with Client("http://issuer.test", "k", transport=httpx.MockTransport(handler)) as client:
        assert client.wait_for_seizure("szr_1").status == "completed"
        with pytest.raises(WaitTimeout, match="seizure szr_1"):
            client.wait_for_seizure("szr_1", statuses={"rejected"}, timeout=0)


# --- every operation of the API has an SDK method ------------------------------------------------


def _sdk_calls() -> set[tuple[str, str]]:
    """(METHOD, path with {} for parameters) of every request the async client's source makes."""
    calls: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(SOURCE.read_text())):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        texts: list[str] = []
        for arg in node.args:
            if isinstance(arg, ast.BinOp):  # self._prefix + "/v1/..."
                arg = arg.right
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                texts.append(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                texts.append("".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in arg.values))
        path = next((t for t in texts if t.startswith("/")), None)
        verb = {"_get": "GET", "_post": "POST"}.get(node.func.attr) or next(
            (t for t in texts if t in ("GET", "POST", "PUT", "DELETE")), None
        )
        if path and verb:
            calls.add((verb, path))
    return calls


def test_every_operation_of_the_api_has_an_sdk_method(tmp_path: Path) -> None:
    from issuer_service.app import create_app
    from tests.service.service_helpers import make_settings

    spec = create_app(make_settings(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)).openapi()
    operations = {(verb.upper(), path) for path, item in spec["paths"].items() for verb in item}
    operations.add(("GET", "/metrics"))  # served outside the schema

    def normal(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path)

    called = {(verb, normal(path)) for verb, path in _sdk_calls()}
    # attestation_report builds report.{format}: json, html and pdf
    called |= {(verb, path.replace(".{}", f".{fmt}")) for verb, path in called for fmt in ("json", "html", "pdf")}
    missing = sorted(op for op in operations if (op[0], normal(op[1])) not in called)
    assert missing == [], f"operations without an SDK method: {missing}"


def test_the_sdk_at_a_glance_in_docs_lists_every_public_method() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = text.split("## The SDK at a glance", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([a-z_]+)[(`]", section))
    public = {name for name in vars(Client) if not name.startswith("_")}
    assert sorted(public - listed) == []
