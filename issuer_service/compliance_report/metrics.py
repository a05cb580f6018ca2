"""Compliance gauges for /metrics, read from the database at scrape time like the issuer state:
open screening cases, frozen wallets, pending approvals, travel-rule gaps and an overdue
attestation (R23-R25, R40, R52, R53).
Redemption SLA breaches are `cnh_redemption_sla_breaches` in issuer_service/metrics.py (R13)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from compliance.profiles import RegimeProfile

log = logging.getLogger(__name__)


def compliance_metrics(sessions: sessionmaker[Session], profile: RegimeProfile, now: datetime) -> Iterator[Metric]:
    from issuer_service.approvals import repository as approvals
    from issuer_service.compliance_report.service import attestation_section
    from issuer_service.screening import repository as screening
    from issuer_service.screening.models import CASE_STATUSES
    from issuer_service.travel_rule.service import transfer_findings
    from issuer_service.wallets.models import Wallet

    try:
        with sessions() as session:
            cases = screening.counts_by_status(session)
            frozen = int(
                session.execute(select(func.count()).select_from(Wallet).where(Wallet.frozen.is_(True))).scalar_one()
            )
            pending = approvals.pending_counts(session)
            findings = transfer_findings(session, profile, now)
            attestation = attestation_section(session, profile, now)
    except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
        log.warning("compliance metrics could not read the database: %s", exc.__class__.__name__)
        return
    family = GaugeMetricFamily("cnh_screening_cases", "Sanctions screening cases by status (R23)", labels=["status"])
    for status in CASE_STATUSES:
        family.add_metric([status], cases.get(status, 0))
    yield family
    yield GaugeMetricFamily("cnh_frozen_wallets", "Wallets confirmed frozen on chain (R24)", value=frozen)
    approvals_family = GaugeMetricFamily(
        "cnh_pending_approvals", "Approval requests waiting, by action (R40)", labels=["action"]
    )
    for action, count in sorted(pending.items()):
        approvals_family.add_metric([action], count)
    yield approvals_family
    yield GaugeMetricFamily(
        "cnh_travel_rule_flagged_transfers",
        "Customer transfers at or above the threshold without a timely travel-rule record (R25)",
        value=sum(f.flagged for f in findings),
    )
    yield GaugeMetricFamily(
        "cnh_attestation_overdue",
        f"1 while the next reserve attestation is overdue under the profile's {attestation.cadence} cadence (R52, R53)",
        value=1 if attestation.overdue else 0,
    )

