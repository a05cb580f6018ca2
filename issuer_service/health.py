"""Liveness and readiness. Readiness checks the database and any checks the app adds to
`app.state.readiness_checks` (the chain and reconciliation checks, lead): each a callable
returning (name, ok, detail)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from issuer_service.problems import problem_response

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], tuple[str, bool, str]]

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    """The process is up (GET /healthz)."""

    status: str = Field(description="Always ok while the process serves requests.", examples=["ok"])


class CheckResult(BaseModel):
    """The outcome of one readiness check (database, chain, reconciliation)."""

    ok: bool = Field(description="Whether this dependency is usable.", examples=[True])
    detail: str = Field(description="What was checked, or why it failed.", examples=["SELECT 1 succeeded"])


class Readiness(BaseModel):
    """Every readiness check passed (GET /readyz); when one fails the answer is a 503 problem listing them."""

    status: str = Field(description="ready when every check passes.", examples=["ready"])
    checks: dict[str, CheckResult] = Field(
        description="Each check by name.", examples=[{"database": {"ok": True, "detail": "SELECT 1 succeeded"}}]
    )


@router.get("/healthz", summary="Liveness")
def healthz() -> Liveness:
    return Liveness(status="ok")


def _database_check(request: Request) -> tuple[str, bool, str]:
    try:
        with request.app.state.sessionmaker() as session:
            session.execute(text("SELECT 1"))
        return "database", True, "SELECT 1 succeeded"
    except Exception as exc:  # readiness reports failures, it does not raise them
        return "database", False, f"database unreachable ({type(exc).__name__})"


def _run(check: ReadinessCheck) -> tuple[str, bool, str]:
    try:
        return check()
    except Exception as exc:
        name = getattr(check, "__name__", "check")
        log.warning("readiness check %s raised", name, exc_info=exc)
        return name, False, f"check raised {type(exc).__name__}"


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database and chain",
    responses={503: {"description": "Not ready: a problem+json listing the failing checks"}},
)
def readyz(request: Request) -> Readiness | JSONResponse:
    extra: list[ReadinessCheck] = list(getattr(request.app.state, "readiness_checks", []))
    results = [_database_check(request), *(_run(check) for check in extra)]
    checks = {name: CheckResult(ok=ok, detail=detail) for name, ok, detail in results}
    failing = [name for name, result in checks.items() if not result.ok]
    if failing:
        return problem_response(
            status=503,
            type_slug="not-ready",
            title="Service not ready",
            detail=f"not ready: {', '.join(failing)} failing",
            instance=request.url.path,
            extensions={"checks": {name: result.model_dump() for name, result in checks.items()}},
        )
    return Readiness(status="ready", checks=checks)
