"""Who may reach a domain's own approve/reject endpoint: the roles the approvals policy names for
the action, read on every call, so that a policy change applies there too (R40, R42). Which of
those principals counts (not the maker, not twice) is the approvals mechanism's business."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from issuer_service.approvals import service
from issuer_service.auth import Principal, authenticate
from issuer_service.errors import Forbidden


def require_approver(action: str) -> Callable[..., Principal]:
    """Like `auth.require`, with the roles taken from the policy rule of `action`."""
    service.policy().rule(action)  # an action the policy does not know fails at import, not per call

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        allowed = service.policy().rule(action).approver_roles
        if principal.role not in allowed:  # the wording of auth.require's refusal
            raise Forbidden(
                f"this needs a key with role {' or '.join(sorted(allowed))}; yours has role {principal.role}"
            )
        return principal

    return dependency
