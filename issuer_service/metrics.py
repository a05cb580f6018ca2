"""Prometheus metrics (GET /metrics). One registry per app instance, so several apps in one
process (the tests) do not collide on the global registry.

Two kinds of metric:
- HTTP traffic (requests and latency by method and route template), counted in this process by
  the request middleware;
- the state of the issuer (mints and redemptions by status, outbox depth, confirmation lag,
  reserve ratio, redemption SLA breaches, webhook deliveries), read from the database at scrape
  time. The database is the truth every service and worker process shares, so any one instance
  reports the whole system, including work done by a standalone worker that serves no HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from compliance.profiles import RegimeProfile
from issuer_service.clock import utc_now

log = logging.getLogger(__name__)

# Outbox rows not yet final: the queue the worker still has to sign, send or confirm.
OPEN_OUTBOX_STATUSES = ("pending", "signed", "sent")
# A redemption still owed to its holder (R13): its payout deadline keeps running.
OPEN_REDEMPTION_STATUSES = ("requested", "burn_submitted", "burned")
RECENT_MINTS = 100  # confirmation times are summarised over this many latest confirmed mints


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cnh_http_requests_total", "HTTP requests served", ["method", "route", "status"], registry=self.registry
        )
        self.duration = Histogram(
            "cnh_http_request_duration_seconds", "HTTP request duration", ["method", "route"], registry=self.registry
        )
        self._database_watched = False
        self._lock = threading.Lock()

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)

    def watch_database(self, sessions: sessionmaker[Session], profile: RegimeProfile) -> None:
        """Add the issuer-state metrics, read from `sessions` at each scrape (idempotent)."""
        with self._lock:
            if not self._database_watched:
                self.registry.register(IssuerStateCollector(sessions, profile))
                self._database_watched = True


# ------------------------------------------------------------------ issuer state, read at scrape
@dataclass
class IssuerSnapshot:
    mints: dict[str, int] = field(default_factory=dict)
    redemptions: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    oldest_open_outbox_at: datetime | None = None
    recent_mint_seconds: list[float] = field(default_factory=list)
    reserves_fen: int = 0
    supply_fen: int = 0
    fully_backed: bool = True
    paid_late: int = 0
    overdue: int = 0
    webhook_deliveries: dict[str, int] = field(default_factory=dict)


def read_snapshot(session: Session, profile: RegimeProfile, now: datetime) -> IssuerSnapshot:
    """Every figure in a handful of aggregate queries (the one read model spanning domains)."""
    from issuer_service.mints.models import Mint
    from issuer_service.outbox.models import ChainTx
    from issuer_service.redemptions.models import Redemption
    from issuer_service.reserves import service as reserves
    from issuer_service.webhooks import repository as webhooks

    def by_status(column: InstrumentedAttribute[str]) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).group_by(column)).all()
        return {str(status): int(count) for status, count in rows}

    snapshot = IssuerSnapshot(
        mints=by_status(Mint.status),
        redemptions=by_status(Redemption.status),
        outbox=by_status(ChainTx.status),
        webhook_deliveries=webhooks.counts_by_status(session),
    )
    snapshot.oldest_open_outbox_at = session.execute(
        select(func.min(ChainTx.created_at)).where(ChainTx.status.in_(OPEN_OUTBOX_STATUSES))
    ).scalar_one_or_none()
    recent = session.execute(
        select(Mint.created_at, Mint.confirmed_at)
        .where(Mint.status == "confirmed", Mint.confirmed_at.is_not(None))
        .order_by(Mint.confirmed_at.desc())
        .limit(RECENT_MINTS)
    ).all()
    snapshot.recent_mint_seconds = sorted(
        max(0.0, (confirmed - created).total_seconds()) for created, confirmed in recent if confirmed is not None
    )
    view = reserves.public_view(session, profile, None)
    snapshot.reserves_fen, snapshot.supply_fen, snapshot.fully_backed = view.reserves, view.supply, view.fully_backed
    snapshot.paid_late = int(
        session.execute(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.status == "paid", Redemption.paid_at > Redemption.deadline_at)
        ).scalar_one()
    )
    snapshot.overdue = int(
        session.execute(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.status.in_(OPEN_REDEMPTION_STATUSES), Redemption.deadline_at < now)
        ).scalar_one()
    )
    return snapshot


def _quantile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def snapshot_metrics(snapshot: IssuerSnapshot, now: datetime) -> Iterator[Metric]:
    from issuer_service.mints.models import MINT_STATUSES
    from issuer_service.redemptions.models import REDEMPTION_STATUSES
    from issuer_service.webhooks.models import DELIVERY_STATUSES

    def labelled(name: str, doc: str, label: str, values: dict[str, int], known: Iterable[str]) -> Metric:
        family = GaugeMetricFamily(name, doc, labels=[label])
        for key in dict.fromkeys([*known, *values]):  # every known status, 0 when absent
            family.add_metric([key], values.get(key, 0))
        return family

    yield labelled("cnh_mints", "Mints by status", "status", snapshot.mints, MINT_STATUSES)
    yield labelled("cnh_redemptions", "Redemptions by status", "status", snapshot.redemptions, REDEMPTION_STATUSES)
    open_outbox = {s: snapshot.outbox.get(s, 0) for s in OPEN_OUTBOX_STATUSES}
    yield labelled(
        "cnh_outbox_depth",
        "Chain transactions waiting to be signed, sent or confirmed",
        "status",
        open_outbox,
        OPEN_OUTBOX_STATUSES,
    )
    yield GaugeMetricFamily(
        "cnh_outbox_failed", "Chain transactions the worker gave up on", value=snapshot.outbox.get("failed", 0)
    )
    lag = 0.0
    if snapshot.oldest_open_outbox_at is not None:
        lag = max(0.0, (now - snapshot.oldest_open_outbox_at).total_seconds())
    yield GaugeMetricFamily(
        "cnh_confirmation_lag_seconds",
        "Age of the oldest chain transaction not yet confirmed (0 when none is open)",
        value=lag,
    )
    recent = GaugeMetricFamily(
        "cnh_mint_confirmation_seconds",
        f"Request-to-confirmation time over the last {RECENT_MINTS} confirmed mints",
        labels=["quantile"],
    )
    if snapshot.recent_mint_seconds:
        for q in ("0.5", "0.95", "1"):
            recent.add_metric([q], _quantile(snapshot.recent_mint_seconds, float(q)))
    yield recent
    yield GaugeMetricFamily(
        "cnh_reserves_fen", "Reserve value counted for backing, in fen (R1)", value=snapshot.reserves_fen
    )
    yield GaugeMetricFamily(
        "cnh_supply_fen", "Token supply incl. in-flight mints, in fen (R1)", value=snapshot.supply_fen
    )
    ratio = GaugeMetricFamily("cnh_reserve_ratio", "Reserves / supply; absent while the supply is zero (R1)")
    if snapshot.supply_fen > 0:
        ratio.add_metric([], snapshot.reserves_fen / snapshot.supply_fen)
    yield ratio
    yield GaugeMetricFamily(
        "cnh_fully_backed", "1 when reserves cover supply plus the buffer (R1)", value=1 if snapshot.fully_backed else 0
    )
    breaches = GaugeMetricFamily(
        "cnh_redemption_sla_breaches",
        "Redemptions paid after their deadline, or still unpaid past it (R13)",
        labels=["state"],
    )
    breaches.add_metric(["paid_late"], snapshot.paid_late)
    breaches.add_metric(["overdue"], snapshot.overdue)
    yield breaches
    yield labelled(
        "cnh_webhook_deliveries",
        "Webhook deliveries by status",
        "status",
        snapshot.webhook_deliveries,
        DELIVERY_STATUSES,
    )


class IssuerStateCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session], profile: RegimeProfile) -> None:
        self.sessions = sessions
        self.profile = profile

    def describe(self) -> Iterable[Metric]:
        return []  # no query at registration; names are checked at scrape

    def collect(self) -> Iterable[Metric]:
        now = utc_now()
        try:
            with self.sessions() as session:
                snapshot = read_snapshot(session, self.profile, now)
        except Exception as exc:  # noqa: BLE001 - a scrape reports the outage instead of failing
            log.warning("metrics could not read the database: %s", exc.__class__.__name__)
            yield GaugeMetricFamily(
                "cnh_metrics_database_up", "1 when the last scrape could read the database", value=0
            )
            return
        yield GaugeMetricFamily("cnh_metrics_database_up", "1 when the last scrape could read the database", value=1)
        yield from snapshot_metrics(snapshot, now)
        from issuer_service.compliance_report.metrics import compliance_metrics  # screening, freezes, R25 gaps

        yield from compliance_metrics(self.sessions, self.profile, now)


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    http_metrics: HttpMetrics = request.app.state.metrics
    http_metrics.watch_database(request.app.state.sessionmaker, request.app.state.profile)
    return Response(generate_latest(http_metrics.registry), media_type=CONTENT_TYPE_LATEST)
