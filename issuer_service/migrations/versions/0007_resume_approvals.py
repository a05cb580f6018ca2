"""Resume requests move to the general approvals mechanism; the pause module's own table goes.

A resume waiting for its second admin becomes a pending `system.resume` approval request with the
same id, requester and time, so it can still be approved after the upgrade. Decided resumes stay
in the audit log, which always held their story.

Written by hand; after 0003_compliance (which created approval_requests).

Revision ID: 0007_resume_approvals
Revises: 0003_compliance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_resume_approvals"
down_revision = "0003_compliance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO approval_requests (id, action, subject_type, subject_id, summary, payload_json, status, "
            "required_approvals, approver_roles, requested_by, requester_role, created_at) "
            "SELECT id, 'system.resume', 'system', 'pause', 'resume minting, redemptions and transfers', '{}', "
            "'pending', 1, 'admin', requested_by, 'admin', requested_at FROM approvals "
            "WHERE action = 'resume' AND status = 'pending'"
        )
    )
    op.drop_index(op.f("ix_approvals_action"), table_name="approvals")
    op.drop_table("approvals")


def downgrade() -> None:
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
