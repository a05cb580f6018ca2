"""Maker-checker as data (R40, R41, R42): which action needs how many distinct approvers of which
roles. The policy lives in compliance/data/approval_policy.json; code asks
`policy.rule("seizure")`, never `if action == "seizure"`.

Counting: the requester is the maker; `approvals_required` more principals, each different from
the requester and from each other, with a role in `approver_roles`, must approve. R40's "two
different principals" is `approvals_required >= 1`, which the loader enforces. The same principal
can never approve twice, and never their own request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from compliance import decision as codes
from compliance.approvals import check_second_approval
from compliance.decision import Decision

POLICY_FILE = Path(__file__).resolve().parent / "data" / "approval_policy.json"
# R42: the auditor is read-only and a customer approves nothing; both may not appear as approvers.
APPROVER_ROLES: frozenset[str] = frozenset({"admin", "operator", "compliance", "treasury"})
REQUESTER_ROLES: frozenset[str] = APPROVER_ROLES | {"customer"}
_ACTION_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*", re.ASCII)
_RULE_ID_RE = re.compile(r"R[0-9]{1,2}", re.ASCII)
MAX_APPROVALS = 5


class ApprovalPolicyError(ValueError):
    """The policy data is invalid; the message names the action and the field."""


class UnknownAction(KeyError):
    """No policy for this action: nothing may be approved that the policy does not name."""


@dataclass(frozen=True)
class ApprovalRule:
    action: str
    description: str
    requester_roles: frozenset[str]
    approver_roles: frozenset[str]
    approvals_required: int
    reference_required: bool  # the approver must cite evidence (e.g. the EDD file)
    rule_ids: tuple[str, ...]


@dataclass(frozen=True)
class ApprovalPolicy:
    version: str
    rules: Mapping[str, ApprovalRule]

    def rule(self, action: str) -> ApprovalRule:
        try:
            return self.rules[action]
        except KeyError:
            raise UnknownAction(f"no approval policy for action {action!r}; known: {sorted(self.rules)}") from None

    def as_data(self) -> dict[str, object]:
        return {
            "version": self.version,
            "actions": {
                action: {
                    "description": r.description,
                    "requester_roles": sorted(r.requester_roles),
                    "approver_roles": sorted(r.approver_roles),
                    "approvals_required": r.approvals_required,
                    "reference_required": r.reference_required,
                    "rule_ids": list(r.rule_ids),
                }
                for action, r in sorted(self.rules.items())
            },
        }


def check_requester(rule: ApprovalRule, requester_role: str) -> Decision:
    """May a principal with `requester_role` ask for this action at all?"""
    if requester_role not in rule.requester_roles:
        return Decision.reject(
            codes.REQUESTER_ROLE_NOT_ALLOWED,
            f"role {requester_role!r} cannot request {rule.action}; it needs one of {sorted(rule.requester_roles)}",
            "R42",
        )
    return Decision.allow(rule_id="R40")


def check_approval(
    rule: ApprovalRule,
    *,
    requester_id: str,
    approver_id: str,
    approver_role: str,
    prior_approver_ids: Iterable[str],
) -> Decision:
    """R40: refuse the requester, a principal who already approved, and a role the policy does
    not name. Ids are compared case- and padding-insensitively (see compliance.approvals)."""
    first = check_second_approval(requester_id, approver_id, approver_role, rule.approver_roles)
    if not first.allowed:
        return first
    key = approver_id.strip().casefold()
    if any(prior.strip().casefold() == key for prior in prior_approver_ids):
        return Decision.reject(
            codes.ALREADY_APPROVED,
            "you have already approved this request; another, different principal must give the next approval",
            "R40",
        )
    return Decision.allow("approval counted", rule_id="R40")


def approvals_complete(rule: ApprovalRule, approver_count: int) -> bool:
    return approver_count >= rule.approvals_required


# ---------------------------------------------------------------- loading
def parse_policy(data: Mapping[str, object], *, source: str = "<data>") -> ApprovalPolicy:
    if not isinstance(data, Mapping) or set(data) - {"version", "notice", "actions"}:
        raise ApprovalPolicyError(f"{source}: must be an object with version, actions (and notice)")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ApprovalPolicyError(f"{source}: version must be a non-empty string")
    actions = data.get("actions")
    if not isinstance(actions, Mapping) or not actions:
        raise ApprovalPolicyError(f"{source}: actions must be a non-empty object")
    rules = {str(action): _parse_rule(str(action), raw, source) for action, raw in actions.items()}
    return ApprovalPolicy(version=version, rules=MappingProxyType(rules))


def _parse_rule(action: str, raw: object, source: str) -> ApprovalRule:
    def bad(why: str) -> ApprovalPolicyError:
        return ApprovalPolicyError(f"{source}: actions[{action!r}] {why}")

    if not _ACTION_RE.fullmatch(action):
        raise bad("name must be dotted lower-case words such as 'limit.change'")
    if not isinstance(raw, Mapping):
        raise bad("must be an object")
    allowed_keys = {
        "description",
        "requester_roles",
        "approver_roles",
        "approvals_required",
        "reference_required",
        "rule_ids",
    }
    if set(raw) - allowed_keys or not {"requester_roles", "approver_roles", "approvals_required"} <= set(raw):
        raise bad(f"needs requester_roles, approver_roles, approvals_required; may have {sorted(allowed_keys)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise bad("description must be a string")
    requesters = _roles(raw["requester_roles"], REQUESTER_ROLES, bad, "requester_roles")
    approvers = _roles(raw["approver_roles"], APPROVER_ROLES, bad, "approver_roles")
    count = raw["approvals_required"]
    if type(count) is not int or not 1 <= count <= MAX_APPROVALS:  # R40: at least a second principal
        raise bad(f"approvals_required must be a whole number from 1 to {MAX_APPROVALS}")
    reference_required = raw.get("reference_required", False)
    if type(reference_required) is not bool:
        raise bad("reference_required must be true or false")
    rule_ids = raw.get("rule_ids", [])
    if not isinstance(rule_ids, list) or not all(isinstance(r, str) and _RULE_ID_RE.fullmatch(r) for r in rule_ids):
        raise bad("rule_ids must be a list of rule ids such as 'R40'")
    return ApprovalRule(
        action=action,
        description=description,
        requester_roles=requesters,
        approver_roles=approvers,
        approvals_required=count,
        reference_required=reference_required,
        rule_ids=tuple(rule_ids),
    )


def _roles(
    value: object, allowed: frozenset[str], bad: Callable[[str], ApprovalPolicyError], field: str
) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise bad(f"{field} must be a non-empty list of roles")
    roles = frozenset(value)
    if not roles <= allowed:
        raise bad(f"{field} may only name {sorted(allowed)}, got {sorted(roles - allowed)}")
    return roles


def load_policy_file(path: str | Path) -> ApprovalPolicy:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ApprovalPolicyError(f"{path.name}: not valid JSON: {exc}") from None
    return parse_policy(data, source=path.name)


@cache
def default_policy() -> ApprovalPolicy:
    """The shipped policy (compliance/data/approval_policy.json), validated once."""
    return load_policy_file(POLICY_FILE)
