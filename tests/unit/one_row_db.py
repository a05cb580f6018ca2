"""An in-memory SQLite database with one table holding row (1, 10): enough to watch what the
transaction helpers of `issuer_service.db` do with real transactions and savepoints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert
from sqlalchemy.orm import Session

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("value", Integer))


@contextmanager
def one_row_session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(rows).values(id=1, value=10))
    with Session(engine) as session:
        yield session
    engine.dispose()
