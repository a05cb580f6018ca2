"""The audit log is append-only and hash-chained; auditors can verify it end to end (R50, R51)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from compliance.audit_chain import GENESIS_HASH
from issuer_service.audit.service import append_audit, verify_audit_log
from issuer_service.db import make_engine, make_sessionmaker, run_migrations
from issuer_service.request_context import request_id_context
from tests.service.service_helpers import assert_problem, bearer


@pytest.fixture
def auditor_key(make_key: Callable[..., str]) -> str:
    return make_key("auditor")


def _flow(client: TestClient, admin_key: str, operator_key: str, make_key: Callable[..., str]) -> str:
    """A bit of everything: customer, KYC, deposit, pause. Returns the customer id."""
    customer = client.post(
        "/v1/customers",
        json={"name": "Flow Ltd", "kind": "institution", "jurisdiction": "HK"},
        headers=bearer(operator_key, **{"X-Request-ID": "flow-create-customer"}),
    ).json()
    client.post(
        f"/v1/customers/{customer['id']}/kyc",
        json={"decision": "approved", "risk": "medium", "reference": "K-1"},
        headers=bearer(make_key("compliance")),
    )
    client.post(
        "/v1/deposits",
        json={"customer_id": customer["id"], "amount": "100.00", "currency": "CNH", "bank_reference": "R-1"},
        headers=bearer(operator_key, **{"Idempotency-Key": "flow"}),
    )
    client.post("/v1/admin/pause", headers=bearer(admin_key))
    return str(customer["id"])


def _all_records(client: TestClient, key: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/audit-log", params=params, headers=bearer(key)).json()
        records += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return records


def test_chain_verifies_after_a_flow_and_every_record_names_its_request(
    client: TestClient, admin_key: str, operator_key: str, make_key: Callable[..., str], auditor_key: str
) -> None:
    customer_id = _flow(client, admin_key, operator_key, make_key)
    verification = client.get("/v1/audit-log/verify", headers=bearer(auditor_key)).json()
    records = _all_records(client, auditor_key)
    assert verification == {
        "ok": True,
        "entries": len(records),
        "head_hash": records[-1]["hash"],
        "first_bad_seq": None,
        "reason": None,
    }
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[0]["prev_hash"] == GENESIS_HASH
    assert all(r["request_id"] for r in records)
    assert {"customer.created", "customer.kyc_decided", "deposit.confirmed", "system.paused"} <= {
        r["action"] for r in records
    }
    created = next(r for r in records if r["action"] == "customer.created")
    assert (created["entity_id"], created["request_id"]) == (customer_id, "flow-create-customer")
    deposit = next(r for r in records if r["action"] == "deposit.confirmed")
    assert deposit["data"]["amount_fen"] == 10000 and deposit["rule_ids"] == ["R10"]


def test_admin_may_verify_but_other_staff_may_not_read_the_log(
    client: TestClient, admin_key: str, operator_key: str
) -> None:
    assert client.get("/v1/audit-log/verify", headers=bearer(admin_key)).json()["ok"] is True
    assert_problem(client.get("/v1/audit-log", headers=bearer(operator_key)), 403)


def test_filters_select_one_entity(
    client: TestClient, admin_key: str, operator_key: str, make_key: Callable[..., str], auditor_key: str
) -> None:
    customer_id = _flow(client, admin_key, operator_key, make_key)
    items = client.get(
        "/v1/audit-log", params={"entity_type": "customer", "entity_id": customer_id}, headers=bearer(auditor_key)
    ).json()["items"]
    assert [r["action"] for r in items] == ["customer.created", "customer.kyc_decided"]


def test_export_streams_every_record_as_json_lines(
    client: TestClient, admin_key: str, operator_key: str, make_key: Callable[..., str], auditor_key: str
) -> None:
    _flow(client, admin_key, operator_key, make_key)
    response = client.get("/v1/audit-log/export", headers=bearer(auditor_key))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    exported = [json.loads(line) for line in response.text.splitlines()]
    assert exported == _all_records(client, auditor_key)
    # The head it runs up to, so that a client can tell a complete file from one cut short.
    assert (int(response.headers["x-audit-head-seq"]), response.headers["x-audit-head-hash"]) == (
        exported[-1]["seq"],
        exported[-1]["hash"],
    )
    assert exported[-1]["seq"] == len(exported)
    assert_problem(client.get("/v1/audit-log/export", headers=bearer(admin_key)), 403)


def _disable_append_only(connection: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_verify_finds_a_record_changed_behind_the_services_back(
    client: TestClient,
    admin_key: str,
    operator_key: str,
    make_key: Callable[..., str],
    auditor_key: str,
    db_engine: Engine,
) -> None:
    _flow(client, admin_key, operator_key, make_key)
    target = next(r for r in _all_records(client, auditor_key) if r["action"] == "deposit.confirmed")
    with db_engine.begin() as connection:
        _disable_append_only(connection)
        connection.execute(
            text("UPDATE audit_log SET data = :data WHERE seq = :seq"),
            {"data": json.dumps({**target["data"], "amount_fen": 1}), "seq": target["seq"]},
        )
    verification = client.get("/v1/audit-log/verify", headers=bearer(auditor_key)).json()
    assert verification["ok"] is False
    assert verification["first_bad_seq"] == target["seq"]
    assert verification["entries"] == target["seq"] - 1
    assert "hash mismatch" in verification["reason"]


def test_verify_finds_the_newest_records_removed(
    client: TestClient,
    admin_key: str,
    operator_key: str,
    make_key: Callable[..., str],
    auditor_key: str,
    db_engine: Engine,
) -> None:
    _flow(client, admin_key, operator_key, make_key)
    last = _all_records(client, auditor_key)[-1]["seq"]
    with db_engine.begin() as connection:
        _disable_append_only(connection)
        connection.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": last})
    verification = client.get("/v1/audit-log/verify", headers=bearer(auditor_key)).json()
    assert verification["ok"] is False
    assert verification["first_bad_seq"] == last
    assert "chain head" in verification["reason"]


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"], ids=["update", "delete"]
)
def test_database_refuses_to_change_or_delete_audit_records(
    client: TestClient, admin_key: str, db_engine: Engine, statement: str
) -> None:
    assert client.get("/v1/audit-log/verify", headers=bearer(admin_key)).json()["entries"] >= 1
    with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as connection:
        connection.execute(text(statement))
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log WHERE actor = 'mallory'")).scalar_one() == 0
    assert client.get("/v1/audit-log/verify", headers=bearer(admin_key)).json()["ok"] is True


def test_postgresql_refuses_truncate_of_the_audit_log(pg_database_url: str) -> None:
    engine = make_engine(pg_database_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    finally:
        engine.dispose()


def test_concurrent_appends_keep_one_valid_chain_on_postgresql(pg_database_url: str) -> None:
    run_migrations(pg_database_url)
    engine = make_engine(pg_database_url)
    sessions = make_sessionmaker(engine)
    workers, per_worker = 8, 10
    barrier = threading.Barrier(workers)

    def append_many(worker: int) -> None:
        barrier.wait()
        for i in range(per_worker):
            with request_id_context(f"req-{worker}-{i}"), sessions.begin() as session:
                append_audit(
                    session,
                    actor=f"worker-{worker}",
                    action="test.appended",
                    entity_type="test",
                    entity_id=f"{worker}-{i}",
                    data={"i": i},
                )

    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(append_many, range(workers)))
        with sessions() as session:
            verification = verify_audit_log(session)
            seqs = [row[0] for row in session.execute(text("SELECT seq FROM audit_log ORDER BY seq"))]
    finally:
        engine.dispose()
    assert verification.ok is True
    assert verification.entries == workers * per_worker
    assert seqs == list(range(1, workers * per_worker + 1))


def test_a_float_in_audit_data_is_refused_and_nothing_is_written(database_url: str) -> None:
    run_migrations(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with pytest.raises(TypeError, match="float"), sessions.begin() as session:
            append_audit(session, actor="t", action="t.x", entity_type="t", entity_id="1", data={"amount": 1.5})
        with sessions() as session:
            assert verify_audit_log(session).entries == 0
    finally:
        engine.dispose()


def _append(session: Any, entity_id: str, **extra: Any) -> None:
    append_audit(session, actor="t", action="t.appended", entity_type="t", entity_id=entity_id, data={}, **extra)


def test_records_are_chained_at_commit_in_the_order_appended_and_report_their_seq(database_url: str) -> None:
    run_migrations(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    seen: list[tuple[str, int]] = []
    try:
        with sessions.begin() as session:
            for name in ("first", "second", "third"):
                _append(session, name, on_written=lambda seq, name=name: seen.append((name, seq)))
            # Nothing is chained before the commit: the head is not held for the transaction's body.
            assert session.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0
        with sessions() as session:
            rows = session.execute(text("SELECT entity_id, seq FROM audit_log ORDER BY seq")).all()
            assert verify_audit_log(session).ok is True
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("first", 1), ("second", 2), ("third", 3)]
    assert seen == [("first", 1), ("second", 2), ("third", 3)]


def test_records_of_a_rolled_back_transaction_are_never_written(database_url: str) -> None:
    run_migrations(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with pytest.raises(RuntimeError, match="boom"), sessions.begin() as session:
            _append(session, "lost")
            raise RuntimeError("boom")
        with sessions.begin() as session:
            _append(session, "kept")
        with sessions() as session:
            ids = session.execute(text("SELECT entity_id FROM audit_log ORDER BY seq")).scalars().all()
            assert verify_audit_log(session).entries == 1
    finally:
        engine.dispose()
    assert ids == ["kept"]


def test_an_open_transaction_with_a_pending_record_does_not_block_other_appenders(pg_database_url: str) -> None:
    """The reason records are chained at commit: a slow request must not queue every other one."""
    run_migrations(pg_database_url)
    engine = make_engine(pg_database_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as slow:
            _append(slow, "slow")
            slow.execute(text("SELECT 1"))  # the slow request is mid-way, its transaction open
            done = threading.Event()

            def other() -> None:
                with sessions.begin() as session:
                    _append(session, "fast")
                done.set()

            thread = threading.Thread(target=other)
            thread.start()
            assert done.wait(10), "another appender waited for an open transaction's pending record"
            thread.join()
        with sessions() as session:
            ids = session.execute(text("SELECT entity_id FROM audit_log ORDER BY seq")).scalars().all()
            assert verify_audit_log(session).ok is True
    finally:
        engine.dispose()
    assert ids == ["fast", "slow"]


def test_a_rolled_back_savepoint_drops_only_the_records_appended_inside_it(database_url: str) -> None:
    run_migrations(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            _append(session, "before")
            with pytest.raises(RuntimeError, match="inner"), session.begin_nested():
                _append(session, "inside, rolled back")
                raise RuntimeError("inner")
            with session.begin_nested():
                _append(session, "inside, released")
            _append(session, "after")
        with sessions() as session:
            ids = session.execute(text("SELECT entity_id FROM audit_log ORDER BY seq")).scalars().all()
            assert verify_audit_log(session).ok is True
    finally:
        engine.dispose()
    assert ids == ["before", "inside, released", "after"]


def test_records_of_a_session_closed_without_commit_are_not_carried_into_its_next_transaction(
    database_url: str,
) -> None:
    run_migrations(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        session = sessions()
        session.execute(text("SELECT 1"))
        _append(session, "abandoned")
        session.close()
        with session.begin():
            _append(session, "next")
        session.close()
        with sessions() as check:
            ids = check.execute(text("SELECT entity_id FROM audit_log ORDER BY seq")).scalars().all()
    finally:
        engine.dispose()
    assert ids == ["next"]
