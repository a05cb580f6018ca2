"""RFC 9457 problem+json: the one place where errors become HTTP responses.

Every error the API returns has the same shape: `{type, title, status, detail, instance,
request_id}` plus `errors: [{field, message}]` naming each bad input, and `reason_code` (and
`rule_id`) when a rule said no. Internals (stack traces, SQL) never reach the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from issuer_service.db import DATABASE_UNAVAILABLE
from issuer_service.errors import DomainError, FieldError
from issuer_service.request_context import current_request_id

log = logging.getLogger("issuer_service.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:cnh-sandbox:problem:"

# How to fix the most common pydantic complaints (habit 11: say what to do, not only what is wrong).
_FIX_HINTS = {
    "missing": "this field is required; add it",
    "extra_forbidden": "this field is not accepted; remove it or check its spelling",
    "string_type": "send a JSON string",
    "model_attributes_type": 'send a JSON object with "Content-Type: application/json"',
    "dict_type": 'send a JSON object with "Content-Type: application/json"',
    "string_too_long": "shorten it",
    "string_too_short": "it must not be empty",
    "int_parsing": "send a whole number",
}


class ProblemFieldError(BaseModel):
    """One bad input of a problem: which field and how to fix it."""

    field: str = Field(description="Dotted path of the bad input.", examples=["body.amount"])
    message: str = Field(
        description="What is wrong with it and how to fix it.",
        examples=['amount must be a decimal string with at most 2 decimal places, e.g. "1250.50"'],
    )


class Problem(BaseModel):
    """An RFC 9457 problem document (media type application/problem+json)."""

    type: str = Field(description="URI naming the kind of problem.", examples=["urn:cnh-sandbox:problem:not-found"])
    title: str = Field(description="Short summary of the kind of problem.", examples=["Not found"])
    status: int = Field(description="The HTTP status code.", examples=[404])
    detail: str = Field(
        description="What went wrong in this request and what to do.", examples=["customer cus_… not found"]
    )
    instance: str = Field(description="The request path.", examples=["/v1/customers/cus_018c2f1e3a4b9f3e2d1c0b0a"])
    request_id: str | None = Field(description="Quote this id when asking for support.", examples=["req_5f1c0e…"])
    errors: list[ProblemFieldError] | None = Field(
        default=None,
        description="One entry per bad input field.",
        examples=[[{"field": "body.amount", "message": "…"}]],
    )
    reason_code: str | None = Field(
        default=None,
        description="Stable machine-readable reason when a rule refused.",
        examples=["insufficient_reserves"],
    )


# Documented on every route that ROUTERS registers (see app.py).
def _problem(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem, under the media type actually sent (RFC 9457), so
    schema-driven clients and tests accept it."""
    return {
        "model": Problem,
        "description": f"{description} (application/problem+json)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _problem(title)
    for status, title in [
        (401, "Missing, unknown or revoked API key"),
        (403, "The key's role may not do this"),
        (422, "Invalid input; `errors` names each field"),
        (429, "Too many failed authentications"),
        (503, "Database unavailable, retry"),
    ]
}


def _documented(description: str) -> dict[str, Any]:
    entry = _problem(description)
    del entry["model"]  # added to a generated document, which already holds the Problem schema
    return entry


NOT_FOUND_RESPONSE = _documented("No such object, or not one this key may see (another customer's is not found either)")
IDEMPOTENCY_CONFLICT_RESPONSE = _documented(
    "The Idempotency-Key was used before with another body, or the request with it is still being processed"
)


def document_route_problems(app: FastAPI) -> None:
    """The problems that depend on an operation's shape go in its OpenAPI entry: 404 wherever the
    path names an object, 409 wherever an Idempotency-Key is taken. An operation's own description
    of the status (e.g. a 409 for a reused bank reference) is kept."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_route_problems(generate())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _add_route_problems(spec: dict[str, Any]) -> None:
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            responses = operation.setdefault("responses", {})
            if any(where == "path" for where, _ in parameters):
                responses.setdefault("404", NOT_FOUND_RESPONSE)
            if ("header", "Idempotency-Key") in parameters:
                responses.setdefault("409", IDEMPOTENCY_CONFLICT_RESPONSE)


def problem_response(
    *,
    status: int,
    type_slug: str,
    title: str,
    detail: str,
    instance: str,
    errors: Sequence[FieldError] = (),
    reason_code: str | None = None,
    extensions: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_PREFIX + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": current_request_id(),
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    if reason_code is not None:
        body["reason_code"] = reason_code
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {}))


def internal_error_response(instance: str) -> JSONResponse:
    return problem_response(
        status=500,
        type_slug="internal-error",
        title="Internal server error",
        detail="an unexpected error occurred; it has been logged. Quote the request_id when reporting it.",
        instance=instance,
    )


def _field_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _field_message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    kind = str(error.get("type"))
    hint = _FIX_HINTS.get(kind)
    if kind == "string_too_short" and int((error.get("ctx") or {}).get("min_length", 1)) > 1:
        hint = "write it out in full"  # it was not empty, only short of the minimum
    return f"{message}; {hint}" if hint else message


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        status=exc.status,
        type_slug=exc.type_slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        reason_code=exc.reason_code,
        extensions=exc.extensions(),
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw_errors = list(exc.errors())
    bad_json = next((e for e in raw_errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = (bad_json.get("ctx") or {}).get("error", "JSON decode error")
        position = bad_json["loc"][-1] if bad_json.get("loc") else "?"
        return problem_response(
            status=400,
            type_slug="invalid-json",
            title="Request body is not valid JSON",
            detail=f"the request body is not valid JSON ({reason} at character {position}); "
            'send a JSON object with "Content-Type: application/json"',
            instance=request.url.path,
            errors=[FieldError("body", f"not valid JSON: {reason}")],
        )
    errors = [FieldError(_field_path(e.get("loc", ())), _field_message(e)) for e in raw_errors]
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return problem_response(
        status=422,
        type_slug="validation-failed",
        title="Validation failed",
        detail=f"invalid input in {names}; see `errors` for how to fix each field",
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        slug, title, detail = "not-found", "Not found", f"no route {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        slug, title = "method-not-allowed", "Method not allowed"
        detail = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
    else:
        slug, title, detail = "http-error", str(exc.detail), str(exc.detail)
    return problem_response(
        status=exc.status_code,
        type_slug=slug,
        title=title,
        detail=detail,
        instance=request.url.path,
        headers=exc.headers,
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        status=503,
        type_slug="database-unavailable",
        title="Service unavailable",
        detail="database unavailable, retry",
        instance=request.url.path,
        headers={"Retry-After": "1"},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, sa_exc.DBAPIError)
    if exc.connection_invalidated:
        return await _database_unavailable(request, exc)
    if isinstance(exc, sa_exc.IntegrityError):
        # A uniqueness race the service did not pre-check: the request lost to a concurrent one.
        log.warning("integrity error mapped to 409: %s", type(exc.orig).__name__)
        return problem_response(
            status=409,
            type_slug="conflict",
            title="Conflict",
            detail="the request conflicts with data written concurrently; fetch the current state and retry",
            instance=request.url.path,
        )
    if isinstance(exc, sa_exc.DataError):
        # Input the database cannot take as sent (a NUL character in text on PostgreSQL, a number
        # beyond the column's range): the client's to fix; the transaction rolled back.
        log.warning("data error mapped to 422: %s", type(exc.orig).__name__)
        return _unstorable_input(request)
    log.error("unexpected database error", exc_info=exc)
    return internal_error_response(request.url.path)


async def _value_overflow(request: Request, exc: Exception) -> JSONResponse:
    """SQLite's driver refuses an integer beyond 64 bits with OverflowError, where PostgreSQL raises
    a DataError: the same client input, the same answer. Logged with its traceback, since a limit
    that should have refused the input earlier (e.g. MAX_BALANCE_FEN) was missed."""
    log.error("value overflow mapped to 422", exc_info=exc)
    return _unstorable_input(request)


def _unstorable_input(request: Request) -> JSONResponse:
    return problem_response(
        status=422,
        type_slug="validation-failed",
        title="Validation failed",
        detail="a value in the request cannot be stored or looked up: text must not contain NUL (U+0000) "
        "characters and numbers must fit their field; fix the input",
        instance=request.url.path,
    )


async def _chain_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("chain unavailable: %s", str(exc)[:200])
    return problem_response(
        status=503,
        type_slug="chain-unavailable",
        title="Service unavailable",
        detail="the chain is unavailable; nothing was changed, retry shortly",
        instance=request.url.path,
        headers={"Retry-After": "2"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    from issuer_service.chain.gateway import ChainUnavailable

    app.add_exception_handler(ChainUnavailable, _chain_unavailable)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(OverflowError, _value_overflow)
    # Anything else is caught by RequestContextMiddleware, which renders internal_error_response
    # with the request id (Starlette's own 500 handler runs outside our middleware).
