"""Compliance layer: approvals and their votes, sanctions screening lists and cases, wallet freeze
holds and seizures, per-customer limit overrides, travel-rule records (R12, R20, R23-R25, R40).

Revision ID: 0003_compliance
Revises: 0002_chain
Create Date: 2026-11-26 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_compliance"
down_revision = "0002_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("approver_roles", sa.String(length=100), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requester_role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled')", name=op.f("ck_approval_requests_status")
        ),
        sa.CheckConstraint("required_approvals >= 1", name=op.f("ck_approval_requests_at_least_one_approver")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index("ix_approval_requests_action_status", ["action", "status"], unique=False)
        batch_op.create_index("ix_approval_requests_subject", ["subject_type", "subject_id"], unique=False)

    op.create_table(
        "screening_lists",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("loaded_by", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_lists")),
    )
    op.create_table(
        "travel_rule_records",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("originator_json", sa.Text(), nullable=False),
        sa.Column("beneficiary_json", sa.Text(), nullable=False),
        sa.Column("full_data_required", sa.Boolean(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('redemption', 'mint', 'transfer')", name=op.f("ck_travel_rule_records_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_travel_rule_records")),
    )
    with op.batch_alter_table("travel_rule_records", schema=None) as batch_op:
        batch_op.create_index("ix_travel_rule_records_subject", ["kind", "subject_id"], unique=False)
        batch_op.create_index("ix_travel_rule_records_tx_hash", ["tx_hash"], unique=False)

    op.create_table(
        "approval_votes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("approver_id", sa.String(length=64), nullable=False),
        sa.Column("approver_role", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["approval_requests.id"], name=op.f("fk_approval_votes_request_id_approval_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_votes")),
        sa.UniqueConstraint("request_id", "approver_id", name=op.f("uq_approval_votes_request_id_approver_id")),
    )
    op.create_table(
        "customer_limit_overrides",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("daily_mint_limit_fen", sa.BigInteger(), nullable=True),
        sa.Column("daily_redeem_limit_fen", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approval_id", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "daily_mint_limit_fen IS NULL OR daily_mint_limit_fen >= 0",
            name=op.f("ck_customer_limit_overrides_mint_not_negative"),
        ),
        sa.CheckConstraint(
            "daily_redeem_limit_fen IS NULL OR daily_redeem_limit_fen >= 0",
            name=op.f("ck_customer_limit_overrides_redeem_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_limit_overrides_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_limit_overrides")),
    )
    op.create_table(
        "screening_cases",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("list_version", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=200), nullable=False),
        sa.Column("match_kind", sa.String(length=16), nullable=False),
        sa.Column("matched_value", sa.String(length=200), nullable=False),
        sa.Column("screened_value", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint("match_kind IN ('name', 'address')", name=op.f("ck_screening_cases_match_kind")),
        sa.CheckConstraint("status IN ('open', 'cleared', 'confirmed')", name=op.f("ck_screening_cases_status")),
        sa.CheckConstraint("subject_type IN ('customer', 'wallet')", name=op.f("ck_screening_cases_subject_type")),
        sa.CheckConstraint("score >= 0 AND score <= 100", name=op.f("ck_screening_cases_score_range")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_screening_cases_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_cases")),
    )
    with op.batch_alter_table("screening_cases", schema=None) as batch_op:
        batch_op.create_index("ix_screening_cases_customer_status", ["customer_id", "status"], unique=False)
        batch_op.create_index("ix_screening_cases_subject", ["subject_type", "subject_id"], unique=False)

    op.create_table(
        "seizures",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("wallet_id", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("recovery_wallet_id", sa.String(length=40), nullable=False),
        sa.Column("recovery_address", sa.String(length=42), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("case_reference", sa.String(length=200), nullable=False),
        sa.Column("chain_case_id", sa.String(length=66), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("approval_id", sa.String(length=40), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("burn_chain_tx_id", sa.String(length=40), nullable=True),
        sa.Column("burn_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("remint_chain_tx_id", sa.String(length=40), nullable=True),
        sa.Column("remint_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("last_audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_seizures_amount_positive")),
        sa.CheckConstraint("wallet_id <> recovery_wallet_id", name=op.f("ck_seizures_recovery_elsewhere")),
        sa.ForeignKeyConstraint(
            ["recovery_wallet_id"], ["wallets.id"], name=op.f("fk_seizures_recovery_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_seizures_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seizures")),
    )
    with op.batch_alter_table("seizures", schema=None) as batch_op:
        batch_op.create_index("ix_seizures_wallet", ["wallet_id"], unique=False)

    op.create_table(
        "wallet_freezes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("wallet_id", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("case_id", sa.String(length=40), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("freeze_chain_tx_id", sa.String(length=40), nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("unfreeze_chain_tx_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_wallet_freezes_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_freezes")),
    )
    with op.batch_alter_table("wallet_freezes", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_freezes_case", ["case_id"], unique=False)
        batch_op.create_index("ix_wallet_freezes_wallet", ["wallet_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wallet_freezes", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_freezes_wallet")
        batch_op.drop_index("ix_wallet_freezes_case")

    op.drop_table("wallet_freezes")
    with op.batch_alter_table("seizures", schema=None) as batch_op:
        batch_op.drop_index("ix_seizures_wallet")

    op.drop_table("seizures")
    with op.batch_alter_table("screening_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_cases_subject")
        batch_op.drop_index("ix_screening_cases_customer_status")

    op.drop_table("screening_cases")
    op.drop_table("customer_limit_overrides")
    op.drop_table("approval_votes")
    with op.batch_alter_table("travel_rule_records", schema=None) as batch_op:
        batch_op.drop_index("ix_travel_rule_records_tx_hash")
        batch_op.drop_index("ix_travel_rule_records_subject")

    op.drop_table("travel_rule_records")
    op.drop_table("screening_lists")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_requests_subject")
        batch_op.drop_index("ix_approval_requests_action_status")

    op.drop_table("approval_requests")
