"""Maker-checker (R40): two different principals, the second with an allowed role."""

from __future__ import annotations

import pytest

from compliance.mint_rules import check_second_approval

OPERATORS = frozenset({"operator"})


def test_a_different_operator_may_approve() -> None:
    decision = check_second_approval("user-1", "user-2", "operator", OPERATORS)
    assert (decision.allowed, decision.reason_code) == (True, None)


def test_same_principal_can_never_approve_their_own_request() -> None:
    decision = check_second_approval("user-1", "user-1", "operator", OPERATORS)
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (False, "same_principal", "R40")


def test_ids_differing_only_by_case_or_padding_count_as_the_same_principal() -> None:
    assert check_second_approval("User-1", " user-1 ", "operator", OPERATORS).reason_code == "same_principal"


def test_self_approval_is_refused_even_when_the_role_is_also_wrong() -> None:
    assert check_second_approval("u", "u", "customer", OPERATORS).reason_code == "same_principal"


def test_an_approver_without_an_allowed_role_is_refused() -> None:
    decision = check_second_approval("user-1", "user-2", "customer", OPERATORS)
    assert (decision.allowed, decision.reason_code) == (False, "approver_role_not_allowed")
    assert "operator" in decision.message


def test_no_role_is_allowed_when_the_allowed_set_is_empty() -> None:
    assert check_second_approval("a", "b", "admin", frozenset()).reason_code == "approver_role_not_allowed"


@pytest.mark.parametrize(("requester", "approver"), [("", "b"), ("a", "  ")])
def test_missing_principal_ids_are_a_programming_error(requester: str, approver: str) -> None:
    with pytest.raises(ValueError):
        check_second_approval(requester, approver, "operator", OPERATORS)
