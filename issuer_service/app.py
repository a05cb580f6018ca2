"""The app factory. Nothing connects at import time: `create_app` builds the engine (lazily
connecting), and the lifespan runs migrations and the admin-key bootstrap on start-up.

A new domain plugs in by appending its router to ROUTERS.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.middleware import Middleware
from starlette.concurrency import run_in_threadpool

from compliance.calendar import use_holidays_file
from compliance.profiles import load_profile
from issuer_service import health, metrics
from issuer_service.admin.router import router as admin_router
from issuer_service.api_keys.router import router as api_keys_router
from issuer_service.api_keys.service import bootstrap_admin_key
from issuer_service.approvals.router import router as approvals_router
from issuer_service.attestations.router import router as attestations_router
from issuer_service.audit.router import router as audit_router
from issuer_service.audit.service import SYSTEM_ACTOR, append_audit
from issuer_service.auth import AuthFailureLimiter
from issuer_service.compliance_report.router import router as compliance_report_router
from issuer_service.customers.router import router as customers_router
from issuer_service.db import engine_from_settings, make_sessionmaker, run_migrations
from issuer_service.deposits.router import router as deposits_router
from issuer_service.due_diligence.router import router as due_diligence_router
from issuer_service.enforcement.router import router as enforcement_router
from issuer_service.fiat_accounts.router import router as fiat_accounts_router
from issuer_service.limits.router import router as limits_router
from issuer_service.metrics import HttpMetrics
from issuer_service.middleware import ConcurrencyLimitMiddleware, RequestBodyMiddleware, RequestContextMiddleware
from issuer_service.mints.router import router as mints_router
from issuer_service.problems import PROBLEM_RESPONSES, document_route_problems, install_problem_handlers
from issuer_service.redemptions.router import router as redemptions_router
from issuer_service.request_context import new_request_id, request_id_context
from issuer_service.reserves.router import router as reserves_router
from issuer_service.screening.router import router as screening_router
from issuer_service.settings import Settings
from issuer_service.token.router import router as token_router
from issuer_service.transparency.router import router as transparency_router
from issuer_service.travel_rule.router import router as travel_rule_router
from issuer_service.wallets.router import router as wallets_router
from issuer_service.webhooks.router import router as webhooks_router

log = logging.getLogger(__name__)

TITLE = "CNH stablecoin sandbox issuer API"
DESCRIPTION = (
    "SANDBOX — NOT A LICENSED STABLECOIN (R55). A sandbox prototype of an offshore-RMB (CNH) "
    "stablecoin issuer: onboard customers, credit sandbox bank deposits, mint and redeem the test "
    "token tCNH, and audit everything. Not legal advice; no licence is claimed. "
    "Authenticate with `Authorization: Bearer <api key>`; errors are RFC 9457 application/problem+json; "
    "amounts are decimal strings."
)

# Health and metrics carry no auth and are not versioned.
PUBLIC_ROUTERS: list[APIRouter] = [health.router, metrics.router]
# Every /v1 router. Append a domain's router here (wallets, mints, redemptions, ...).
ROUTERS: list[APIRouter] = [
    api_keys_router,
    customers_router,
    fiat_accounts_router,
    deposits_router,
    audit_router,
    admin_router,
    token_router,
    wallets_router,
    mints_router,
    redemptions_router,
    reserves_router,
    attestations_router,
    transparency_router,
    webhooks_router,
    approvals_router,
    due_diligence_router,
    limits_router,
    screening_router,
    enforcement_router,
    travel_rule_router,
    compliance_report_router,
]


def _bootstrap(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    configured = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
    # Audit records written at start-up get a request id too, so every record is traceable.
    with request_id_context(new_request_id("startup")), app.state.sessionmaker.begin() as session:
        shown_once = bootstrap_admin_key(
            session, pepper=settings.api_key_pepper.get_secret_value(), configured_key=configured
        )
        for change in app.state.start_up_changes:  # what connecting to the chain changed there (R50)
            append_audit(
                session,
                actor=SYSTEM_ACTOR,
                action=change.action,
                entity_type=change.entity_type,
                entity_id=change.entity_id,
                data=change.data,
                rule_ids=list(change.rule_ids),
            )
    if shown_once is not None:
        # stdout, not the log: the key must not end up in log storage (R43).
        print(f"Admin API key (shown once): {shown_once}", flush=True)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.uses_placeholder_pepper:
        log.warning("using the sandbox placeholder API key pepper; set CNH_API_KEY_PEPPER outside a sandbox")
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
    await run_in_threadpool(run_migrations, settings.database_url)
    await run_in_threadpool(_bootstrap, app)
    background = None
    if app.state.gateway is not None and settings.worker_in_process:
        from issuer_service.worker.runner import build_worker, start_background

        worker = build_worker(
            app.state.sessionmaker,
            app.state.gateway,
            app.state.profile,
            webhook_private_networks=settings.webhooks_reach_private_networks,
        )
        background = start_background(worker)
    app.state.background_worker = background
    try:
        yield
    finally:
        if background is not None:
            await run_in_threadpool(background.stop)
        app.state.engine.dispose()


def create_app(settings: Settings | None = None, gateway: Any = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    http_metrics = HttpMetrics()
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        middleware=[
            # Outermost first: the request id must exist before a 413 is rendered.
            Middleware(RequestContextMiddleware, metrics=http_metrics),
            Middleware(
                RequestBodyMiddleware,
                max_body_bytes=settings.max_body_bytes,
                read_timeout_s=settings.body_read_timeout_s,
            ),
            Middleware(ConcurrencyLimitMiddleware, max_in_flight=settings.api_threads),
        ],
    )
    app.state.settings = settings
    app.state.profile = load_profile(settings.regime_profile)  # R60: fail fast on an unknown profile
    use_holidays_file(settings.holidays_file)  # R13: the setting's calendar, else the profile's shipped one
    app.state.engine = engine_from_settings(settings)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.gateway = gateway
    app.state.start_up_changes = []  # `ChainRuntime.changes`, recorded in the audit log at start-up
    app.state.metrics = http_metrics
    app.state.auth_limiter = AuthFailureLimiter(app.state.sessionmaker, settings.auth_failure_limit)
    app.state.readiness_checks = []
    if gateway is not None:
        from issuer_service.chain.readiness import chain_checks

        app.state.readiness_checks.extend(chain_checks(app))
    install_problem_handlers(app)
    for router in PUBLIC_ROUTERS:
        app.include_router(router)
    for router in ROUTERS:
        app.include_router(router, responses=PROBLEM_RESPONSES)
    document_route_problems(app)
    return app
