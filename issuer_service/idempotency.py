"""Idempotency keys for POSTs that move money (design.md "HTTP API v1").

Same `Idempotency-Key` + same body → the stored response (same status and bytes); same key +
different body → 409. Keys are scoped to whoever moves the money (`scope_of`): all API keys of one
customer share one space, so a retry sent through the customer's other key (a rotated key, a
second server) replays the first answer instead of minting or redeeming twice; each staff key has
its own. A router wraps its use case:

    return idempotent(session, principal, request, body, lambda: service.create_deposit(...))

Concurrency: the key row is inserted *before* the use case runs, inside the request's transaction
(under a savepoint). A concurrent duplicate's INSERT then waits on the unique index (PostgreSQL) or
on the database lock (SQLite) until the first request commits, gets the unique violation, and
replays the committed response instead of moving money twice. Failed requests roll the key row back
with everything else, so a retry after an error runs the use case again; only successes are replayed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from compliance.audit_chain import canonical_json
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.db import Base, UtcDateTime, dialect_insert
from issuer_service.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
_FIELD = f"header.{HEADER}"
REPLAYED_HEADER = "Idempotent-Replayed"

# Declare this on a route so OpenAPI documents the header; `idempotent` reads and checks it.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="Unique per operation (e.g. a UUID), 1-255 printable ASCII characters. "
        "Retrying with the same key and body returns the original response instead of moving money twice.",
        examples=["6f1c2a7e-3b4d-4f5a-9e8b-0c1d2e3f4a5b"],
    ),
]


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(64))  # `scope_of` the caller
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_json: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("scope", "key"),)


def scope_of(principal: Principal) -> str:
    """Whose Idempotency-Keys these are: the customer's for a customer key (every key of that
    customer), the key's own for a staff key (each is one person or system)."""
    return principal.customer_id or principal.id


def _checked_key(raw: str | None) -> str:
    if raw is None or raw == "":
        raise ValidationFailed(
            f"send an {HEADER} header (e.g. a UUID) so a retry of this request cannot move money twice",
            field=_FIELD,
        )
    if len(raw) > 255 or not all(" " <= ch <= "~" for ch in raw):
        raise ValidationFailed(f"{HEADER} must be 1-255 printable ASCII characters", field=_FIELD)
    return raw


def _request_hash(request: Request, body: BaseModel, not_compared: frozenset[str] = frozenset()) -> str:
    # The parsed body (amounts normalized, e.g. "5" == "5.00"), the method and the path: reusing a
    # key on another endpoint or with other content is a different request. Fields `not_compared`
    # authorise the request rather than say what it asks, as the API key does.
    content = body.model_dump(mode="json", exclude=set(not_compared))
    payload = {"method": request.method, "path": request.url.path, "body": content}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def _find(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def _replay(record: IdempotencyRecord, request_hash: str) -> JSONResponse:
    if record.request_hash != request_hash:
        raise Conflict(
            f"this {HEADER} was already used with a different request; use a new key for a new operation",
            field=_FIELD,
        )
    if record.status_code is None:  # only visible inside the transaction that is writing it
        raise Conflict(f"a request with this {HEADER} is still in progress; retry shortly", field=_FIELD)
    return JSONResponse(record.response_json, status_code=record.status_code, headers={REPLAYED_HEADER: "true"})


def idempotent(
    session: Session,
    principal: Principal,
    request: Request,
    body: BaseModel,
    create: Callable[[], BaseModel],
    *,
    status_code: int = 201,
    not_compared: frozenset[str] = frozenset(),
) -> JSONResponse:
    """Run `create` once per (`scope_of` the principal, Idempotency-Key); replay its response on retries.
    Body fields in `not_compared` (a signature a retry makes afresh) do not make a retry another request."""
    key = _checked_key(request.headers.get(HEADER))
    scope = scope_of(principal)
    request_hash = _request_hash(request, body, not_compared)
    claimed = _claim(
        session,
        scope=scope,
        key=key,
        method=request.method,
        path=request.url.path,
        request_hash=request_hash,
        status_code=None,
        response_json=None,
        created_at=utc_now(),
    )
    if not claimed:
        # The key was used before (a retry), or a concurrent request with it committed first (we
        # waited for it on the index). Trying the insert first saves a lookup on every new request.
        winner = _find(session, scope, key)
        if winner is None:  # pragma: no cover - the conflict means it exists
            raise Conflict(f"a request with this {HEADER} is still in progress; retry shortly", field=_FIELD)
        return _replay(winner, request_hash)
    content = create().model_dump(mode="json")
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        .values(status_code=status_code, response_json=content)
    )
    return JSONResponse(content, status_code=status_code)


def _claim(session: Session, **values: Any) -> bool:
    """Insert the key's row unless (scope, key) exists: `INSERT ... ON CONFLICT DO NOTHING`.
    A concurrent request with the same key waits on the unique index until the first one ends.
    No savepoint: a conflict does not abort the transaction."""
    stmt = (
        dialect_insert(session)(IdempotencyRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(IdempotencyRecord.id)  # a row back means it was inserted (rowcount is not reliable here)
    )
    return session.execute(stmt).first() is not None
