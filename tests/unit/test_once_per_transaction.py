"""`once_per_transaction`: a row locked earlier in the same transaction is not read again, but a
lock that a rolled-back savepoint released, or a previous transaction held, is taken afresh."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from issuer_service.db import once_per_transaction
from tests.unit.one_row_db import one_row_session, rows


class CountingLock:
    """A stand-in for a `... FOR UPDATE` read that counts how often it runs."""

    def __init__(self, session: Session, row_id: int) -> None:
        self.session, self.row_id, self.calls = session, row_id, 0

    def __call__(self) -> int | None:
        self.calls += 1
        return self.session.execute(select(rows.c.value).where(rows.c.id == self.row_id)).scalar_one_or_none()


@pytest.fixture
def session() -> Iterator[Session]:
    with one_row_session() as session:
        yield session


def test_a_second_lock_in_the_same_transaction_reuses_the_first(session: Session) -> None:
    lock = CountingLock(session, 1)
    with session.begin():
        assert once_per_transaction(session, ("row", 1), lock) == 10
        assert once_per_transaction(session, ("row", 1), lock) == 10
    assert lock.calls == 1


def test_each_transaction_takes_its_own_lock(session: Session) -> None:
    lock = CountingLock(session, 1)
    for _ in range(2):
        with session.begin():
            once_per_transaction(session, ("row", 1), lock)
    assert lock.calls == 2


def test_a_lock_taken_in_a_rolled_back_savepoint_is_taken_again(session: Session) -> None:
    lock = CountingLock(session, 1)
    with session.begin():
        savepoint = session.begin_nested()
        once_per_transaction(session, ("row", 1), lock)
        savepoint.rollback()  # on PostgreSQL this releases the row lock
        once_per_transaction(session, ("row", 1), lock)
    assert lock.calls == 2


def test_a_lock_inside_a_savepoint_does_not_reuse_the_outer_one(session: Session) -> None:
    # Conservative: the savepoint may be rolled back, so it locks (reads) for itself.
    lock = CountingLock(session, 1)
    with session.begin():
        once_per_transaction(session, ("row", 1), lock)
        with session.begin_nested():
            once_per_transaction(session, ("row", 1), lock)
    assert lock.calls == 2


def test_a_missing_row_is_looked_up_again(session: Session) -> None:
    lock = CountingLock(session, 2)
    with session.begin():
        assert once_per_transaction(session, ("row", 2), lock) is None
        session.execute(insert(rows).values(id=2, value=20))
        assert once_per_transaction(session, ("row", 2), lock) == 20
    assert lock.calls == 2


def test_keys_are_independent(session: Session) -> None:
    first, second = CountingLock(session, 1), CountingLock(session, 1)
    with session.begin():
        once_per_transaction(session, ("row", 1), first)
        once_per_transaction(session, ("other", 1), second)
    assert (first.calls, second.calls) == (1, 1)


def test_a_lock_that_begins_the_transaction_is_reused_in_it(session: Session) -> None:
    # No `session.begin()`: the lock is the transaction's first statement and begins it.
    lock = CountingLock(session, 1)
    results = [once_per_transaction(session, ("row", 1), lock) for _ in range(2)]
    session.commit()
    assert (results, lock.calls) == ([10, 10], 1)
