"""Auditor experience: custodian accounts and valuation history of reserve assets, daily reserve
statements, attestation reports and their proof-of-liabilities leaves.

Written by hand; a branch of 0002_chain (the service upgrades to all heads). Existing reserve
assets get their current value as their first valuation, so history starts complete.

Revision ID: 0004_auditor
Revises: 0002_chain
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_auditor"
down_revision = "0002_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reserve_asset_custody",
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["reserve_assets.id"], name=op.f("fk_reserve_asset_custody_asset_id_reserve_assets")
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_reserve_asset_custody")),
    )
    op.create_table(
        "reserve_asset_valuations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("asset_id", sa.String(length=40), nullable=False),
        sa.Column("nominal_fen", sa.BigInteger(), nullable=False),
        sa.Column("market_value_fen", sa.BigInteger(), nullable=False),
        sa.Column("valued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_block", sa.BigInteger(), nullable=True),
        sa.Column("decision_audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "nominal_fen >= 0 AND market_value_fen >= 0", name=op.f("ck_reserve_asset_valuations_not_negative")
        ),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'active', 'rejected')", name=op.f("ck_reserve_asset_valuations_status")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["reserve_assets.id"], name=op.f("fk_reserve_asset_valuations_asset_id_reserve_assets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_asset_valuations")),
    )
    op.create_index("ix_reserve_asset_valuations_asset", "reserve_asset_valuations", ["asset_id", "status"])
    op.create_index("ix_reserve_asset_valuations_effective", "reserve_asset_valuations", ["status", "effective_block"])
    # History starts complete: every existing asset's current value becomes its first valuation,
    # counting from block 0 if the asset is already active (it was counted before this migration).
    op.execute(
        "INSERT INTO reserve_asset_valuations (id, asset_id, nominal_fen, market_value_fen, valued_at, reference, "
        "status, requested_by, decided_by, decided_at, effective_block, decision_audit_seq, created_at) "
        "SELECT 'val_' || id, id, nominal_fen, market_value_fen, valued_at, reference, status, requested_by, "
        "approved_by, CASE WHEN status = 'pending_approval' THEN NULL ELSE created_at END, "
        "CASE WHEN status = 'active' THEN 0 ELSE NULL END, NULL, created_at FROM reserve_assets"
    )

    op.create_table(
        "reserve_statements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("supply_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserves_fen", sa.BigInteger(), nullable=False),
        sa.Column("required_fen", sa.BigInteger(), nullable=False),
        sa.Column("surplus_fen", sa.BigInteger(), nullable=False),
        sa.Column("fully_backed", sa.Boolean(), nullable=False),
        sa.Column("stale_valuations", sa.Integer(), nullable=False),
        sa.Column("concentration_breaches", sa.Integer(), nullable=False),
        sa.Column("chain_supply_units", sa.String(length=80), nullable=True),
        sa.Column("chain_block", sa.BigInteger(), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_statements")),
        sa.UniqueConstraint("business_date", name=op.f("uq_reserve_statements_business_date")),
    )

    op.create_table(
        "attestations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("as_of_block", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("supply_units", sa.String(length=80), nullable=False),
        sa.Column("pol_root", sa.String(length=64), nullable=False),
        sa.Column("holders", sa.Integer(), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestations")),
        sa.UniqueConstraint("sha256", name=op.f("uq_attestations_sha256")),
    )
    op.create_index("ix_attestations_block", "attestations", ["as_of_block"])
    op.create_table(
        "attestation_liabilities",
        sa.Column("attestation_id", sa.String(length=40), nullable=False),
        sa.Column("leaf_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("balance_units", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["attestation_id"], ["attestations.id"], name=op.f("fk_attestation_liabilities_attestation_id_attestations")
        ),
        sa.PrimaryKeyConstraint("attestation_id", "leaf_index", name=op.f("pk_attestation_liabilities")),
        sa.UniqueConstraint(
            "attestation_id", "address", name=op.f("uq_attestation_liabilities_attestation_id_address")
        ),
    )


def downgrade() -> None:
    op.drop_table("attestation_liabilities")
    op.drop_index("ix_attestations_block", table_name="attestations")
    op.drop_table("attestations")
    op.drop_table("reserve_statements")
    op.drop_index("ix_reserve_asset_valuations_effective", table_name="reserve_asset_valuations")
    op.drop_index("ix_reserve_asset_valuations_asset", table_name="reserve_asset_valuations")
    op.drop_table("reserve_asset_valuations")
    op.drop_table("reserve_asset_custody")
