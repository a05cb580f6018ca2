"""Build the compliance report from the database (one read transaction): R13 SLA breaches, R25
travel-rule gaps, R52/R53 an overdue attestation, R23 cases, R24 freezes and seizures, R40 pending
approvals. JSON and HTML, both carrying the sandbox label (R55)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from compliance.attestation_cadence import AttestationDue, attestation_due
from compliance.calendar import calendar_for, coverage_warning, redemption_deadline
from compliance.money import format_fen, format_units
from compliance.profiles import RegimeProfile
from issuer_service.approvals import repository as approvals
from issuer_service.attestations import repository as attestations
from issuer_service.compliance_report.schemas import (
    SANDBOX_BANNER,
    AttestationSectionOut,
    ComplianceReportOut,
    EnforcementSectionOut,
    FlaggedTransferOut,
    FrozenWalletOut,
    ScreeningSectionOut,
    SeizureLineOut,
    SlaBreachOut,
    SlaSectionOut,
    TravelRuleSectionOut,
)
from issuer_service.enforcement import repository as enforcement
from issuer_service.enforcement.models import Seizure
from issuer_service.redemptions.models import Redemption
from issuer_service.reserves import repository as reserves
from issuer_service.screening import repository as screening
from issuer_service.screening.service import current_list
from issuer_service.travel_rule.service import transfer_findings
from issuer_service.wallets.models import Wallet

OPEN_REDEMPTION_STATUSES = ("requested", "burn_submitted", "burned")


def _breach(r: Redemption, now: datetime) -> SlaBreachOut:
    until = r.paid_at if r.paid_at is not None else now
    return SlaBreachOut(
        redemption_id=r.id,
        customer_id=r.customer_id,
        amount=r.amount_fen,
        status=r.status,
        deadline_at=r.deadline_at,
        paid_at=r.paid_at,
        late_by_seconds=max(0, int((until - r.deadline_at).total_seconds())),
    )


def sla_section(session: Session, profile: RegimeProfile, now: datetime) -> SlaSectionOut:
    """R13: a payout after its deadline, or none by then, is a breach."""
    paid = list(session.execute(select(Redemption).where(Redemption.status == "paid")).scalars())
    late = [r for r in paid if r.paid_at is not None and r.paid_at > r.deadline_at]
    overdue = session.execute(
        select(Redemption)
        .where(Redemption.status.in_(OPEN_REDEMPTION_STATUSES), Redemption.deadline_at < now)
        .order_by(Redemption.deadline_at)
    ).scalars()
    calendar = calendar_for(profile)
    return SlaSectionOut(
        deadline_business_days=profile.redemption_deadline_business_days,
        paid=len(paid),
        paid_on_time=len(paid) - len(late),
        paid_late=[_breach(r, now) for r in late],
        overdue=[_breach(r, now) for r in overdue],
        fee_disclosure="GET /v1/redemptions/quote before the request; fee and payout on every redemption receipt",
        holiday_calendar=calendar.name,
        holiday_years=sorted(calendar.years),
        calendar_warnings=_calendar_warnings(profile, now),
    )


def _calendar_warnings(profile: RegimeProfile, now: datetime) -> list[str]:
    """R13: BusinessCalendar.covers() for a request made now and its deadline; a year without
    holiday data makes deadlines count weekends only, which the report must not hide."""
    calendar = calendar_for(profile)
    days = {calendar.local_date(now), calendar.local_date(redemption_deadline(now, profile, calendar))}
    return sorted({w for w in (coverage_warning(calendar, day) for day in days) if w is not None})


def travel_rule_section(session: Session, profile: RegimeProfile, now: datetime) -> TravelRuleSectionOut:
    findings = transfer_findings(session, profile, now)
    return TravelRuleSectionOut(
        threshold=profile.travel_rule_threshold_fen,
        record_window_seconds=profile.travel_rule_record_window_seconds,
        transfers_at_or_above_threshold=len(findings),
        recorded=sum(f.status == "recorded" for f in findings),
        awaiting_record=sum(f.status == "awaiting_record" for f in findings),
        flagged=[
            FlaggedTransferOut(
                tx_hash=f.transfer.tx_hash,
                block_number=f.transfer.block_number,
                from_address=f.transfer.from_address,
                to_address=f.transfer.to_address,
                amount=format_units(f.transfer.amount_units),
                observed_at=f.transfer.observed_at,
                problem=f.status,
                recorded_at=f.recorded_at,
            )
            for f in findings
            if f.flagged
        ],
    )


def attestation_status(session: Session, profile: RegimeProfile, now: datetime) -> AttestationDue:
    """R52, R53 under the profile's cadence: the clock runs from the stated time of the latest
    report; with none yet, outstanding tokens (confirmed or in flight) make one due at once."""
    latest = attestations.latest(session)
    last_at = datetime.fromtimestamp(latest.block_timestamp, UTC) if latest is not None else None
    pool = reserves.get_pool(session)
    has_supply = pool is not None and pool.outstanding_fen + pool.in_flight_mint_fen > 0
    return attestation_due(last_at, has_supply=has_supply, profile=profile, now=now)


def attestation_section(session: Session, profile: RegimeProfile, now: datetime) -> AttestationSectionOut:
    due = attestation_status(session, profile, now)
    return AttestationSectionOut(
        cadence=due.cadence, last_attested_at=due.last_attested_at, next_due_at=due.due_at, overdue=due.overdue
    )


def enforcement_section(session: Session) -> EnforcementSectionOut:
    held = set(enforcement.wallets_held(session))
    rows = session.execute(
        select(Wallet).where(or_(Wallet.frozen.is_(True), Wallet.id.in_(sorted(held) or [""]))).order_by(Wallet.id)
    ).scalars()
    frozen = [
        FrozenWalletOut(
            wallet=w.address,
            customer_id=w.customer_id,
            frozen_on_chain=w.frozen,
            holds=len(enforcement.holds(session, w.id)),
        )
        for w in rows
    ]
    seizures = session.execute(select(Seizure).order_by(Seizure.id)).scalars()
    return EnforcementSectionOut(
        frozen_wallets=frozen,
        seizures=[
            SeizureLineOut(id=s.id, wallet=s.address, amount=s.amount_fen, status=s.status, legal_basis=s.legal_basis)
            for s in seizures
        ],
    )


def build_report(session: Session, profile: RegimeProfile, now: datetime) -> ComplianceReportOut:
    screening_list, _ = current_list(session)
    return ComplianceReportOut(
        generated_at=now,
        profile=profile.name,
        redemption_sla=sla_section(session, profile, now),
        travel_rule=travel_rule_section(session, profile, now),
        attestation=attestation_section(session, profile, now),
        screening=ScreeningSectionOut(
            list_version=screening_list.version,
            cases=screening.counts_by_status(session),
            blocked_customers=screening.blocked_by_screening(session),
        ),
        enforcement=enforcement_section(session),
        pending_approvals=approvals.pending_counts(session),
    )


def render_html(report: ComplianceReportOut) -> str:
    """A plain page for people; the banner at the top and the bottom (R55)."""

    def table(headers: list[str], rows: list[list[object]]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td>none</td></tr>'}</tbody></table>"

    sla, travel, enf = report.redemption_sla, report.travel_rule, report.enforcement
    attested = report.attestation
    last = attested.last_attested_at.isoformat() if attested.last_attested_at else "none yet"
    due = attested.next_due_at.isoformat() if attested.next_due_at else "at the first supply"
    breaches = [
        [
            b.redemption_id,
            b.customer_id,
            format_fen(b.amount),
            b.status,
            b.deadline_at.isoformat(),
            b.paid_at.isoformat() if b.paid_at else "unpaid",
            b.late_by_seconds,
        ]
        for b in [*sla.paid_late, *sla.overdue]
    ]
    banner = f'<p class="banner" id="banner">{escape(report.banner)}</p>'
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(report.banner)} · compliance report</title>",
            "<style>body{font-family:sans-serif;margin:2em}.banner{background:#b00;color:#fff;padding:.5em;"
            "font-weight:bold}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}</style>",
            "</head><body>",
            banner,
            f"<h1>Compliance report</h1><p>Profile {escape(report.profile)}, generated "
            f"{escape(report.generated_at.isoformat())}.</p>",
            f"<h2>Redemption SLA (R13, R14)</h2><p>Deadline {sla.deadline_business_days} business day(s); "
            f"{sla.paid} paid, {sla.paid_on_time} on time, {len(sla.paid_late)} late, {len(sla.overdue)} overdue. "
            f"{escape(sla.fee_disclosure)}. Holiday calendar {escape(sla.holiday_calendar)} covers "
            f"{escape(', '.join(str(y) for y in sla.holiday_years))}.</p>",
            *(f'<p class="warning">{escape(w)}</p>' for w in sla.calendar_warnings),
            table(["redemption", "customer", "amount", "status", "deadline", "paid", "late by (s)"], breaches),
            f"<h2>Travel rule (R25)</h2><p>Threshold {format_fen(travel.threshold)} CNH; "
            f"{travel.transfers_at_or_above_threshold} transfers checked, {travel.recorded} recorded, "
            f"{travel.awaiting_record} awaiting.</p>",
            table(
                ["tx", "from", "to", "amount", "problem"],
                [[f.tx_hash, f.from_address, f.to_address, f.amount, f.problem] for f in travel.flagged],
            ),
            f"<h2>Attestation (R52, R53)</h2><p id=\"attestation\">Cadence {escape(attested.cadence)}; last report "
            f"{escape(last)}; next due {escape(due)}; "
            f"{'OVERDUE' if attested.overdue else 'not overdue'}.</p>",
            f"<h2>Screening (R23)</h2><p>List {escape(report.screening.list_version)}; cases "
            f"{escape(str(report.screening.cases))}.</p>",
            "<h2>Freezes and seizures (R24)</h2>",
            table(
                ["wallet", "customer", "frozen on chain", "holds"],
                [[w.wallet, w.customer_id, w.frozen_on_chain, w.holds] for w in enf.frozen_wallets],
            ),
            table(
                ["seizure", "wallet", "amount", "status", "legal basis"],
                [[s.id, s.wallet, format_fen(s.amount), s.status, s.legal_basis] for s in enf.seizures],
            ),
            f"<h2>Pending approvals (R40)</h2><p>{escape(str(report.pending_approvals))}</p>",
            banner,
            "</body></html>",
        ]
    )


__all__ = ["SANDBOX_BANNER", "build_report", "render_html"]
