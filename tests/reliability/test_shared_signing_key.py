"""Two service processes (each an API with its in-process outbox worker) share one PostgreSQL
database and one set of signing keys (design.md "Scale-out"): under concurrent mints sent to both,
no nonce is ever handed out twice, nothing is re-signed, and every mint is confirmed once (R1, R16).

A test-only trigger on the throw-away database records, for every pending → signed transition of an
outbox row, the nonce and which process (its PostgreSQL application_name) signed it, so the test
sees transient collisions too, not just the healed end state.

Size: CNH_SHARED_KEY_MINTS (default 80; the full-size run uses 600)."""

from __future__ import annotations

import random
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from issuer_service.chain.anvil import free_port
from tests.reliability.flows import (
    Api,
    assert_books_balance,
    assert_no_secret_in_logs,
    set_up_issuer,
    wait_settled,
)
from tests.reliability.harness import Stack, build_stack, drop_database
from tests.sizes import size

MINTS = size("CNH_SHARED_KEY_MINTS", ci=80, full=600)
CLIENT_THREADS = 4

RECORD_SIGNER_SQL = [
    "CREATE TABLE test_signed_by (chain_tx_id text, function text, signer text, nonce bigint, app text)",
    """CREATE FUNCTION test_record_signer() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.status = 'signed' AND OLD.status = 'pending' THEN
           INSERT INTO test_signed_by VALUES (NEW.id, NEW.function, NEW.signer, NEW.nonce,
                                              current_setting('application_name'));
         END IF;
         RETURN NEW;
       END $$""",
    "CREATE TRIGGER test_record_signer AFTER UPDATE ON chain_txs FOR EACH ROW EXECUTE FUNCTION test_record_signer()",
]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = build_stack(tmp_path)
    # INFO, as in production, and a real pepper, so the log check below has something to look for.
    stack.extra_env.update({"CNH_LOG_LEVEL": "INFO", "CNH_API_KEY_PEPPER": secrets.token_urlsafe(24)})
    try:
        yield stack
    finally:
        stack.stop()
        drop_database(stack.database_url)


def _as_app(url: str, name: str) -> dict[str, str]:
    return {"DATABASE_URL": f"{url}?application_name={name}"}


def test_two_processes_sharing_one_minter_key_never_reuse_a_nonce_and_confirm_every_mint(stack: Stack) -> None:
    started = time.monotonic()
    url_a = stack.start_api("service-a", stack.port, env=_as_app(stack.database_url, "service-a"))
    engine = create_engine(stack.database_url)
    with engine.begin() as db:  # the first process has migrated the database; instrument it
        for statement in RECORD_SIGNER_SQL:
            db.execute(text(statement))
    url_b = stack.start_api("service-b", free_port(), env=_as_app(stack.database_url, "service-b"))
    apis = [Api(url_a), Api(url_b)]
    issuer = set_up_issuer(apis[0], stack.admin_key, customers=2, deposit="10000.00", capital="10000.00")

    set_up = time.monotonic()
    accepted: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        rng = random.Random(index)
        holder = issuer.holders[index % len(issuer.holders)]
        for n in range(MINTS // CLIENT_THREADS):
            api = apis[(index + n) % 2]  # alternate processes: both accept and both workers sign
            body = {"wallet": holder.wallet.address, "amount": f"{rng.randint(1, 3)}.00"}
            response = api.call("POST", "/v1/mints", holder.key, json=body, idempotency_key=uuid.uuid4().hex)
            assert response.status_code == 202, response.text
            with lock:
                accepted.append(response.json()["id"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == MINTS // CLIENT_THREADS * CLIENT_THREADS
    loaded = time.monotonic()
    wait_settled(stack)
    settled = time.monotonic()

    with engine.connect() as db:
        signed = db.execute(text("SELECT chain_tx_id, function, signer, nonce, app FROM test_signed_by")).all()
        troubled = db.execute(
            text("SELECT id, attempts, last_error FROM chain_txs WHERE attempts > 0 OR last_error IS NOT NULL")
        ).all()
        statuses = Counter(row[0] for row in db.execute(text("SELECT status FROM chain_txs")).all())
    engine.dispose()

    minter = stack.keys.minter.address
    mint_signings = [row for row in signed if row.function == "mint"]
    # Both processes really signed mints with the one minter key.
    assert {row.signer for row in mint_signings} == {minter}
    by_app = Counter(row.app for row in mint_signings)
    assert set(by_app) == {"service-a", "service-b"}, by_app
    # No collision, not even a healed one: every signing got a nonce nobody else got, each row was
    # signed once (a re-sign would mean its nonce was taken), and no send ever failed.
    for signer in {row.signer for row in signed}:
        nonces = sorted(row.nonce for row in signed if row.signer == signer)
        assert nonces == list(range(nonces[0], nonces[0] + len(nonces))), f"nonce reused or skipped for {signer}"
        assert nonces[-1] + 1 == stack.w3.eth.get_transaction_count(signer, "latest")
    assert len({row.chain_tx_id for row in signed}) == len(signed), "an outbox row was re-signed"
    assert troubled == [], troubled[:3]
    assert set(statuses) == {"confirmed"}, statuses
    assert "was used elsewhere; re-signing" not in stack.log_text()

    figures = assert_books_balance(stack, apis[1], issuer, accepted_mints=accepted)
    checked = assert_no_secret_in_logs(stack, issuer)
    print(
        f"\nshared key: {figures['mints']} mints confirmed, signed by {dict(by_app)}, "
        f"{len(signed)} transactions in all; {checked} log bytes free of secrets; set-up {set_up - started:.1f} s, "
        f"load {loaded - set_up:.1f} s, settle {settled - loaded:.1f} s"
    )
