"""Database engine, sessions, the declarative base and migrations.

SQLite is the embedded default for the demo; PostgreSQL is the production database and the one
the concurrency tests use (toolchain.md). Nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, MetaData, Select, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from issuer_service.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The errors that mean "the database cannot be reached now" (503, retry), not "this input is bad".
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant will do; it only has to be the same in every process running migrations.
_MIGRATION_LOCK_KEY = 0x434E485F4D4947  # "CNH_MIG"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values; we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_url(database_url: str) -> URL:
    """`postgresql://` and `postgres://` mean psycopg 3, the driver this project installs."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(
    database_url: str, *, pool_size: int = 10, max_overflow: int = 10, pool_timeout_s: float = 30.0
) -> Engine:
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout_s
    )


def engine_from_settings(settings: Settings) -> Engine:
    """The engine a service process uses, sized by its settings (`CNH_DB_POOL_SIZE`, ...)."""
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
    )


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that our own BEGIN below is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # SQLite has no row locks: BEGIN IMMEDIATE takes the database write lock up front, so
        # concurrent writers queue on busy_timeout instead of failing with "database is locked"
        # when a deferred read transaction tries to upgrade. This is what lock_for_update relies on.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def end_reads(session: Session) -> None:
    """End a request's transaction that only read, before a slow call (the chain node): on SQLite
    every transaction holds the database's write lock, which every other write waits for. Objects
    read so far stay usable (expire_on_commit=False); a later statement begins a new transaction."""
    if session.new or session.dirty or session.deleted:  # pragma: no cover - a caller's bug
        raise RuntimeError("end_reads is for a transaction that has written nothing")
    session.commit()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: routers render objects after the request's single commit.
    return sessionmaker(engine, expire_on_commit=False)


def dialect_insert(session: Session) -> Any:
    """The `insert` of the session's database, which has `on_conflict_do_nothing` and
    `on_conflict_do_update` on both backends the service runs on (PostgreSQL and SQLite)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - the service runs on these two
        raise RuntimeError(f"no upsert for {dialect}")
    return insert


SelectT = TypeVar("SelectT", bound=Select[Any])


def lock_for_update(stmt: SelectT) -> SelectT:
    """Lock the selected rows until the transaction ends.

    PostgreSQL: `SELECT ... FOR NO KEY UPDATE`. SQLite: SQLAlchemy renders no FOR UPDATE there, and none
    is needed, because every transaction already holds the whole-database write lock (BEGIN
    IMMEDIATE, see `_sqlite_engine`). `populate_existing` refreshes rows the session had already
    loaded, so the caller sees the values as of the lock, not a stale copy.
    """
    # FOR NO KEY UPDATE: it excludes every other locker of ours just the same, but not the key-share
    # locks PostgreSQL's foreign-key checks take on a parent row. With FOR UPDATE a transaction
    # writing a mint (which references its customer) could wait for a locked customer while holding
    # the audit head that the customer's locker needs at its commit: a deadlock.
    return stmt.with_for_update(key_share=True).execution_options(populate_existing=True)


_PER_TRANSACTION = "per_transaction"
T = TypeVar("T")


def once_per_transaction(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """`read()` the first time in this transaction; later calls for the same `key` in the same
    transaction return that result without a query.

    Made for row locks (`read` a `lock_for_update` select): the row stays locked until the
    transaction ends, so no one else can have changed it. The worker settles a batch of mints
    against the reserve pool in one transaction and locks the pool once, not once per mint. Also
    used for unlocked reads that may be as old as the transaction's first one (the webhook
    subscriptions a status change is announced to).

    Reuse is tied to the innermost transaction the read was made in: a savepoint's locks go away
    when it is rolled back, so a lock taken in one and asked for after it ended is taken again.
    A `None` result (no such row yet) is not remembered.
    """
    entry = session.info.get(_PER_TRANSACTION, {}).get(key)
    current = _innermost_transaction(session)
    if entry is not None and current is not None and entry[0] is current and current.is_active:
        return cast(T, entry[1])
    value = read()
    if value is not None:  # recorded after the read, which begins the transaction if it is the first statement
        remember_for_transaction(session, key, value)
    return value


@event.listens_for(Session, "after_transaction_end")
def _forget_per_transaction(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction is over: nothing of it is locked now
        session.info.pop(_PER_TRANSACTION, None)


def remember_for_transaction(session: Session, key: Hashable, value: object) -> None:
    """Store what a batch read found (e.g. `... IN (...) FOR UPDATE`) for `once_per_transaction`."""
    session.info.setdefault(_PER_TRANSACTION, {})[key] = (_innermost_transaction(session), value)


def _innermost_transaction(session: Session) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


# ---------------------------------------------------------------- work done at commit
# What a transaction does at its commit, in this order: the steps its code asked for with
# `at_commit` (e.g. a mint's reserve check under the pool lock), then the steps every commit runs
# (`every_commit`: the audit chain). Rows that every writer locks (the reserve pool, the audit
# chain's head) are taken there, so each is held for the last few statements, not the whole request.
_AT_COMMIT = "cnh.at_commit"
_EVERY_COMMIT: list[Callable[[Session], None]] = []


def at_commit(session: Session, step: Callable[[], None]) -> None:
    """Run `step()` when this session's transaction commits, before the audit chain is written.
    An exception from it rolls the whole transaction back and reaches the caller of `commit()`.
    A step registered inside a savepoint that is rolled back does not run."""
    session.info.setdefault(_AT_COMMIT, []).append((_innermost_transaction(session), step))


def every_commit(step: Callable[[Session], None]) -> Callable[[Session], None]:
    """Register `step(session)` to run at every commit, after the `at_commit` steps."""
    _EVERY_COMMIT.append(step)
    return step


def run_at_commit_steps(session: Session) -> None:
    """The `at_commit` steps asked for so far, now (they do not run again at commit). For work
    that must see their result before the commit, e.g. an audit record chained at once."""
    while steps := session.info.pop(_AT_COMMIT, []):  # a step may ask for another
        for _, step in steps:
            step()


@event.listens_for(Session, "before_commit")
def _run_commit_steps(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint's release is not the commit
        return
    run_at_commit_steps(session)
    for every in _EVERY_COMMIT:
        every(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_steps(session: Session, previous_transaction: Any) -> None:
    steps = session.info.get(_AT_COMMIT)
    if not steps or previous_transaction.parent is None:  # the whole transaction: _forget_commit_steps
        return

    def inside(transaction: Any) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    steps[:] = [(where, step) for where, step in steps if not inside(where)]


@event.listens_for(Session, "after_transaction_end")
def _forget_commit_steps(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed already, or the transaction was abandoned
        session.info.pop(_AT_COMMIT, None)


def alembic_config() -> Config:
    config = Config()
    # Resolved from the package path so migrations run from any working directory.
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


class MigrationRefused(Exception):
    """A migration found data it must not change on its own; the message says what to fix."""


def run_migrations(database_url: str) -> None:
    """Upgrade the database to the newest revision, in one transaction."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several service processes may start at once; one migrates, the others wait.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")  # domains add migrations as branches of 0002_chain
    finally:
        engine.dispose()
