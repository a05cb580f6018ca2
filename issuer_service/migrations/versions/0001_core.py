"""Core tables: audit chain, API keys, customers and KYC, deposits and fiat accounts,
idempotency keys, the pause flag and approvals.

Revision ID: 0001_core
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from compliance.audit_chain import GENESIS_HASH

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

# R51: the application never changes or deletes an audit record; the database refuses it too.
_PG_APPEND_ONLY = [
    """
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only (R51): % refused', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
]
_SQLITE_APPEND_ONLY = [
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (R51): UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (R51): DELETE refused'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'cancelled')", name=op.f("ck_approvals_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_index(op.f("ix_approvals_action"), "approvals", ["action"])

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"])

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("kyc_status", sa.String(length=16), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('individual', 'institution')", name=op.f("ck_customers_kind")),
        sa.CheckConstraint("kyc_status IN ('pending', 'approved', 'rejected')", name=op.f("ck_customers_kyc_status")),
        sa.CheckConstraint("risk IS NULL OR risk IN ('low', 'medium', 'high')", name=op.f("ck_customers_risk")),
        sa.CheckConstraint("status IN ('active', 'blocked')", name=op.f("ck_customers_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_json", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("principal_id", "key", name=op.f("uq_idempotency_keys_principal_id_key")),
    )
    op.create_table(
        "system_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_system_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_state")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "(role = 'customer') = (customer_id IS NOT NULL)", name=op.f("ck_api_keys_customer_binding")
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'operator', 'compliance', 'treasury', 'auditor', 'customer')",
            name=op.f("ck_api_keys_role"),
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_api_keys_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_customer_id"), "api_keys", ["customer_id"])

    op.create_table(
        "deposits",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("currency = 'CNH'", name=op.f("ck_deposits_currency_cnh")),
        sa.CheckConstraint("status IN ('confirmed')", name=op.f("ck_deposits_status")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_deposits_amount_positive")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_deposits_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposits")),
        sa.UniqueConstraint("customer_id", "bank_reference", name=op.f("uq_deposits_customer_id_bank_reference")),
    )
    op.create_index(op.f("ix_deposits_customer_id"), "deposits", ["customer_id"])

    op.create_table(
        "fiat_accounts",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("available_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("available_fen >= 0", name=op.f("ck_fiat_accounts_available_not_negative")),
        sa.CheckConstraint("reserved_fen >= 0", name=op.f("ck_fiat_accounts_reserved_not_negative")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_fiat_accounts_customer_id_customers")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_fiat_accounts")),
    )
    op.create_table(
        "kyc_decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f("ck_kyc_decisions_decision")),
        sa.CheckConstraint("risk IN ('low', 'medium', 'high')", name=op.f("ck_kyc_decisions_risk")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_kyc_decisions_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_decisions")),
    )
    op.create_index(op.f("ix_kyc_decisions_customer_id"), "kyc_decisions", ["customer_id"])

    dialect = op.get_bind().dialect.name
    for statement in _PG_APPEND_ONLY if dialect == "postgresql" else _SQLITE_APPEND_ONLY:
        op.execute(statement)

    # The single rows the service locks: the chain tip (empty chain) and the pause flag.
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("seq", sa.BigInteger),
            sa.column("hash", sa.String),
        ),
        [{"id": 1, "seq": 0, "hash": GENESIS_HASH}],
    )
    op.bulk_insert(
        sa.table("system_state", sa.column("id", sa.Integer), sa.column("paused", sa.Boolean)),
        [{"id": 1, "paused": False}],
    )


def downgrade() -> None:
    raise NotImplementedError("0001_core cannot be downgraded: it would delete the audit log (R51)")
