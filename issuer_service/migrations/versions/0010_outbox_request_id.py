"""Each outbox row keeps the id of the API request that queued it, so the worker's audit records
and log lines for that transaction carry the same request id as the request did.

Written by hand; a branch of 0002_chain (the service upgrades to all heads). Rows queued before
this migration keep NULL: their worker records get the worker job's own id instead.

Revision ID: 0010_outbox_request_id
Revises: 0002_chain
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_outbox_request_id"
down_revision = "0002_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chain_txs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chain_txs", schema=None) as batch_op:
        batch_op.drop_column("request_id")
