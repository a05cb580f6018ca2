"""Domain errors carry what the problem+json handler needs."""

from __future__ import annotations

import pytest

from compliance.decision import Decision
from issuer_service.errors import RuleRejected


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
