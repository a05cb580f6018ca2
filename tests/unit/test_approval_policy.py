"""Maker-checker as data (R40, R41, R42): the shipped policy, its validation, and the approval
check: never the requester, never the same principal twice, only the policy's roles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from compliance.approval_policy import (
    ApprovalPolicyError,
    UnknownAction,
    approvals_complete,
    check_approval,
    check_requester,
    default_policy,
    parse_policy,
)

R40_ACTIONS = (
    "mint.large",
    "seizure",
    "system.resume",
    "role.change",
    "limit.change",
    "reserve_asset.change",
    "customer.edd",
)


def test_the_shipped_policy_names_every_high_risk_action_of_r40_with_at_least_one_other_approver() -> None:
    policy = default_policy()
    for action in R40_ACTIONS:
        rule = policy.rule(action)
        assert rule.approvals_required >= 1 and "R40" in rule.rule_ids
        assert not rule.approver_roles & {"auditor", "customer"}  # R42: read-only and customers never approve
    assert policy.rule("system.resume").approver_roles == frozenset({"admin"})  # R41
    assert policy.rule("customer.edd").reference_required is True


def test_an_action_the_policy_does_not_name_cannot_be_approved() -> None:
    with pytest.raises(UnknownAction):
        default_policy().rule("everything.at.once")


def test_the_requester_never_approves_their_own_request() -> None:
    rule = default_policy().rule("seizure")
    decision = check_approval(
        rule, requester_id="key_a", approver_id="KEY_A ", approver_role="compliance", prior_approver_ids=[]
    )
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (False, "same_principal", "R40")


def test_the_same_principal_never_counts_twice() -> None:
    rule = replace(default_policy().rule("limit.change"), approvals_required=2)
    first = check_approval(
        rule, requester_id="key_r", approver_id="key_b", approver_role="compliance", prior_approver_ids=[]
    )
    again = check_approval(
        rule, requester_id="key_r", approver_id="key_b", approver_role="admin", prior_approver_ids=["key_b"]
    )
    assert first.allowed and (again.allowed, again.reason_code) == (False, "already_approved")
    assert not approvals_complete(rule, 1) and approvals_complete(rule, 2)


def test_only_the_roles_the_policy_names_may_approve_or_request() -> None:
    rule = default_policy().rule("seizure")
    wrong = check_approval(rule, requester_id="r", approver_id="o", approver_role="operator", prior_approver_ids=[])
    assert wrong.reason_code == "approver_role_not_allowed"
    assert check_requester(rule, "operator").reason_code == "requester_role_not_allowed"
    assert check_requester(rule, "compliance").allowed


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"approvals_required": 0}, "approvals_required"),  # R40: a second principal at least
        ({"approver_roles": ["auditor"]}, "approver_roles"),  # R42: the auditor only reads
        ({"approver_roles": ["customer"]}, "approver_roles"),
        ({"requester_roles": []}, "requester_roles"),
        ({"rule_ids": ["forty"]}, "rule_ids"),
        ({"reference_required": "yes"}, "reference_required"),
    ],
)
def test_a_policy_that_would_weaken_maker_checker_is_refused(rule: dict[str, Any], named: str) -> None:
    base = {"requester_roles": ["compliance"], "approver_roles": ["admin"], "approvals_required": 1}
    with pytest.raises(ApprovalPolicyError, match=named):
        parse_policy({"version": "t", "actions": {"seizure": {**base, **rule}}})
