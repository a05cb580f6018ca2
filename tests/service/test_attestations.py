"""An auditor with a read-only key attests reserves at a chosen block, reproducibly, opens the report
as JSON, HTML and PDF, and checks holders' proofs of liabilities and the audit log offline
(R1, R2–R6, R13, R16, R50, R52–R55). On a real Anvil, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from web3.exceptions import Web3RPCError

from compliance.audit_export import verify_export
from compliance.verify_proof import ROOT_MISMATCH, verify_proof
from issuer_service.attestations import service as attestations
from issuer_service.attestations.models import Attestation
from issuer_service.audit.models import AuditLogEntry
from issuer_service.chain.gateway import ChainGateway
from issuer_service.chain.tx import send_and_wait
from tests.service.attestation_helpers import attest
from tests.service.flow import Staff, add_buffer_capital, new_customer, redemption_body, request_mint, wait_for
from tests.service.service_helpers import assert_problem, bearer

pytestmark = pytest.mark.chain

UNITS_PER_CNH = 1_000_000


def _reserve_asset(client: Any, staff: Staff, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "government_debt",
        "custodian": "Custodian Trust HK",
        "account": "safekeeping a/c 77",
        "currency": "HKD",
        "nominal": "50.00",
        "maturity": (date.today() + timedelta(days=180)).isoformat(),
        "reference": "HKGB-TEST",
        **fields,
    }
    recorded = client.post("/v1/reserves/assets", json=body, headers=bearer(staff.treasury))
    assert recorded.status_code == 201, recorded.text
    approved = client.post(f"/v1/reserves/assets/{recorded.json()['id']}/approve", headers=bearer(staff.treasury2))
    assert approved.status_code == 200, approved.text
    return dict(approved.json())


def test_auditor_attests_at_chosen_blocks_reproducibly_with_renderings_proofs_and_audit_anchor(
    chain_client: Any, staff: Staff, gateway: ChainGateway, tmp_path: Path
) -> None:
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="1000.00")
    bob = new_customer(client, staff, name="Bob Ltd")
    minted = request_mint(client, alice, "1000.00")
    assert minted.status_code == 202, minted.text
    mint = wait_for(client, f"/v1/mints/{minted.json()['id']}", alice.key, {"confirmed", "failed"})
    assert mint["status"] == "confirmed", mint
    mint_block = int(mint["block_number"])
    gateway.w3.provider.make_request("anvil_setBalance", [alice.wallet.address, hex(10**19)])
    send_and_wait(gateway.w3, alice.wallet, gateway.token.functions.transfer(bob.wallet.address, 250 * UNITS_PER_CNH))
    redeemed = client.post(
        "/v1/redemptions",
        json=redemption_body(client, bob, "100.00"),
        headers=bearer(bob.key, **{"Idempotency-Key": "bob-redeem"}),
    )
    assert redeemed.status_code == 202, redeemed.text
    assert wait_for(client, f"/v1/redemptions/{redeemed.json()['id']}", bob.key, {"paid", "failed"})["status"] == "paid"
    head = gateway.head()

    # --- a report at the newest block: supply read from the chain at that block (R53)
    created = attest(client, staff.auditor, head)
    assert created.status_code == 201, created.text
    out = created.json()
    report = out["report"]
    assert (out["as_of_block"], report["as_of"]["block"]) == (head, head)
    assert report["supply"]["total_supply_units"] == str(gateway.total_supply(head)) == str(900 * UNITS_PER_CNH)
    assert report["banner"] == "SANDBOX — NOT A LICENSED STABLECOIN"
    assert report["accountant"]["simulated"] is True
    assert report["result"] == "pass"
    assert report["reserve_test"]["reserves_counted"] == "1000.00"  # 900 subscriptions + 100 capital
    assert report["reserve_test"]["excess"] == "82.000000"  # 1000 - 900 × 1.02
    assert report["reconciliation"]["result"] == "agrees"  # R16: chain = indexer = ledger
    sla = report["redemption_sla"]
    assert (sla["completed"], sla["met"], sla["missed_redemptions"]) == (1, 1, [])  # R13
    pol = report["proof_of_liabilities"]
    assert (pol["holders"], pol["total"], pol["matches_supply"]) == (2, "900.000000", True)
    assert report["concentration"]["result"] == "flagged"  # everything sits at one sandbox bank (R6)

    # --- reproducible: building again at the block gives the same bytes (R53)
    with client.app.state.sessionmaker() as session:
        first = attestations.build_at(session, gateway=gateway, profile=client.app.state.profile, block=head)
        second = attestations.build_at(session, gateway=gateway, profile=client.app.state.profile, block=head)
    assert first.canonical == second.canonical
    assert first.sha256 == out["sha256"]
    again = attest(client, staff.auditor, head)
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["sha256"], again.json()["reproduced"]) == (out["id"], out["sha256"], True)

    # --- the renderings: canonical JSON with its hash, HTML and PDF (R53)
    raw = client.get(f"/v1/attestations/{out['id']}/report.json", headers=bearer(staff.auditor))
    assert hashlib.sha256(raw.content).hexdigest() == out["sha256"] == raw.headers["x-report-sha256"]
    html = client.get(f"/v1/attestations/{out['id']}/report.html", headers=bearer(staff.auditor))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "SANDBOX — NOT A LICENSED STABLECOIN" in html.text and out["sha256"] in html.text
    assert html.text.count("<svg") == 3
    pdf = client.get(f"/v1/attestations/{out['id']}/report.pdf", headers=bearer(staff.auditor))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and b"SIMULATED" in pdf.content

    # --- proofs of liabilities (R54): a holder checks their own; tampering fails
    proof = client.get(f"/v1/attestations/{out['id']}/proofs/{alice.wallet.address}", headers=bearer(alice.key))
    assert proof.status_code == 200, proof.text
    document = proof.json()
    assert document["balance_units"] == str(gateway.balance_of(alice.wallet.address, head)) == str(750 * UNITS_PER_CNH)
    assert verify_proof(document, published_root=pol["root_hash"], published_total_units=int(pol["total_units"])).ok
    document["balance_units"] = str(800 * UNITS_PER_CNH)
    assert verify_proof(document, published_root=pol["root_hash"]).reason == ROOT_MISMATCH
    assert_problem(
        client.get(f"/v1/attestations/{out['id']}/proofs/{bob.wallet.address}", headers=bearer(alice.key)), 404
    )  # not alice's wallet
    assert client.get(
        f"/v1/attestations/{out['id']}/proofs/{bob.wallet.address}", headers=bearer(staff.auditor)
    ).json()["balance_units"] == str(150 * UNITS_PER_CNH)
    assert_problem(client.get(f"/v1/attestations/{out['id']}", headers=bearer(staff.operator)), 403)

    # --- the audit log, exported and verified offline, holds the report's anchor (R50)
    anchor = report["audit_anchor"]
    export = client.get("/v1/audit-log/export", headers=bearer(staff.auditor))
    (tmp_path / "audit.jsonl").write_bytes(export.content)
    assert verify_export(tmp_path / "audit.jsonl", anchor=(anchor["seq"], anchor["hash"])).ok
    actions = [json.loads(line)["action"] for line in export.text.splitlines()]
    assert actions.count("attestation.created") == 1  # the reproduced one added nothing

    # --- a random past block: right after the mint, before the transfer and the redemption (R52)
    past = attest(client, staff.auditor, mint_block)
    assert past.status_code == 201, past.text
    past_report = past.json()["report"]
    assert past_report["supply"]["total_supply"] == "1000.000000"
    assert past_report["proof_of_liabilities"]["holders"] == 1
    assert past_report["redemption_sla"]["completed"] == 0
    assert past_report["reserve_test"]["reserves_counted"] == "1100.00"
    assert past.json()["sha256"] != out["sha256"]


def test_revaluation_counts_only_from_the_block_after_its_approval(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    client = chain_client
    bill = _reserve_asset(client, staff, market_value="49.00")  # HKD: 2% haircut → 48.02 counted (R4)
    gateway.w3.provider.make_request("evm_mine", [])
    before = gateway.head()
    revalued = client.post(
        f"/v1/reserves/assets/{bill['id']}/valuations",
        json={"market_value": "45.00", "reference": "PRICE-2"},
        headers=bearer(staff.treasury),
    )
    assert revalued.status_code == 201, revalued.text
    assert_problem(
        client.post(f"/v1/reserves/valuations/{revalued.json()['id']}/approve", headers=bearer(staff.treasury)), 403
    )  # R40: not by the maker
    approved = client.post(f"/v1/reserves/valuations/{revalued.json()['id']}/approve", headers=bearer(staff.treasury2))
    assert approved.status_code == 200, approved.text
    assert approved.json()["effective_block"] == before + 1
    gateway.w3.provider.make_request("evm_mine", [])
    after = gateway.head()

    old = attest(client, staff.auditor, before)
    new = attest(client, staff.auditor, after)
    assert old.status_code == new.status_code == 201, (old.text, new.text)
    old_rows = {row["asset_id"]: row for row in old.json()["report"]["reserve_assets"]}
    new_rows = {row["asset_id"]: row for row in new.json()["report"]["reserve_assets"]}
    assert (old_rows[bill["id"]]["market_value"], old_rows[bill["id"]]["counted"]) == ("49.00", "48.02")
    assert (new_rows[bill["id"]]["market_value"], new_rows[bill["id"]]["counted"]) == ("45.00", "44.10")
    assert new_rows[bill["id"]]["account"] == "safekeeping a/c 77"  # R3
    history = client.get(f"/v1/reserves/assets/{bill['id']}/valuations", headers=bearer(staff.auditor)).json()
    assert [v["market_value"] for v in history] == ["49.00", "45.00"]  # R5: kept


def test_blocks_outside_the_indexed_range_and_wrong_roles_are_refused(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    client = chain_client
    assert_problem(
        client.post("/v1/attestations", json={"as_of_block": 0}, headers=bearer(staff.auditor)),
        422,
        field="body.as_of_block",
    )  # before the deployment
    head = gateway.head()
    future = client.post("/v1/attestations", json={"as_of_block": head + 1000}, headers=bearer(staff.auditor))
    # Not mined: a 422 at once, not the 409 "not indexed yet" a client would wait out (cnh attest waited 60 s).
    problem = assert_problem(future, 422, field="body.as_of_block")
    assert f"the chain is at block {head}" in problem["detail"] or "has not been mined" in problem["detail"]
    for key in (staff.operator, staff.treasury, staff.admin):
        assert_problem(client.post("/v1/attestations", json={}, headers=bearer(key)), 403)
    assert_problem(client.post("/v1/attestations", json={}), 401)
    assert_problem(client.get("/v1/attestations/att_missing", headers=bearer(staff.auditor)), 404)


def test_custodian_names_with_dollar_signs_render_in_the_html_and_pdf_report(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    """R53: a custodian named like mathtext ("$...$") once made every later report.html/pdf a 500."""
    client = chain_client
    names = ["Math $\\frac{1}{$ Bank", "Bank $_$ Ltd", "Citi US$ & HK$ Custody"]
    for name in names:
        _reserve_asset(client, staff, custodian=name)
    gateway.w3.provider.make_request("evm_mine", [])  # the approvals count from the next block
    created = attest(client, staff.auditor, gateway.head())
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    assert {c["custodian"] for c in created.json()["report"]["concentration"]["custodians"]} >= set(names)

    html = client.get(f"/v1/attestations/{report_id}/report.html", headers=bearer(staff.auditor))
    assert html.status_code == 200, html.text
    charts = html.text.split("<svg")[1:]
    for name in names:
        assert any(name.replace("&", "&amp;") in chart for chart in charts), name  # drawn literally
    pdf = client.get(f"/v1/attestations/{report_id}/report.pdf", headers=bearer(staff.auditor))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert b"Bank $_$ Ltd" in pdf.content


class _StateNotServed:
    """totalSupply() as a restarted Anvil answers it: the block exists but its state is gone."""

    def __init__(self, real: Any, block: int) -> None:
        self.real, self.block = real, block

    def call(self, block_identifier: Any = "latest") -> Any:
        if block_identifier == self.block:
            message = f"BlockOutOfRangeError: block height is 3 but requested was {self.block}"
            error = {"code": -32602, "message": message}
            raise Web3RPCError(str(error), rpc_response={"jsonrpc": "2.0", "id": 1, "error": error})
        return self.real.call(block_identifier=block_identifier)


def test_a_block_whose_state_the_node_no_longer_serves_is_a_422_naming_as_of_block_and_stores_nothing(
    chain_client: Any, staff: Staff, gateway: ChainGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = chain_client
    gateway.w3.provider.make_request("evm_mine", [])
    block = gateway.head()
    total_supply = gateway.token.functions.totalSupply
    monkeypatch.setattr(gateway.token.functions, "totalSupply", lambda: _StateNotServed(total_supply(), block))

    problem = assert_problem(attest(client, staff.auditor, block), 422, field="body.as_of_block")
    assert f"no longer serves state at block {block}" in problem["detail"]
    assert "later block" in problem["detail"] and "archive node" in problem["detail"]  # what to do
    with client.app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Attestation)) == 0
        created = select(func.count()).select_from(AuditLogEntry).where(AuditLogEntry.action == "attestation.created")
        assert session.scalar(created) == 0
