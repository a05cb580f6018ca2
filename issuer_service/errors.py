"""Typed domain errors. Services raise these; one set of handlers (problems.py) renders them as
RFC 9457 problem+json, so no router maps errors to HTTP by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from compliance.decision import Decision


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one input: `field` is a dotted path such as `body.amount`."""

    field: str
    message: str


class DomainError(Exception):
    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        reason_code: str | None = None,
        errors: list[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.reason_code = reason_code
        self.errors = errors if errors is not None else ([FieldError(field, detail)] if field else [])
        self.headers = dict(headers or {})

    def extensions(self) -> dict[str, object]:
        """Extra problem members beyond the RFC 9457 basics."""
        return {}


class NotFound(DomainError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    type_slug = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="cnh-sandbox"'})


class ValidationFailed(DomainError):
    status = 422
    type_slug = "validation-failed"
    title = "Validation failed"


class RuleRejected(DomainError):
    """A compliance rule said no; `rule_id` is the regulation id (R1...) and `reason_code` is stable."""

    status = 422
    type_slug = "rule-rejected"
    title = "Rejected by a compliance rule"

    def __init__(self, detail: str, *, reason_code: str, rule_id: str, field: str | None = None) -> None:
        super().__init__(detail, reason_code=reason_code, field=field)
        self.rule_id = rule_id

    @classmethod
    def from_decision(cls, decision: Decision, *, field: str | None = None) -> RuleRejected:
        """The error for a refusal from a `compliance` rule check."""
        if decision.allowed or decision.reason_code is None or decision.rule_id is None:
            raise ValueError("from_decision needs a refusal")
        return cls(decision.message, reason_code=decision.reason_code, rule_id=decision.rule_id, field=field)

    def extensions(self) -> dict[str, object]:
        return {"rule_id": self.rule_id}


class ServiceUnavailable(DomainError):
    status = 503
    type_slug = "service-unavailable"
    title = "Service unavailable"


class RateLimited(DomainError):
    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class PayloadTooLarge(DomainError):
    status = 413
    type_slug = "payload-too-large"
    title = "Request body too large"
