"""Pure rules for the indexer: which chain events change supply, and which outbox calls explain them.

No database and no chain here, so the R16 classification is testable on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from eth_utils.address import to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# The outbox functions that change supply, and in which direction (R16).
SUPPLY_DIRECTION: Mapping[str, int] = {"mint": 1, "redeemWithPermit": -1, "burnFrozen": -1}
MINT_FUNCTIONS = frozenset(f for f, d in SUPPLY_DIRECTION.items() if d > 0)
BURN_FUNCTIONS = frozenset(f for f, d in SUPPLY_DIRECTION.items() if d < 0)

SupplyChange = Literal["mint", "burn"]


def supply_change(log: Mapping[str, Any]) -> SupplyChange | None:
    """A Transfer from 0x0 mints and one to 0x0 burns; everything else moves existing tokens.

    Redeemed is not counted: the same transaction also emits the burning Transfer, which is.
    """
    if log["event"] != "Transfer":
        return None
    if log["args"]["from"] == ZERO_ADDRESS:
        return "mint"
    if log["args"]["to"] == ZERO_ADDRESS:
        return "burn"
    return None


def explains(change: SupplyChange, function: str | None) -> bool:
    """Whether an outbox call of `function` (None: no outbox row has the tx hash) accounts for
    `change`. A mint must come from `mint`; a burn from a redemption or a seizure (R16, R24)."""
    allowed = MINT_FUNCTIONS if change == "mint" else BURN_FUNCTIONS
    return function in allowed


def outbox_supply_units(function: str, args_json: str) -> int:
    """The signed supply change of one outbox call: + for a mint, − for a burn.

    All three functions take the amount in token units as their second argument:
    mint(to, units), redeemWithPermit(holder, units, ...), burnFrozen(account, units, caseId).
    """
    return SUPPLY_DIRECTION[function] * int(json.loads(args_json)[1])


def event_row(log: Mapping[str, Any], *, explaining_function: str | None, now: datetime) -> dict[str, Any]:
    """The `chain_events` values for one log from `ChainGateway.token_logs`."""
    args = log["args"]
    row: dict[str, Any] = {
        "block_number": log["block_number"],
        "block_hash": log["block_hash"],
        "tx_hash": log["tx_hash"],
        "log_index": log["log_index"],
        "event": log["event"],
        "request_id": None,
        "explained": None,
        "created_at": now,
    }
    if log["event"] == "Transfer":
        row.update(from_address=_address(args["from"]), to_address=_address(args["to"]),
                   amount_units=int(args["value"]))
        change = supply_change(log)
        if change is not None:
            row["explained"] = explains(change, explaining_function)
    else:  # Redeemed(holder, amount, requestId)
        row.update(from_address=_address(args["holder"]), to_address=None, amount_units=int(args["amount"]),
                   request_id="0x" + bytes(args["requestId"]).hex())
    return row


def _address(value: str) -> str:
    return str(to_checksum_address(value))
