"""API keys: the approval a staff key waits for before it works (R40, `api_key.issue`).

Written by hand; after 0007_resume_approvals. Existing keys have none: they stay as they are.

Revision ID: 0008_api_key_issue_approval
Revises: 0007_resume_approvals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_api_key_issue_approval"
down_revision = "0007_resume_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_approval_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("pending_approval_id")
