"""The compliance-layer SDK methods against the real service (in process, on Anvil): a screening
list upload and its cases, freeze, seizure and unfreeze, a redemption carrying travel-rule data,
per-customer limits through maker-checker approvals, due diligence, the compliance report and the
public pages, in the sync client and the async one."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

from cnh_sdk import AsyncClient, Client, Forbidden, RuleRejected, TravelRuleParty, ValidationFailed
from compliance.screening import SANDBOX_LIST_FILE
from tests.sdk.flow import add_buffer_capital, onboard, staff_clients
from tests.service.service_helpers import ADMIN_KEY

pytestmark = pytest.mark.chain

T = TypeVar("T")
LEGAL_BASIS = "Court of First Instance order HCMP 1234/2026 (sandbox fiction)"
BANNER = "SANDBOX — NOT A LICENSED STABLECOIN"


def until(read: Callable[[], T], done: Callable[[T], bool], what: str, timeout: float = 60.0) -> T:
    """Read until `done(value)` (the chain confirms freezes through the outbox worker)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last value: {value!r}")
        time.sleep(0.1)


def test_a_screening_list_upload_freezes_a_listed_wallet_until_compliance_clears_its_case(admin: Client) -> None:
    staff = staff_clients(admin)
    lotus = onboard(admin, staff)
    address = lotus.wallet.address
    shipped = staff.auditor.get_screening_list()
    assert shipped.shipped and shipped.entries and shipped.name_match_threshold > 0

    data: dict[str, Any] = json.loads(SANDBOX_LIST_FILE.read_text(encoding="utf-8"))
    data["version"] = "sandbox-sdk-2026-02"
    data["entries"].append({"id": "SBX-0100", "name": "Grimwald Oakenshaw", "addresses": [address.lower()]})
    loaded = staff.compliance.load_screening_list(**data)  # a list file's JSON as it is
    assert (loaded.list.version, loaded.list.shipped, loaded.list.loaded_by is not None) == (
        "sandbox-sdk-2026-02",
        False,
        True,
    )
    assert loaded.rescreen.wallets_frozen == [address]
    assert loaded.rescreen.customers_blocked == [lotus.customer_id]
    assert staff.auditor.get_screening_list().sha256 == loaded.list.sha256

    [case] = staff.auditor.list_screening_cases(customer_id=lotus.customer_id).items
    assert (case.id, case.match_kind, case.entry_id, case.status) == (
        loaded.rescreen.cases_opened[0],
        "address",
        "SBX-0100",
        "open",
    )
    assert staff.compliance.get_screening_case(case.id) == case
    blocked = staff.operator.get_due_diligence(lotus.customer_id)
    assert (blocked.status, blocked.unresolved_screening_cases, blocked.may_transact) == ("blocked", [case.id], False)
    until(lambda: staff.operator.get_wallet(address), lambda wallet: wallet.frozen, "listed wallet frozen on chain")
    freezes = staff.compliance.get_wallet_freezes(address)
    assert (freezes.frozen, freezes.chain_target, [hold.case_id for hold in freezes.holds]) == (
        True,
        "frozen",
        [case.id],
    )

    # A screening freeze is lifted through its case, never around it.
    with pytest.raises(Forbidden):
        staff.operator.clear_screening_case(case.id, "not the listed party")
    cleared = staff.compliance.clear_screening_case(case.id, "wallet belongs to Lotus, verified on site")
    assert (cleared.status, cleared.decision_note) == ("cleared", "wallet belongs to Lotus, verified on site")
    until(lambda: staff.operator.get_wallet(address), lambda wallet: not wallet.frozen, "cleared wallet unfrozen")
    assert staff.operator.get_due_diligence(lotus.customer_id).may_transact
    assert staff.compliance.rescreen().cases_opened == []  # a cleared false positive is not reopened

    # A name hit at onboarding is confirmed as a true match: the customer stays blocked.
    listed = staff.operator.create_customer("Vexmore Arms Brokerage", "institution", "HK")
    [hit] = staff.compliance.iter_screening_cases(page_size=1, status="open", customer_id=listed.id)
    confirmed = staff.compliance.confirm_screening_case(hit.id, "same registry number as the listed firm")
    assert (listed.status, hit.match_kind, confirmed.status) == ("blocked", "name", "confirmed")
    assert staff.auditor.get_due_diligence(listed.id).unresolved_screening_cases == [hit.id]
    assert staff.auditor.compliance_report().screening.blocked_customers == [listed.id]


def test_a_frozen_balance_is_seized_with_a_second_approver_and_the_wallet_unfrozen_after(admin: Client) -> None:
    staff = staff_clients(admin)
    second_compliance = admin.with_key(admin.create_api_key("compliance", "second compliance officer").key)
    add_buffer_capital(staff, "10.00")
    alice = onboard(admin, staff, deposit="100.00")
    recovery = onboard(admin, staff)
    assert alice.client.wait_for_mint(alice.client.create_mint(alice.wallet.address, "100.00").id).status == "confirmed"
    address = alice.wallet.address

    with pytest.raises(RuleRejected) as not_frozen:  # R24: only a frozen balance can be seized
        staff.compliance.request_seizure(address, recovery.wallet.address, LEGAL_BASIS, "CASE-2026-0042")
    assert (not_frozen.value.reason_code, not_frozen.value.rule_id) == ("wallet_not_frozen", "R24")

    frozen = staff.compliance.freeze_wallet(address, "suspected account takeover", legal_basis=LEGAL_BASIS)
    assert (frozen.chain_target, frozen.customer_id, frozen.holds[0].legal_basis) == (
        "frozen",
        alice.customer_id,
        LEGAL_BASIS,
    )
    until(lambda: staff.operator.get_wallet(address), lambda wallet: wallet.frozen, "wallet frozen on chain")

    seizure = staff.compliance.request_seizure(
        address, recovery.wallet.address, LEGAL_BASIS, "CASE-2026-0042", idempotency_key="seize-1"
    )
    replayed = staff.compliance.request_seizure(
        address, recovery.wallet.address, LEGAL_BASIS, "CASE-2026-0042", idempotency_key="seize-1"
    )
    assert replayed.id == seizure.id  # a retried request asks once
    assert (seizure.status, seizure.amount, seizure.approval_id is not None) == ("pending_approval", "100.00", True)
    assert staff.compliance.list_approvals(status="pending", action="seizure").items[0].id == seizure.approval_id
    assert staff.auditor.compliance_report().pending_approvals == {"seizure": 1}
    with pytest.raises(Forbidden) as own:
        staff.compliance.approve_request(str(seizure.approval_id))
    assert own.value.reason_code == "same_principal"
    second_compliance.approve_request(str(seizure.approval_id), note="order verified with the court registry")

    done = staff.auditor.wait_for_seizure(seizure.id)
    assert done.status == "completed" and done.burn_tx_hash and done.remint_tx_hash
    assert done.approved_by is not None and done.approved_by != done.requested_by
    assert [s.id for s in staff.operator.iter_seizures(page_size=1)] == [seizure.id]
    assert staff.auditor.list_seizures().items == [staff.auditor.get_seizure(seizure.id)]
    assert recovery.client.token_balance(recovery.wallet.address) == 100 * 10**6
    assert alice.client.token_balance(address) == 0

    report = staff.auditor.compliance_report()
    assert [(line.id, line.status, line.legal_basis) for line in report.enforcement.seizures] == [
        (seizure.id, "completed", LEGAL_BASIS)
    ]
    assert address in [wallet.wallet for wallet in report.enforcement.frozen_wallets]
    assert report.banner == BANNER and BANNER in staff.compliance.compliance_report_html()

    thawed = staff.compliance.unfreeze_wallet(address, "case closed")
    assert thawed.chain_target == "unfrozen"
    until(lambda: staff.operator.get_wallet(address), lambda wallet: not wallet.frozen, "wallet unfrozen")
    [hold] = staff.auditor.get_wallet_freezes(address).holds
    assert (hold.lift_reason, hold.lifted_at is not None) == ("case closed", True)


def test_a_redemption_from_the_travel_rule_threshold_carries_its_parties_and_is_recorded(admin: Client) -> None:
    staff = staff_clients(admin)
    add_buffer_capital(staff)
    requirements = admin.with_key(None).travel_rule_requirements("8000.00")  # no key needed
    assert (requirements.full_data_required, requirements.threshold) == (True, "7300.00")
    assert requirements.required_fields
    lotus = onboard(admin, staff, deposit="8000.00")
    address = lotus.wallet.address
    assert lotus.client.wait_for_mint(lotus.client.create_mint(address, "8000.00").id).status == "confirmed"

    with pytest.raises(ValidationFailed) as incomplete:
        lotus.client.redeem(lotus.wallet, "8000.00", originator={"name": "Lotus Trading Ltd"})
    assert "body.travel_rule.beneficiary.name" in [error.field for error in incomplete.value.errors]

    originator = TravelRuleParty(name="Lotus Trading Ltd", account=address, id_number="LEI 5493001KJTIIGC8Y1R12")
    beneficiary = {
        "name": "Lotus Trading Ltd",
        "account": "HK-SANDBOX-BANK 012-345678-001",
        "address": "1 Sandbox Road, Central, Hong Kong",
    }
    redemption = lotus.client.redeem(lotus.wallet, "8000.00", originator=originator, beneficiary=beneficiary)
    assert lotus.client.wait_for_redemption(redemption.id).status == "paid"
    [record] = staff.compliance.list_travel_rule_records(kind="redemption").items
    assert (record.subject_id, record.amount, record.complete, record.full_data_required) == (
        redemption.id,
        "8000.00",
        True,
        True,
    )
    assert (record.originator.id_number, record.beneficiary.address) == (
        originator.id_number,
        beneficiary["address"],
    )
    every = list(staff.auditor.iter_travel_rule_records(page_size=1))  # the mint is kept too
    assert sorted(r.kind for r in every) == ["mint", "redemption"] and record in every

    # A transfer record names a real on-chain transfer between customer wallets.
    made_up = "0x" + uuid.uuid4().hex * 2
    with pytest.raises(RuleRejected) as unknown:
        lotus.client.create_travel_rule_record(made_up, originator, {**beneficiary, "account": address})
    assert unknown.value.reason_code == "transfer_not_found"
    assert staff.auditor.list_travel_rule_records(tx_hash=made_up).items == []
    assert staff.auditor.compliance_report().travel_rule.threshold == "7300.00"


def test_limit_changes_and_enhanced_due_diligence_go_through_maker_checker_approvals(admin: Client) -> None:
    staff = staff_clients(admin)
    second_compliance = admin.with_key(admin.create_api_key("compliance", "second compliance officer").key)
    customer = staff.operator.create_customer("Harbour Lights Trading Ltd", "institution", "HK")
    staff.compliance.decide_kyc(customer.id, "approved", "high", "KYC-HIGH-1")

    # R20: high risk needs EDD recorded by a second compliance officer, citing a reference.
    pending = staff.auditor.get_due_diligence(customer.id)
    assert (pending.enhanced_due_diligence, pending.may_transact) == ("pending", False)
    policy = staff.auditor.approval_policy()
    assert policy.actions["customer.edd"].reference_required
    assert sorted(policy.actions["limit.change"].approver_roles) == ["admin", "compliance"]
    second_compliance.approve_request(str(pending.edd_approval_id), reference="EDD-2026-0007")
    done = staff.auditor.get_due_diligence(customer.id)
    assert (done.enhanced_due_diligence, done.edd_reference, done.may_transact) == (
        "completed",
        "EDD-2026-0007",
        True,
    )

    limits = staff.operator.get_limits(customer.id)
    assert (limits.risk, limits.mint.source, limits.mint.used_today, limits.pending_change_ids) == (
        "high",
        "profile",
        "0.00",
        [],
    )
    asked = staff.operator.request_limit_change(customer.id, "turnover not yet verified", daily_mint_limit="1.00")
    assert (asked.status, asked.action, asked.payload["daily_mint_limit_fen"]) == ("pending", "limit.change", 100)
    assert staff.operator.get_limits(customer.id).pending_change_ids == [asked.id]
    assert [a.id for a in staff.auditor.iter_approvals(status="pending", action="limit.change")] == [asked.id]
    rejected = staff.compliance.reject_request(asked.id, "no evidence of turnover")
    assert (rejected.status, rejected.decision_note) == ("rejected", "no evidence of turnover")
    assert staff.auditor.list_approvals(status="rejected").items == [rejected]

    change = staff.operator.request_limit_change(
        customer.id, "tighter limits while the EDD review runs", daily_mint_limit="150000.00", daily_redeem_limit=1000
    )
    assert staff.compliance.approve_request(change.id, note="agreed").status == "approved"
    limits = staff.operator.get_limits(customer.id)
    assert (limits.mint.limit, limits.mint.source, limits.redeem.limit, limits.pending_change_ids) == (
        "150000.00",
        "override",
        "1000.00",
        [],
    )


def test_the_async_client_reads_the_public_pages_policy_and_report(app_client: Any) -> None:
    async def read() -> tuple[str, str, str, list[str], str]:
        transport = httpx.ASGITransport(app=app_client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = AsyncClient(api_key=ADMIN_KEY, http=http)
            auditor = admin.with_key((await admin.create_api_key("auditor", "async auditor")).key)
            public = admin.with_key(None)
            page = await public.transparency_page()
            metrics = await public.metrics()
            report = await auditor.compliance_report()
            policy = await auditor.approval_policy()
            return page, metrics, report.profile, sorted(policy.actions), await auditor.compliance_report_html()

    page, metrics, profile, actions, html = asyncio.run(read())
    assert "<html" in page.lower() and BANNER in page
    assert "# HELP" in metrics
    assert profile == "hk" and {"seizure", "limit.change", "customer.edd"} <= set(actions)
    assert BANNER in html
