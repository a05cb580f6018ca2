"""Typed errors. Every non-2xx answer of the API is an RFC 9457 problem+json document; the SDK
raises it as a `ProblemError` subclass chosen by status (and by type for rule refusals), carrying
every member of the document so callers can branch on `reason_code` or show `detail`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

PROBLEM_TYPE_PREFIX = "urn:cnh-sandbox:problem:"


class CnhError(Exception):
    """Base of every error the SDK raises."""


@dataclass(frozen=True)
class FieldError:
    """One bad input named by the API: `field` is a dotted path such as `body.amount`."""

    field: str
    message: str


class ProblemError(CnhError):
    """The API refused the request; the members of its problem+json document are attributes."""

    default_status: ClassVar[int | None] = None

    def __init__(
        self,
        status: int,
        *,
        type: str = "about:blank",  # the RFC 9457 member name
        title: str = "",
        detail: str = "",
        instance: str | None = None,
        errors: tuple[FieldError, ...] = (),
        reason_code: str | None = None,
        rule_id: str | None = None,
        request_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.errors = errors
        self.reason_code = reason_code
        self.rule_id = rule_id
        self.request_id = request_id
        self.body: dict[str, Any] = dict(body or {})
        self.headers: dict[str, str] = dict(headers or {})
        self.method = method
        self.url = url
        super().__init__(str(self))

    @property
    def type_slug(self) -> str:
        """`not-found` for `urn:cnh-sandbox:problem:not-found`."""
        return self.type.removeprefix(PROBLEM_TYPE_PREFIX)

    def __str__(self) -> str:
        text = f"{self.status} {self.title}".rstrip()
        if self.detail and self.detail != self.title:
            text += f": {self.detail}"
        extras = [
            f"{name}={value}" for name, value in (("reason_code", self.reason_code), ("rule_id", self.rule_id)) if value
        ]
        if self.errors and not (len(self.errors) == 1 and self.errors[0].message == self.detail):
            extras.append("; ".join(f"{error.field}: {error.message}" for error in self.errors))
        if extras:
            text += f" [{', '.join(extras)}]"
        if self.request_id:
            text += f" (request_id {self.request_id})"
        return text

    @classmethod
    def from_response(cls, response: httpx.Response) -> ProblemError:
        """Build the most specific error for a non-2xx response (problem+json or not)."""
        body: dict[str, Any] = {}
        try:
            parsed = json.loads(response.content) if response.content else {}
            if isinstance(parsed, dict):
                body = parsed
        except ValueError:
            pass
        title = str(body.get("title") or response.reason_phrase or "HTTP error")
        detail = body.get("detail")
        if detail is None:
            detail = response.text.strip()[:300] if not body else title
        raw_errors = body.get("errors")
        errors = tuple(
            FieldError(str(item.get("field", "")), str(item.get("message", "")))
            for item in (raw_errors if isinstance(raw_errors, list) else [])
            if isinstance(item, dict)
        )
        problem_type = str(body.get("type") or "about:blank")
        error_class = _class_for(response.status_code, problem_type)
        request = response._request  # None on a hand-built response
        return error_class(
            response.status_code,
            type=problem_type,
            title=title,
            detail=str(detail),
            instance=body.get("instance"),
            errors=errors,
            reason_code=body.get("reason_code"),
            rule_id=body.get("rule_id"),
            request_id=body.get("request_id") or response.headers.get("x-request-id"),
            body=body,
            headers=dict(response.headers),
            method=request.method if request is not None else None,
            url=str(request.url) if request is not None else None,
        )


class BadRequest(ProblemError):
    """400: the request could not be read (e.g. the body is not JSON)."""

    default_status = 400


class Unauthorized(ProblemError):
    """401: no API key, or an unknown or revoked one."""

    default_status = 401


class Forbidden(ProblemError):
    """403: the key's role may not do this, or the record belongs to another customer."""

    default_status = 403


class NotFound(ProblemError):
    """404: no such object (or route)."""

    default_status = 404


class Conflict(ProblemError):
    """409: e.g. an Idempotency-Key reused with another body, or a bank reference already credited."""

    default_status = 409


class ValidationFailed(ProblemError):
    """422: an input is invalid; `errors` names each field."""

    default_status = 422


class RuleRejected(ValidationFailed):
    """422 from a compliance rule: `reason_code` is stable, `rule_id` names the rule (R1...)."""


class RateLimited(ProblemError):
    """429: too many failed authentications; `retry_after` says when to try again."""

    default_status = 429

    @property
    def retry_after(self) -> str | None:
        return self.headers.get("retry-after")


class ServiceUnavailable(ProblemError):
    """503 after the SDK's retries: the database or the chain is unavailable; nothing was changed."""

    default_status = 503


class ServerError(ProblemError):
    """Any other 5xx: quote `request_id` when reporting it."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    cls.default_status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        ValidationFailed,
        RateLimited,
        ServiceUnavailable,
    )
    if cls.default_status is not None
}


def _class_for(status: int, problem_type: str) -> type[ProblemError]:
    if status == 422 and problem_type == PROBLEM_TYPE_PREFIX + "rule-rejected":
        return RuleRejected
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ProblemError


class TransportError(CnhError):
    """The issuer service (or the chain's JSON-RPC endpoint) could not be reached."""


class UnexpectedResponse(CnhError):
    """A success status whose body is not what the API answers (not JSON, or not the expected
    shape): usually a base URL pointing at something other than the CNH service."""


class ChainRpcError(CnhError):
    """The chain's JSON-RPC endpoint answered with an error."""


class WaitTimeout(CnhError, TimeoutError):
    """A `wait_for_*` helper gave up before the object reached one of the wanted statuses."""

    def __init__(self, message: str, last: object = None) -> None:
        super().__init__(message)
        self.last = last


class WebhookVerificationError(CnhError):
    """A webhook's signature, timestamp or headers did not check out: reject the delivery."""
