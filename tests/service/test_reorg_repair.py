"""A reorg deeper than the confirmation depth drops a confirmed mint from the chain: the worker
re-sends the same signed transactions in their original order, and the chain ends with the mint
exactly once, matching the ledger (R16)."""

from __future__ import annotations

import time
from typing import Any

from issuer_service.chain.gateway import ChainGateway
from tests.service.flow import Staff, add_buffer_capital, new_customer, request_mint, wait_for
from tests.service.service_helpers import bearer

UNITS = 10**6


def _until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_mint_dropped_by_a_deep_reorg_is_resent_once_and_reconciles(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    mint = request_mint(chain_client, alice, "10.00").json()
    mint = wait_for(chain_client, f"/v1/mints/{mint['id']}", alice.key, {"confirmed"})
    assert gateway.total_supply() == 10 * UNITS
    _until(lambda: chain_client.get("/readyz").status_code == 200)

    # Reorg deeper than the confirmation depth (1), replaying nothing: the mint's block is replaced.
    head = gateway.head()
    depth = head - mint["block_number"] + 2
    gateway.w3.provider.make_request("anvil_reorg", [depth, []])
    assert gateway.total_supply() == 0  # the chain forgot the mint; the ledger has not

    _until(lambda: gateway.total_supply() == 10 * UNITS)
    _until(lambda: chain_client.get("/readyz").status_code == 200)
    minted = gateway.token.events.Minted.get_logs(from_block=0)
    assert [("0x" + bytes(log["transactionHash"]).hex()) for log in minted] == [mint["tx_hash"]]
    actions = [
        r["action"]
        for r in chain_client.get("/v1/audit-log", params={"limit": 200}, headers=bearer(staff.auditor)).json()["items"]
    ]
    assert "chain_tx.reorg_resent" in actions  # the indexer's own rewind is tested in test_indexer.py
    assert chain_client.get("/v1/audit-log/verify", headers=bearer(staff.auditor)).json()["ok"] is True
