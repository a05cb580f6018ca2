"""One travel-rule record per on-chain transfer (R25): a partial unique index on `tx_hash` for
`kind = 'transfer'`, so two records of one transfer sent at the same moment cannot both be kept.

Written by hand; after 0009_travel_rule_seizures. A database that already holds two records of
one transfer is not changed: the upgrade stops and names the transactions, for compliance to decide
which record stands (nothing is deleted behind their back).

Revision ID: 0011_travel_rule_one_transfer
Revises: 0009_travel_rule_seizures
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from issuer_service.db import MigrationRefused

revision = "0011_travel_rule_one_transfer"
down_revision = "0009_travel_rule_seizures"
branch_labels = None
depends_on = None

INDEX = "uq_travel_rule_records_transfer_tx"
WHERE = sa.text("kind = 'transfer'")


def upgrade() -> None:
    twice = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT tx_hash FROM travel_rule_records WHERE kind = 'transfer' AND tx_hash IS NOT NULL "
                "GROUP BY tx_hash HAVING count(*) > 1 ORDER BY tx_hash"
            )
        )
        .scalars()
        .all()
    )
    if twice:
        raise MigrationRefused(
            "travel_rule_records holds more than one record of transfer(s) "
            f"{', '.join(twice)}: keep one per transaction, then start the service again"
        )
    op.create_index(
        INDEX, "travel_rule_records", ["tx_hash"], unique=True, postgresql_where=WHERE, sqlite_where=WHERE
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="travel_rule_records")
