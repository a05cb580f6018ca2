"""Concurrent mints on PostgreSQL cannot over-mint: the R1 check and the fiat reservation happen
under the reserve pool's row lock (toolchain.md: check-then-insert over-mints without it)."""

from __future__ import annotations

import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from sqlalchemy import create_engine, text

from issuer_service.app import create_app
from issuer_service.chain.gateway import ChainGateway
from tests.service.flow import add_buffer_capital, new_customer, staff_keys, wait_for
from tests.service.service_helpers import bearer, make_settings

# Requests in flight at once: more than the app's request threads (CNH_API_THREADS, 40 by default),
# so every thread is busy and the rest queue, as under a real burst.
CLIENT_THREADS = 64


def test_200_concurrent_mints_against_reserves_for_100_mint_exactly_100_on_chain_and_in_the_ledger(
    pg_database_url: str, tmp_path: Path, gateway: ChainGateway
) -> None:  # R1, R10
    app = create_app(make_settings(pg_database_url, tmp_path), gateway=gateway)
    with TestClient(app) as client:
        staff = staff_keys(client)
        add_buffer_capital(client, staff, "2.00")  # 2% of 100.00: reserves back exactly 100.00 of supply
        alice = new_customer(client, staff, deposit="200.00")

        def mint(_: int) -> Any:
            return client.post(
                "/v1/mints",
                json={"wallet": alice.wallet.address, "amount": "1.00"},
                headers=bearer(alice.key, **{"Idempotency-Key": uuid.uuid4().hex}),
            )

        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            responses = list(pool.map(mint, range(200)))
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {202, 422}, {r.status_code: r.text for r in responses if r.status_code >= 500}
        accepted = [r.json()["id"] for r in responses if r.status_code == 202]
        refused = [r.json() for r in responses if r.status_code == 422]
        assert len(accepted) == 100
        assert {p["reason_code"] for p in refused} == {"reserve_insufficient"}
        for mint_id in accepted:
            assert wait_for(client, f"/v1/mints/{mint_id}", alice.key, {"confirmed", "failed"}, 120)["status"] == (
                "confirmed"
            )
        reserves = client.get("/v1/reserves").json()
        assert reserves["outstanding"] == "100.00"
        assert gateway.total_supply() == 100 * 10**6
        balance = client.get(f"/v1/customers/{alice.id}/balance", headers=bearer(alice.key)).json()
        assert (balance["available"], balance["reserved"]) == ("100.00", "0.00")


def test_500_concurrent_requests_with_one_idempotency_key_mint_once(
    pg_database_url: str, tmp_path: Path, gateway: ChainGateway
) -> None:
    app = create_app(make_settings(pg_database_url, tmp_path), gateway=gateway)
    with TestClient(app) as client:
        staff = staff_keys(client)
        add_buffer_capital(client, staff, "100.00")
        alice = new_customer(client, staff, deposit="100.00")

        def mint(_: int) -> Any:
            return client.post(
                "/v1/mints",
                json={"wallet": alice.wallet.address, "amount": "7.00"},
                headers=bearer(alice.key, **{"Idempotency-Key": "one-key-for-all"}),
            )

        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            responses = list(pool.map(mint, range(500)))
        ids = {r.json()["id"] for r in responses if r.status_code == 202}
        assert len(ids) == 1, [r.text for r in responses if r.status_code != 202][:3]
        assert all(r.status_code in (202, 409) for r in responses)
        (mint_id,) = ids
        assert wait_for(client, f"/v1/mints/{mint_id}", alice.key, {"confirmed", "failed"})["status"] == "confirmed"
        assert gateway.total_supply() == 7 * 10**6
        balance = client.get(f"/v1/customers/{alice.id}/balance", headers=bearer(alice.key)).json()
        assert balance["available"] == "93.00"
    engine = create_engine(pg_database_url)
    with engine.connect() as db:
        assert db.execute(text("SELECT count(*) FROM mints")).scalar_one() == 1
        assert db.execute(text("SELECT count(*) FROM chain_txs WHERE function = 'mint'")).scalar_one() == 1
    engine.dispose()
