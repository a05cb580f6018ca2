"""Maker-checker (R40): a second, different principal with an allowed role must approve."""

from __future__ import annotations

from compliance import decision as codes
from compliance.decision import Decision


def _principal_key(principal_id: str, name: str) -> str:
    if not isinstance(principal_id, str) or not principal_id.strip():
        raise ValueError(f"{name} must be a non-empty principal id")
    # Err toward "same": ids that differ only by case or padding are treated as one principal.
    return principal_id.strip().casefold()


def check_second_approval(
    requester_id: str, approver_id: str, approver_role: str, allowed_roles: frozenset[str]
) -> Decision:
    """R40: refuse self-approval ("same_principal") and approvers without an allowed role."""
    if _principal_key(requester_id, "requester_id") == _principal_key(approver_id, "approver_id"):
        return Decision.reject(
            codes.SAME_PRINCIPAL,
            "the requester cannot approve their own request; a different person must approve it",
            "R40",
        )
    if approver_role not in allowed_roles:
        return Decision.reject(
            codes.APPROVER_ROLE_NOT_ALLOWED,
            f"role {approver_role!r} cannot approve this; it needs one of {sorted(allowed_roles)}",
            "R40",
        )
    return Decision.allow("second approval accepted", rule_id="R40")
