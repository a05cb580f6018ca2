"""Domain errors carry what the problem+json handler needs; driver errors caused by input are 4xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from compliance.decision import Decision
from issuer_service.app import create_app
from issuer_service.errors import RuleRejected
from tests.service.service_helpers import assert_problem, make_settings


def test_rule_rejection_from_a_compliance_decision_keeps_code_rule_and_message() -> None:
    decision = Decision.reject("insufficient_fiat", "deposit more first", "R10")
    error = RuleRejected.from_decision(decision, field="body.amount")
    assert (error.status, error.reason_code, error.rule_id, error.detail) == (
        422,
        "insufficient_fiat",
        "R10",
        "deposit more first",
    )
    assert [(e.field, e.message) for e in error.errors] == [("body.amount", "deposit more first")]


def test_an_allowed_decision_is_not_an_error() -> None:
    with pytest.raises(ValueError):
        RuleRejected.from_decision(Decision.allow())


def test_an_integer_the_database_driver_cannot_take_is_a_422_problem_not_a_500(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    """SQLite's driver raises OverflowError for an integer beyond 64 bits (PostgreSQL: DataError,
    already a 422); the service answers both alike, and logs the traceback of the missed limit."""
    app = create_app(make_settings(sqlite_database_url, tmp_path))

    def store_a_huge_number() -> None:
        with app.state.sessionmaker.begin() as session:
            session.execute(text("SELECT :value"), {"value": 2**64})

    app.add_api_route("/v1/test-overflow", store_a_huge_number, methods=["POST"])
    with TestClient(app) as client:
        problem = assert_problem(client.post("/v1/test-overflow"), 422)
    assert "numbers must fit their field" in problem["detail"]
