"""Migrations build exactly the tables the models describe, re-running them is a no-op, and data
in flight survives a migration that moves it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

import issuer_service.models  # noqa: F401  (every table on Base.metadata)
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.db import Base, MigrationRefused, alembic_config, make_engine, make_sessionmaker, run_migrations


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    run_migrations(database_url)  # already at head: must be a no-op
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_heads()
    finally:
        engine.dispose()


@contextmanager
def _old_database(tmp_path: Path, revision: str, *rows: tuple[str, dict[str, Any]]) -> Iterator[tuple[str, Engine]]:
    """A SQLite database migrated only up to `revision`, holding `rows` (SQL, parameters) written
    the way that revision's code wrote them."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            for statement, parameters in rows:
                connection.execute(text(statement), parameters)
        yield url, engine
    finally:
        engine.dispose()


def test_a_resume_waiting_for_its_second_admin_survives_the_move_to_the_approvals_mechanism(
    tmp_path: Path,
) -> None:  # R40, R41
    """0007: a pending resume in the pause module's old table becomes a pending `system.resume`
    approval request under the same id, so the second admin can still approve it after upgrading."""
    old_resumes = (
        "INSERT INTO approvals (id, action, status, requested_by, requested_at) VALUES "
        "('apr_waiting', 'resume', 'pending', 'key_first_admin', '2026-11-25 09:00:00'), "
        "('apr_done', 'resume', 'approved', 'key_first_admin', '2026-11-24 09:00:00')"
    )
    with _old_database(tmp_path, "0003_compliance", (old_resumes, {})) as (url, engine):
        run_migrations(url)
        with make_sessionmaker(engine)() as session:
            moved = session.scalars(select(ApprovalRequest)).all()
        assert [(r.id, r.action, r.status, r.requested_by, r.approver_roles) for r in moved] == [
            ("apr_waiting", "system.resume", "pending", "key_first_admin", "admin")
        ]
        assert moved[0].created_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
        assert "approvals" not in inspect(engine).get_table_names()


def test_two_records_of_one_transfer_stop_the_upgrade_naming_the_transaction_and_change_nothing(
    tmp_path: Path,
) -> None:  # R25
    """0011 makes one travel-rule record per transfer unique; a database that already holds two is
    left as it is, and start-up says which transfer compliance must settle, in one line."""
    from issuer_service.__main__ import _migrate
    from tests.service.service_helpers import make_settings

    twice = "0x" + "ab" * 32
    record = (
        "INSERT INTO travel_rule_records (id, kind, tx_hash, originator_json, beneficiary_json, "
        "full_data_required, complete, created_by, created_at) VALUES "
        "(:id, 'transfer', :tx, '{}', '{}', 1, 1, 'key_alice', '2026-11-25 09:00:00')"
    )
    rows = [(record, {"id": record_id, "tx": twice}) for record_id in ("trr_first", "trr_second")]
    with _old_database(tmp_path, "0009_travel_rule_seizures", *rows) as (url, engine):
        with pytest.raises(MigrationRefused, match=twice):
            run_migrations(url)
        with pytest.raises(SystemExit, match=f"^cannot start: the database at {url} needs attention first: .*{twice}"):
            _migrate(make_settings(url, tmp_path))

        names = {index["name"] for index in inspect(engine).get_indexes("travel_rule_records")}
        assert "uq_travel_rule_records_transfer_tx" not in names
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT id FROM travel_rule_records ORDER BY id")).scalars().all()
        assert kept == ["trr_first", "trr_second"]


def test_idempotency_keys_move_to_their_customers_scope_unless_two_keys_of_one_customer_used_them(
    tmp_path: Path,
) -> None:
    """0012 scopes Idempotency-Keys to the customer: a customer key's rows move to the customer, so
    a retry through any of its keys still replays them; a staff key's stay with the key; where two
    keys of one customer had used the same Idempotency-Key, both rows stay where they were."""
    at = {"at": "2026-11-25 09:00:00"}
    customer = (
        "INSERT INTO customers (id, name, kind, jurisdiction, kyc_status, status, created_at, created_by) VALUES "
        "('cus_alice', 'Alice Ltd', 'institution', 'HK', 'approved', 'active', :at, 'key_op')"
    )
    keys = (
        "INSERT INTO api_keys (id, role, label, customer_id, key_hash, created_at, created_by) VALUES "
        "('key_a1', 'customer', 'a1', 'cus_alice', 'h1', :at, 'key_admin'), "
        "('key_a2', 'customer', 'a2', 'cus_alice', 'h2', :at, 'key_admin'), "
        "('key_op', 'operator', 'op', NULL, 'h3', :at, 'key_admin')"
    )
    used = (
        "INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, status_code, created_at) "
        "VALUES ('key_a1', 'once', 'POST', '/v1/mints', 'x', 202, :at), "
        "('key_a1', 'both', 'POST', '/v1/mints', 'y', 202, :at), "
        "('key_a2', 'both', 'POST', '/v1/mints', 'z', 202, :at), "
        "('key_op', 'dep-1', 'POST', '/v1/deposits', 'w', 201, :at)"
    )
    with _old_database(tmp_path, "0001_core", (customer, at), (keys, at), (used, at)) as (url, engine):
        run_migrations(url)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT scope, key, request_hash FROM idempotency_keys ORDER BY request_hash")
            )
            assert [tuple(row) for row in rows] == [
                ("key_op", "dep-1", "w"),
                ("cus_alice", "once", "x"),
                ("key_a1", "both", "y"),
                ("key_a2", "both", "z"),
            ]
