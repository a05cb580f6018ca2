"""Idempotency keys scoped to the customer, not to one of its API keys: `principal_id` becomes
`scope`, which holds the customer's id for a customer key and the key's id for a staff key
(`issuer_service.idempotency.scope_of`).

Rows written by a customer key move to that customer's scope, so a retry after the upgrade through
any of the customer's keys still replays them. Where two keys of one customer had used the same
Idempotency-Key (each ran once, as keys were then scoped), both rows stay where they are: moving
either would make it answer for the other's request.

Written by hand; after 0001_core, which created the table.

Revision ID: 0012_idempotency_scope
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_idempotency_scope"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Two batches: on SQLite a constraint on a column renamed in the same batch is lost.
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("uq_idempotency_keys_principal_id_key", type_="unique")
        batch.alter_column(
            "principal_id", new_column_name="scope", existing_type=sa.String(64), existing_nullable=False
        )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.create_unique_constraint("uq_idempotency_keys_scope_key", ["scope", "key"])
    op.execute(
        sa.text(
            "UPDATE idempotency_keys SET scope = "
            "(SELECT k.customer_id FROM api_keys k WHERE k.id = idempotency_keys.scope) "
            "WHERE scope IN (SELECT id FROM api_keys WHERE customer_id IS NOT NULL) "
            "AND NOT EXISTS ("
            " SELECT 1 FROM idempotency_keys other"
            " JOIN api_keys other_key ON other_key.id = other.scope"
            " JOIN api_keys mine ON mine.id = idempotency_keys.scope"
            " WHERE other.key = idempotency_keys.key AND other.id <> idempotency_keys.id"
            " AND other_key.customer_id = mine.customer_id)"
        )
    )


def downgrade() -> None:
    # A customer-scoped row goes back to the customer's oldest key: the nearest key-scoped owner.
    op.execute(
        sa.text(
            "UPDATE idempotency_keys SET scope = "
            "(SELECT min(k.id) FROM api_keys k WHERE k.customer_id = idempotency_keys.scope) "
            "WHERE scope IN (SELECT customer_id FROM api_keys WHERE customer_id IS NOT NULL)"
        )
    )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("uq_idempotency_keys_scope_key", type_="unique")
        batch.alter_column(
            "scope", new_column_name="principal_id", existing_type=sa.String(64), existing_nullable=False
        )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.create_unique_constraint("uq_idempotency_keys_principal_id_key", ["principal_id", "key"])
