"""Failed authentications per client address, shared by every process of the service.

Written by hand; a branch of 0002_chain (the service upgrades to all heads).

Revision ID: 0006_auth_failures
Revises: 0002_chain
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_auth_failures"
down_revision = "0002_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_auth_failures")),
    )
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_failures_window_started_at"), ["window_started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_failures_window_started_at"))
    op.drop_table("auth_failures")
