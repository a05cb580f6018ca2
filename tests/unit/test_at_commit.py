"""`at_commit`: work a transaction asks to do at its commit (a mint's reserve check under the pool
lock) runs once, at the outermost commit, inside the transaction; it can refuse the commit; and
nothing of a rolled-back savepoint or transaction runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer_service.db import at_commit, run_at_commit_steps
from tests.unit.one_row_db import one_row_session, rows


@pytest.fixture
def session() -> Iterator[Session]:
    with one_row_session() as session:
        yield session


def _value(session: Session) -> int:
    with session.begin():
        return session.execute(select(rows.c.value).where(rows.c.id == 1)).scalar_one()


def _add(session: Session, amount: int) -> None:
    session.execute(update(rows).where(rows.c.id == 1).values(value=rows.c.value + amount))


def test_a_step_runs_once_at_commit_inside_the_transaction(session: Session) -> None:
    ran: list[int] = []
    with session.begin():
        _add(session, 1)
        at_commit(session, lambda: (ran.append(1), _add(session, 100)))
        assert ran == []  # not before the commit
    assert ran == [1]
    assert _value(session) == 111  # its write committed with the rest


def test_a_savepoint_release_is_not_the_commit(session: Session) -> None:
    ran: list[str] = []
    with session.begin():
        with session.begin_nested():
            at_commit(session, lambda: ran.append("step"))
        assert ran == []
    assert ran == ["step"]  # a released savepoint's step runs at the outer commit


def test_a_step_that_raises_rolls_the_whole_transaction_back(session: Session) -> None:
    def refuse() -> None:
        _add(session, 100)
        raise ValueError("reserves would fall short")

    with pytest.raises(ValueError, match="reserves would fall short"):
        with session.begin():
            _add(session, 1)
            at_commit(session, refuse)
    assert _value(session) == 10


def test_a_step_of_a_rolled_back_savepoint_does_not_run(session: Session) -> None:
    ran: list[str] = []
    with session.begin():
        at_commit(session, lambda: ran.append("outer"))
        savepoint = session.begin_nested()
        at_commit(session, lambda: ran.append("inner"))
        inner = session.begin_nested()
        at_commit(session, lambda: ran.append("innermost"))
        inner.commit()
        savepoint.rollback()
    assert ran == ["outer"]


def test_steps_of_a_rolled_back_transaction_do_not_run_in_the_next(session: Session) -> None:
    ran: list[str] = []
    session.begin()
    at_commit(session, lambda: ran.append("abandoned"))
    session.rollback()
    with session.begin():
        _add(session, 1)
    assert ran == []


def test_a_step_may_ask_for_another(session: Session) -> None:
    ran: list[str] = []
    with session.begin():
        at_commit(session, lambda: (ran.append("first"), at_commit(session, lambda: ran.append("second"))))
    assert ran == ["first", "second"]


def test_steps_run_early_when_asked_and_not_again_at_commit(session: Session) -> None:
    ran: list[str] = []
    with session.begin():
        at_commit(session, lambda: ran.append("step"))
        run_at_commit_steps(session)  # e.g. an audit record chained before the commit
        assert ran == ["step"]
    assert ran == ["step"]
