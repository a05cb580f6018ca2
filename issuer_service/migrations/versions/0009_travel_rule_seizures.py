"""Travel-rule records: a seizure's re-mint to the recovery wallet gets one too (R25, R24).

Written by hand; a branch after 0003_compliance (which created travel_rule_records). Only the
check constraint on `kind` widens; existing rows are untouched.

Revision ID: 0009_travel_rule_seizures
Revises: 0003_compliance
"""

from __future__ import annotations

from alembic import op

revision = "0009_travel_rule_seizures"
down_revision = "0003_compliance"
branch_labels = None
depends_on = None


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("travel_rule_records", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_travel_rule_records_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_travel_rule_records_kind"), f"kind IN ({kinds})")


def upgrade() -> None:
    _kinds("'redemption', 'mint', 'seizure', 'transfer'")


def downgrade() -> None:
    _kinds("'redemption', 'mint', 'transfer'")
