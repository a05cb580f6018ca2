"""The whole flow through the HTTP API on a real Anvil: onboard → KYC → wallet proof → deposit →
mint → transfer between customers → redeem → audit verify (R1, R10, R11, R13, R16, R21, R22, R50)."""

from __future__ import annotations

from typing import Any

from issuer_service.chain.gateway import ChainGateway
from issuer_service.chain.tx import send_and_wait
from tests.service.flow import (
    Staff,
    add_buffer_capital,
    new_customer,
    redemption_body,
    request_mint,
    wait_for,
)
from tests.service.service_helpers import bearer

UNITS_PER_CNH = 1_000_000


def test_full_flow_mints_transfers_redeems_and_keeps_ledger_chain_and_audit_consistent(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="1000.00")
    bob = new_customer(client, staff, name="Bob Ltd")

    accepted = request_mint(client, alice, "1000.00")
    assert accepted.status_code == 202, accepted.text
    mint = wait_for(client, f"/v1/mints/{accepted.json()['id']}", alice.key, {"confirmed", "failed"})
    assert mint["status"] == "confirmed", mint
    assert mint["tx_hash"] and mint["block_number"]
    assert gateway.balance_of(alice.wallet.address) == 1000 * UNITS_PER_CNH

    balance = client.get(f"/v1/customers/{alice.id}/balance", headers=bearer(alice.key)).json()
    assert (balance["available"], balance["reserved"]) == ("0.00", "0.00")  # the fiat now backs tokens

    # Customers move tokens between allow-listed wallets themselves, on chain (R22).
    gateway.w3.provider.make_request("anvil_setBalance", [alice.wallet.address, hex(10**19)])
    send_and_wait(gateway.w3, alice.wallet, gateway.token.functions.transfer(bob.wallet.address, 250 * UNITS_PER_CNH))
    assert gateway.balance_of(bob.wallet.address) == 250 * UNITS_PER_CNH

    quote = client.get("/v1/redemptions/quote", params={"amount": "100.00"}).json()
    assert (quote["fee"], quote["payout"]) == ("0.00", "100.00")
    redeemed = client.post(
        "/v1/redemptions",
        json=redemption_body(client, bob, "100.00"),
        headers=bearer(bob.key, **{"Idempotency-Key": "bob-redeem-1"}),
    )
    assert redeemed.status_code == 202, redeemed.text
    redemption = wait_for(client, f"/v1/redemptions/{redeemed.json()['id']}", bob.key, {"paid", "failed"})
    assert redemption["status"] == "paid", redemption
    assert redemption["burn_tx_hash"] and redemption["payout_reference"]
    assert redemption["sla_met"] is True  # R13
    assert gateway.balance_of(bob.wallet.address) == 150 * UNITS_PER_CNH
    assert gateway.total_supply() == 900 * UNITS_PER_CNH

    reserves = client.get("/v1/reserves").json()
    assert reserves["outstanding"] == "900.00"  # ledger supply == chain supply (R16)
    assert reserves["reserves"] == "1000.00"  # 1000 in, 100 paid out, 100 buffer capital
    assert reserves["fully_backed"] is True

    verify = client.get("/v1/audit-log/verify", headers=bearer(staff.auditor)).json()
    assert verify["ok"] is True and verify["entries"] > 10
    actions = [
        r["action"]
        for r in client.get("/v1/audit-log", params={"limit": 200}, headers=bearer(staff.auditor)).json()["items"]
    ]
    for expected in (
        "mint.requested",
        "mint.approved",
        "mint.submitted",
        "mint.confirmed",
        "redemption.requested",
        "redemption.burned",
        "redemption.paid",
        "wallet.allow_listed",
    ):
        assert expected in actions
    # R16: the burn is recorded before the payout.
    assert actions.index("redemption.burned") < actions.index("redemption.paid")


def test_a_mint_approval_records_the_balances_its_commit_left(  # R1, R10, R50
    chain_client: Any, staff: Staff
) -> None:
    """The money moves at commit, under the pool and account locks; the `mint.approved` record
    still carries the balances as they were after each mint, not a stale first read."""
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="1000.00")
    ids = []
    for amount in ("300.00", "200.00"):
        accepted = request_mint(client, alice, amount)
        assert accepted.status_code == 202, accepted.text
        ids.append(accepted.json()["id"])
    records = client.get(
        "/v1/audit-log", params={"limit": 200, "entity_type": "mint"}, headers=bearer(staff.auditor)
    ).json()["items"]
    approved = {r["entity_id"]: r["data"] for r in records if r["action"] == "mint.approved"}
    first, second = approved[ids[0]], approved[ids[1]]
    assert (first["available_fen_after"], second["available_fen_after"]) == (70_000, 50_000)
    assert second["reserve_cash_fen_after"] - first["reserve_cash_fen_after"] == 20_000
    assert client.get("/v1/audit-log/verify", headers=bearer(staff.auditor)).json()["ok"] is True
