"""Rows for the attestation-cadence tests (R52, R53): a report stated at a chosen time and an
outstanding supply, written straight to the database so no chain is needed."""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from fastapi import FastAPI

from issuer_service.attestations.models import Attestation
from issuer_service.clock import utc_now
from issuer_service.ids import new_id
from issuer_service.reserves import repository as reserves

_REPORT = {
    "supply": {"total_supply": "100.000000"},
    "reserve_test": {"reserves_counted": "110.00"},
    "proof_of_liabilities": {"root_hash": "ab" * 32, "total": "100.000000", "holders": 1},
    "exceptions": [],
}


def attested_at(app: FastAPI, stated_at: datetime, *, block: int = 7) -> None:
    """An attestation report whose block's time is `stated_at`."""
    with app.state.sessionmaker.begin() as session:
        session.add(
            Attestation(
                id=new_id("att"),
                as_of_block=block,
                block_hash="0x" + secrets.token_hex(32),
                block_timestamp=int(stated_at.timestamp()),
                sha256=secrets.token_hex(32),
                result="pass",
                supply_units="100000000",
                pol_root="ab" * 32,
                holders=1,
                report_json=json.dumps(_REPORT),
                created_by="key_test",
                created_at=utc_now(),
            )
        )


def outstanding(app: FastAPI, fen: int) -> None:
    """The ledger's outstanding supply, as confirmed mints would have left it."""
    with app.state.sessionmaker.begin() as session:
        pool = reserves.lock_pool(session)
        pool.outstanding_fen = fen
        pool.cash_fen = fen
