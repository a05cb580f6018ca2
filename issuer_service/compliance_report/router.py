"""HTTP routes of the compliance report (compliance, auditor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from issuer_service.auth import Principal, require
from issuer_service.clock import utc_now
from issuer_service.compliance_report import service
from issuer_service.compliance_report.schemas import ComplianceReportOut
from issuer_service.dependencies import SessionDep

router = APIRouter(prefix="/v1/compliance", tags=["compliance"])

ReaderDep = Annotated[Principal, Depends(require("compliance", "auditor"))]


@router.get(
    "/report",
    response_model=ComplianceReportOut,
    summary="SLA breaches, travel-rule gaps, screening, freezes, seizures, approvals (R13, R23-R25, R40)",
)
def report(request: Request, session: SessionDep, principal: ReaderDep) -> ComplianceReportOut:
    return service.build_report(session, request.app.state.profile, utc_now())


@router.get("/report.html", response_class=HTMLResponse, summary="The compliance report as a page (R55 banner)")
def report_html(request: Request, session: SessionDep, principal: ReaderDep) -> HTMLResponse:
    return HTMLResponse(service.render_html(service.build_report(session, request.app.state.profile, utc_now())))
