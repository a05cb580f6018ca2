"""The public transparency page (R52, R55): no key needed."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from issuer_service.attestations.charts import composition_svg
from issuer_service.attestations.rendering import environment
from issuer_service.dependencies import SessionDep
from issuer_service.transparency import service

router = APIRouter(tags=["transparency"])
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@router.get(
    "/transparency",
    response_class=HTMLResponse,
    summary="Public reserve transparency page: supply, reserves, ratio, composition, latest attestation",
)
def transparency_page(request: Request, session: SessionDep) -> HTMLResponse:
    view = service.view(session, profile=request.app.state.profile, gateway=request.app.state.gateway)
    chart = Markup(composition_svg(view.composition))  # noqa: S704 - our own SVG
    html = environment(TEMPLATES_DIR).get_template("transparency.html.j2").render(v=view, composition_chart=chart)
    return HTMLResponse(html, headers={"Cache-Control": "public, max-age=30"})
