"""Freeze and seize on a real Anvil, on SQLite and PostgreSQL (R16, R24, R40, R50): a compliance
officer freezes a wallet, a seizure needs a second principal and a legal basis, the frozen balance
is burned and re-minted to a recovery wallet, and supply, reserves and the indexer stay reconciled."""

from __future__ import annotations

import re
from typing import Any

import pytest

from compliance.money import fen_to_units
from issuer_service.chain.gateway import ChainGateway
from issuer_service.reserves.service import CUSTOMER_CASH_ASSET_ID
from tests.service.attestation_helpers import attest
from tests.service.compliance_helpers import audit_actions, poll, staff_key
from tests.service.flow import Customer, Staff, add_buffer_capital, new_customer, request_mint, wait_for
from tests.service.service_helpers import assert_problem, bearer

pytestmark = pytest.mark.chain

LEGAL_BASIS = "Court of First Instance order HCMP 1234/2026 (sandbox fiction)"


def _wallet(client: Any, key: str, address: str) -> dict[str, Any]:
    response = client.get(f"/v1/wallets/{address}", headers=bearer(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _reconciled_supply_units(client: Any) -> int | None:
    check = client.get("/readyz").json()["checks"]["reconciliation"]
    found = re.search(r"chain supply (\d+) units", check["detail"])
    return int(found.group(1)) if check["ok"] and found else None


def _frozen_holder(client: Any, staff: Staff, *, recovery_risk: str = "low") -> tuple[Customer, Customer]:
    """Alice holding 100.00 minted tokens in a wallet compliance has frozen (confirmed on chain), and
    a recovery customer of the given risk rating for a seizure of it."""
    add_buffer_capital(client, staff, "10.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="100.00")
    recovery = new_customer(client, staff, name="Recovery Trust Ltd", risk=recovery_risk)
    minted = request_mint(client, alice, "100.00")
    assert (
        wait_for(client, f"/v1/mints/{minted.json()['id']}", alice.key, {"confirmed", "failed"})["status"]
        == "confirmed"
    )
    frozen = client.post(
        f"/v1/wallets/{alice.wallet.address}/freeze",
        headers=bearer(staff.compliance),
        json={"reason": "suspected account takeover", "legal_basis": LEGAL_BASIS},
    )
    assert frozen.status_code == 202, frozen.text
    poll(lambda: _wallet(client, staff.operator, alice.wallet.address), lambda w: w["frozen"], what="wallet frozen")
    return alice, recovery


def test_seizure_burns_the_frozen_balance_remints_it_to_recovery_and_supply_stays_reconciled(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    client = chain_client
    second_compliance = staff_key(client, "compliance", "second compliance officer")
    add_buffer_capital(client, staff, "10.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="100.00")
    recovery = new_customer(client, staff, name="Recovery Trust Ltd")
    minted = request_mint(client, alice, "100.00")
    assert (
        wait_for(client, f"/v1/mints/{minted.json()['id']}", alice.key, {"confirmed", "failed"})["status"]
        == "confirmed"
    )
    seize = {
        "wallet": alice.wallet.address,
        "recovery_wallet": recovery.wallet.address,
        "legal_basis": LEGAL_BASIS,
        "case_reference": "CASE-2026-0042",
    }

    # R24: only a frozen balance can be seized.
    refused = assert_problem(
        client.post("/v1/seizures", json=seize, headers=bearer(staff.compliance, **{"Idempotency-Key": "seize-0"})),
        422,
        field="body.wallet",
    )
    assert (refused["reason_code"], refused["rule_id"]) == ("wallet_not_frozen", "R24")

    frozen = client.post(
        f"/v1/wallets/{alice.wallet.address}/freeze",
        headers=bearer(staff.compliance),
        json={"reason": "suspected account takeover", "legal_basis": LEGAL_BASIS},
    )
    assert frozen.status_code == 202, frozen.text
    assert frozen.json()["chain_target"] == "frozen"
    poll(lambda: _wallet(client, staff.operator, alice.wallet.address), lambda w: w["frozen"], what="wallet frozen")
    assert gateway.account_state(alice.wallet.address).frozen is True  # Wallet.frozen follows the chain
    mint_refused = assert_problem(request_mint(client, alice, "1.00"), 422)
    assert (mint_refused["reason_code"], mint_refused["rule_id"]) == ("wallet_frozen", "R24")

    # R23, R24: seized funds are never re-minted to a wallet whose owner may not transact.
    rejected_owner = new_customer(client, staff, name="Shell Holdings Ltd")
    kyc_rejected = client.post(
        f"/v1/customers/{rejected_owner.id}/kyc",
        json={"decision": "rejected", "risk": "high", "reference": "KYC-EXIT-9"},
        headers=bearer(staff.compliance),
    )
    assert kyc_rejected.status_code == 200, kyc_rejected.text
    to_rejected = {**seize, "recovery_wallet": rejected_owner.wallet.address}
    unusable = assert_problem(
        client.post(
            "/v1/seizures", json=to_rejected, headers=bearer(staff.compliance, **{"Idempotency-Key": "seize-r"})
        ),
        422,
        field="body.recovery_wallet",
    )
    assert unusable["reason_code"] == "recovery_wallet_unusable" and "KYC-approved" in unusable["detail"]

    requested = client.post(
        "/v1/seizures", json=seize, headers=bearer(staff.compliance, **{"Idempotency-Key": "seize-1"})
    )
    assert requested.status_code == 202, requested.text
    seizure = requested.json()
    # R24, R40: while the seizure waits for its second approver the wallet cannot be unfrozen.
    unfreeze = f"/v1/wallets/{alice.wallet.address}/unfreeze"
    early_thaw = client.post(unfreeze, json={"reason": "changed mind"}, headers=bearer(staff.compliance))
    assert_problem(early_thaw, 409)
    assert seizure["id"] in early_thaw.json()["detail"]
    assert _wallet(client, staff.operator, alice.wallet.address)["frozen"] is True
    enforcement = client.get(f"/v1/wallets/{alice.wallet.address}/freezes", headers=bearer(staff.compliance))
    assert enforcement.json()["chain_target"] == "frozen"  # no unfreeze was queued
    replayed = client.post(
        "/v1/seizures", json=seize, headers=bearer(staff.compliance, **{"Idempotency-Key": "seize-1"})
    )
    assert replayed.json()["id"] == seizure["id"]  # a retried request asks once
    assert (seizure["status"], seizure["amount"]) == ("pending_approval", "100.00")  # the whole frozen balance
    approval = f"/v1/approvals/{seizure['approval_id']}/approve"
    # R40: not the requester, and only the roles the policy names.
    self_approval = assert_problem(client.post(approval, json={}, headers=bearer(staff.compliance)), 403)
    assert self_approval["reason_code"] == "same_principal"
    assert (
        assert_problem(client.post(approval, json={}, headers=bearer(staff.operator)), 403)["reason_code"]
        == "approver_role_not_allowed"
    )
    assert gateway.balance_of(alice.wallet.address) == fen_to_units(100_00)  # nothing moved yet
    approved = client.post(
        approval, json={"note": "order verified with the court registry"}, headers=bearer(second_compliance)
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    done = poll(
        lambda: client.get(f"/v1/seizures/{seizure['id']}", headers=bearer(staff.auditor)).json(),
        lambda s: s["status"] in ("completed", "failed", "remint_failed"),
        what="seizure finished",
    )
    assert done["status"] == "completed", done
    assert done["burn_tx_hash"] and done["remint_tx_hash"]
    # R25: the seizure is a transfer the service initiates, from the frozen holder to the recovery
    # wallet's owner; its travel-rule record names both from the KYC file and links the re-mint.
    kept = client.get(
        "/v1/travel-rule/records", params={"kind": "seizure"}, headers=bearer(staff.auditor)
    ).json()["items"]
    assert [(r["subject_id"], r["tx_hash"], r["amount"], r["complete"]) for r in kept] == [
        (seizure["id"], done["remint_tx_hash"].lower(), "100.00", True)
    ]
    originator, beneficiary = kept[0]["originator"], kept[0]["beneficiary"]
    assert (originator["name"], originator["account"], originator["id_number"]) == (
        "Alice Ltd",
        alice.wallet.address,
        alice.id,
    )
    assert (beneficiary["name"], beneficiary["account"], beneficiary["id_number"]) == (
        "Recovery Trust Ltd",
        recovery.wallet.address,
        recovery.id,
    )
    travel = client.get("/v1/compliance/report", headers=bearer(staff.auditor)).json()["travel_rule"]
    assert travel["flagged"] == [] and travel["awaiting_record"] == 0  # the report does not flag it
    assert gateway.balance_of(alice.wallet.address) == 0
    assert gateway.balance_of(recovery.wallet.address) == fen_to_units(100_00)
    assert gateway.total_supply() == fen_to_units(100_00)  # burned and re-minted: supply unchanged
    burned = gateway.token.events.FrozenBalanceBurned.get_logs(from_block=0)
    assert [("0x" + bytes(e["args"]["caseId"]).hex(), e["args"]["amount"]) for e in burned] == [
        (done["chain_case_id"], fen_to_units(100_00))
    ]
    reserves = client.get("/v1/reserves").json()
    assert (reserves["outstanding"], reserves["reserves"], reserves["fully_backed"]) == ("100.00", "110.00", True)
    # R16: the indexer explains the burn and the re-mint by their outbox rows; readiness says so.
    assert (
        poll(
            lambda: _reconciled_supply_units(client),
            lambda units: units == fen_to_units(100_00),
            what="reconciliation ok at the post-seizure supply",
        )
        == gateway.total_supply()
    )

    records = audit_actions(client, staff.auditor, entity_type="seizure", entity_id=seizure["id"])
    assert [r["action"] for r in records] == [
        "seizure.requested",
        "seizure.approved",
        "seizure.burn_submitted",
        "seizure.burned",
        "seizure.remint_submitted",
        "seizure.completed",
    ]
    assert all(r["data"]["legal_basis"] == LEGAL_BASIS for r in records)  # the audit log says why (R24)
    assert records[1]["actor"] != records[0]["actor"]
    assert records[1]["data"]["travel_rule_record_id"] == kept[0]["id"]  # kept when the seizure was approved
    assert client.get("/v1/audit-log/verify", headers=bearer(staff.auditor)).json()["ok"] is True

    thawed = client.post(
        f"/v1/wallets/{alice.wallet.address}/unfreeze", json={"reason": "case closed"}, headers=bearer(staff.compliance)
    )
    assert thawed.status_code == 202, thawed.text
    poll(
        lambda: _wallet(client, staff.operator, alice.wallet.address), lambda w: not w["frozen"], what="wallet unfrozen"
    )
    assert gateway.account_state(alice.wallet.address).frozen is False


def test_an_attestation_between_a_seizure_s_burn_and_re_mint_finds_the_ledger_agreeing_with_the_chain(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    """R16, R53: the ledger follows the seizure's burn (outstanding goes down) and its re-mint (back up).
    A report at the burn's block counted only mints and redemptions as ledger supply, so it stated
    "chain, indexed and ledger supply differ" for a ledger that agreed with the chain."""
    client = chain_client
    second_compliance = staff_key(client, "compliance", "second compliance officer")
    alice, recovery = _frozen_holder(client, staff)
    requested = client.post(
        "/v1/seizures",
        json={
            "wallet": alice.wallet.address,
            "recovery_wallet": recovery.wallet.address,
            "legal_basis": LEGAL_BASIS,
            "case_reference": "CASE-2026-0043",
        },
        headers=bearer(staff.compliance, **{"Idempotency-Key": "seize-attest"}),
    )
    assert requested.status_code == 202, requested.text
    seizure = requested.json()
    approval = f"/v1/approvals/{seizure['approval_id']}/approve"
    approved = client.post(approval, json={}, headers=bearer(second_compliance))
    assert approved.status_code == 200, approved.text
    done = poll(
        lambda: client.get(f"/v1/seizures/{seizure['id']}", headers=bearer(staff.auditor)).json(),
        lambda s: s["status"] in ("completed", "failed", "remint_failed"),
        what="seizure finished",
    )
    assert done["status"] == "completed", done
    records = audit_actions(client, staff.auditor, entity_type="seizure", entity_id=seizure["id"])
    burned = next(r for r in records if r["action"] == "seizure.burned")
    completed = next(r for r in records if r["action"] == "seizure.completed")
    burn_block, remint_block = burned["data"]["block_number"], completed["data"]["block_number"]
    assert burn_block < remint_block  # the re-mint is queued when the burn is confirmed

    for block, supply_units in ((burn_block, 0), (remint_block, fen_to_units(100_00))):
        response = attest(client, staff.auditor, block)
        assert response.status_code == 201, response.text
        report = response.json()["report"]
        assert report["reconciliation"] == {
            "rule": "R16",
            "chain_supply_units": str(supply_units),
            "indexed_supply_units": str(supply_units),
            "ledger_supply_units": str(supply_units),
            "result": "agrees",
        }, block
        assert not [e for e in report["exceptions"] if e.startswith("R16")], report["exceptions"]
        # Reserve cash never moves in a seizure: the same tokens change hands.
        cash = next(row for row in report["reserve_assets"] if row["asset_id"] == CUSTOMER_CASH_ASSET_ID)
        assert cash["counted"] == "100.00", report["reserve_assets"]


def test_seized_funds_are_not_re_minted_to_a_high_risk_customer_whose_edd_is_not_recorded(
    chain_client: Any, staff: Staff
) -> None:  # R20, R24
    """The re-mint is a mint to the recovery wallet's owner: a high-risk customer whose enhanced due
    diligence no second officer has recorded may not receive it, as they may not mint themselves."""
    client = chain_client
    alice, recovery = _frozen_holder(client, staff, recovery_risk="high")
    due = client.get(f"/v1/customers/{recovery.id}/due-diligence", headers=bearer(staff.auditor)).json()
    assert due["enhanced_due_diligence"] == "pending"

    seize = {
        "wallet": alice.wallet.address,
        "recovery_wallet": recovery.wallet.address,
        "legal_basis": LEGAL_BASIS,
        "case_reference": "CASE-2026-0077",
    }
    refused = assert_problem(
        client.post("/v1/seizures", json=seize, headers=bearer(staff.compliance, **{"Idempotency-Key": "seize-edd"})),
        422,
        field="body.recovery_wallet",
    )
    assert (refused["reason_code"], refused["rule_id"]) == ("recovery_wallet_unusable", "R24")
    assert "enhanced due diligence" in refused["detail"]


def test_an_unfreeze_refused_while_a_seizure_waits_names_the_approval_request_to_reject(
    chain_client: Any, staff: Staff
) -> None:  # R24, R40
    """The refusal names the seizure's own approval request, not a literal `{id}` to fill in."""
    client = chain_client
    alice, recovery = _frozen_holder(client, staff)
    seize = {
        "wallet": alice.wallet.address,
        "recovery_wallet": recovery.wallet.address,
        "legal_basis": LEGAL_BASIS,
        "case_reference": "CASE-2026-0078",
    }
    requested = client.post("/v1/seizures", json=seize, headers=bearer(staff.compliance, **{"Idempotency-Key": "s"}))
    assert requested.status_code == 202, requested.text

    unfreeze = f"/v1/wallets/{alice.wallet.address}/unfreeze"
    refused = assert_problem(
        client.post(unfreeze, json={"reason": "changed mind"}, headers=bearer(staff.compliance)), 409
    )
    assert f"POST /v1/approvals/{requested.json()['approval_id']}/reject" in refused["detail"]
    assert "{id}" not in refused["detail"]
