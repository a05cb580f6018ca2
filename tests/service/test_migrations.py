"""Migrations build exactly the tables the models describe, and re-running them is a no-op."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import issuer_service.models  # noqa: F401  (every table on Base.metadata)
from issuer_service.db import Base, make_engine, run_migrations


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    run_migrations(database_url)  # already at head: must be a no-op
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_heads()
    finally:
        engine.dispose()
