"""HTTP routes of attestation reports (R52–R54): auditors build and read them; holders fetch the
proof that their own balance is counted."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import HTMLResponse

from issuer_service.attestations import rendering, service
from issuer_service.attestations.schemas import AttestationCreate, AttestationOut, AttestationSummary
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import AddressPath, AttestationIdPath

router = APIRouter(prefix="/v1/attestations", tags=["attestations"])

AuditorDep = Annotated[Principal, Depends(require("auditor"))]
ProofReaderDep = Annotated[Principal, Depends(require("auditor", "customer"))]


@router.post(
    "",
    status_code=201,
    response_model=AttestationOut,
    responses={
        200: {
            "model": AttestationOut,
            "description": "The rebuild is byte-identical to a stored report, which is returned.",
        }
    },
    summary="Build a reserve attestation report at a block (R52, R53, R54)",
)
def create_attestation(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: AuditorDep,
    body: Annotated[AttestationCreate | None, Body()] = None,
) -> AttestationOut:
    attestation, created = service.create_attestation(
        session,
        actor=principal,
        gateway=request.app.state.gateway,
        profile=request.app.state.profile,
        as_of_block=body.as_of_block if body is not None else None,
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/attestations/{attestation.id}"
    return attestation


@router.get("", summary="Attestation reports, oldest first")
def list_attestations(
    session: SessionDep, principal: AuditorDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[AttestationSummary]:
    return service.list_attestations(session, limit=limit, cursor=cursor)


@router.get("/{attestation_id}", response_model=AttestationOut, summary="One report with its SHA-256 (R53)")
def get_attestation(attestation_id: AttestationIdPath, session: SessionDep, principal: AuditorDep) -> AttestationOut:
    return service.get_out(session, attestation_id)


@router.get(
    "/{attestation_id}/report.json",
    summary="The canonical JSON bytes, exactly as hashed (R53)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def report_json(attestation_id: AttestationIdPath, session: SessionDep, principal: AuditorDep) -> Response:
    attestation = service.get_attestation(session, attestation_id)
    return Response(
        attestation.report_json.encode("utf-8"),
        media_type="application/json",
        headers={
            "ETag": f'"{attestation.sha256}"',
            "X-Report-SHA256": attestation.sha256,
            "Content-Disposition": f'inline; filename="attestation-{attestation.id}.json"',
        },
    )


@router.get("/{attestation_id}/report.html", response_class=HTMLResponse, summary="The report as a web page (R53)")
def report_html(attestation_id: AttestationIdPath, session: SessionDep, principal: AuditorDep) -> HTMLResponse:
    attestation = service.get_attestation(session, attestation_id)
    html = rendering.render_html(service.report_of(attestation), attestation.sha256)
    return HTMLResponse(html, headers={"X-Report-SHA256": attestation.sha256})


@router.get(
    "/{attestation_id}/report.pdf",
    summary="The report as a PDF (R53)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def report_pdf(attestation_id: AttestationIdPath, session: SessionDep, principal: AuditorDep) -> Response:
    attestation = service.get_attestation(session, attestation_id)
    pdf = rendering.render_pdf(service.report_of(attestation), attestation.sha256)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "X-Report-SHA256": attestation.sha256,
            "Content-Disposition": f'inline; filename="attestation-{attestation.id}.pdf"',
        },
    )


@router.get("/{attestation_id}/proofs/{address}", summary="Proof that a holder's balance is counted (R54)")
def get_proof(
    attestation_id: AttestationIdPath,
    address: AddressPath,
    session: SessionDep,
    principal: ProofReaderDep,
) -> dict[str, Any]:
    return service.proof_for(session, principal=principal, attestation_id=attestation_id, address=address)
