"""HTTP routes of the audit log (auditor read access, R50)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from issuer_service.audit import service
from issuer_service.audit.schemas import AuditRecord, AuditVerification
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1/audit-log", tags=["audit"])

ReaderDep = Annotated[Principal, Depends(require("auditor", "admin"))]
# The head an export runs up to: the SDK checks the file it wrote ends there (cnh_sdk).
HEAD_SEQ_HEADER, HEAD_HASH_HEADER = "X-Audit-Head-Seq", "X-Audit-Head-Hash"


@router.get("", summary="List audit records (paged, filterable)")
def list_audit_log(
    session: SessionDep,
    principal: ReaderDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    entity_type: Annotated[str | None, Query(description="Only this kind of object.", examples=["deposit"])] = None,
    entity_id: Annotated[str | None, Query(description="Only this object.", examples=["dep_018c2f1e3a4b"])] = None,
    action: Annotated[str | None, Query(description="Only this action.", examples=["deposit.confirmed"])] = None,
) -> Page[AuditRecord]:
    return service.list_audit(
        session, limit=limit, cursor=cursor, entity_type=entity_type, entity_id=entity_id, action=action
    )


@router.get("/verify", summary="Verify the hash chain end to end (R50)")
def verify_audit_log(session: SessionDep, principal: ReaderDep) -> AuditVerification:
    return service.verify_audit_log(session)


@router.get(
    "/export",
    summary="Export the whole log as JSON lines",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One audit record per line, up to the head named in `X-Audit-Head-Seq` and "
            "`X-Audit-Head-Hash`: a file whose last record is not that one is incomplete.",
        }
    },
)
def export_audit_log(
    request: Request, session: SessionDep, principal: Annotated[Principal, Depends(require("auditor"))]
) -> StreamingResponse:
    # The request's own session (on SQLite a second one would wait for its write lock).
    seq, head_hash = service.export_head(session)
    return StreamingResponse(
        service.export_lines(request.app.state.sessionmaker, seq),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": 'attachment; filename="audit-log.jsonl"',
            HEAD_SEQ_HEADER: str(seq),
            HEAD_HASH_HEADER: head_hash,
        },
    )
