"""Alembic environment. `issuer_service.db.run_migrations` passes its connection in; run by hand
(`alembic -x ...` is not needed) it connects to Settings().database_url."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

import issuer_service.models  # noqa: F401  (registers every table on Base.metadata)
from issuer_service.db import Base, UtcDateTime, make_engine


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # UtcDateTime is a Python-side adapter over TIMESTAMP WITH TIME ZONE: migrations (autogenerate)
    # should write the plain column type and not import the service package.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds to ALTER
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from issuer_service.settings import Settings

    engine = make_engine(Settings().database_url)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
