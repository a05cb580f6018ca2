"""What the public transparency page shows (R52, R55): supply on chain and in the ledger, reserves
counted toward backing, the ratio, the composition, the latest attestation with its hash and
proof-of-liabilities root (the root holders check their proofs against), and the profile's
attestation cadence with when the next report is due (R52, R53, R60)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from compliance.attestation import SANDBOX_BANNER, bps_text, iso_seconds
from compliance.money import format_fen, format_units
from compliance.profiles import RegimeProfile
from issuer_service.attestations import repository as attestations
from issuer_service.attestations.service import report_of
from issuer_service.chain.gateway import ChainUnavailable
from issuer_service.clock import utc_now
from issuer_service.compliance_report.service import attestation_status
from issuer_service.reserves import repository as reserves_repository
from issuer_service.reserves.service import current_assessments, public_view


@dataclass(frozen=True)
class LatestAttestation:
    id: str
    block: int
    time_utc: str
    sha256: str
    result: str
    supply: str
    reserves_counted: str
    pol_root: str
    pol_total: str
    holders: int
    exceptions: list[str]


@dataclass(frozen=True)
class TransparencyView:
    banner: str
    profile: str
    buffer: str
    chain_supply: str | None
    chain_block: int | None
    ledger_supply: str
    reserves: str
    required: str
    surplus: str
    ratio: str | None
    fully_backed: bool
    composition: list[dict[str, str]]
    concentration: list[dict[str, Any]]
    concentration_limit: str
    disclosure_cadence: str
    attestation_cadence: str
    next_attestation_due: str | None  # ISO UTC; None before the first report
    attestation_overdue: bool
    latest: LatestAttestation | None
    token_address: str | None
    chain_id: int | None
    generated_at: str


def _chain(gateway: Any) -> tuple[str | None, int | None]:
    if gateway is None:
        return None, None
    try:
        block = int(gateway.head())
        return format_units(int(gateway.total_supply(block))), block
    except ChainUnavailable:
        return None, None


def view(session: Session, *, profile: RegimeProfile, gateway: Any) -> TransparencyView:
    chain_supply, chain_block = _chain(gateway)
    reserves = public_view(session, profile, None)
    pool = reserves_repository.get_pool(session)
    by_kind: dict[str, tuple[int, int]] = {}
    for item, assessment in current_assessments(session, pool, profile):
        counted, market = by_kind.get(item.kind, (0, 0))
        by_kind[item.kind] = (counted + assessment.counted_fen, market + item.market_value_fen)
    composition = [
        {"kind": kind, "counted": format_fen(counted), "market_value": format_fen(market)}
        for kind, (counted, market) in sorted(by_kind.items())
    ]
    now = utc_now()
    due = attestation_status(session, profile, now)
    latest_row = attestations.latest(session)
    latest = None
    if latest_row is not None:
        report = report_of(latest_row)
        latest = LatestAttestation(
            id=latest_row.id,
            block=latest_row.as_of_block,
            time_utc=iso_seconds(datetime.fromtimestamp(latest_row.block_timestamp, UTC)),
            sha256=latest_row.sha256,
            result=latest_row.result,
            supply=report["supply"]["total_supply"],
            reserves_counted=report["reserve_test"]["reserves_counted"],
            pol_root=report["proof_of_liabilities"]["root_hash"],
            pol_total=report["proof_of_liabilities"]["total"],
            holders=int(report["proof_of_liabilities"]["holders"]),
            exceptions=list(report["exceptions"]),
        )
    return TransparencyView(
        banner=SANDBOX_BANNER,
        profile=profile.name,
        buffer=bps_text(profile.reserve_buffer_bps),
        chain_supply=chain_supply,
        chain_block=chain_block,
        ledger_supply=format_fen(reserves.supply),
        reserves=format_fen(reserves.reserves),
        required=format_fen(reserves.required_reserves),
        surplus=format_fen(reserves.surplus),
        ratio=reserves.ratio,
        fully_backed=reserves.fully_backed,
        composition=composition,
        concentration=[
            {"custodian": c.custodian, "share": bps_text(c.share_bps), "over_limit": c.over_limit}
            for c in reserves.concentration
        ],
        concentration_limit=bps_text(profile.concentration_limit_bps),
        disclosure_cadence=profile.reserve_disclosure_cadence,
        attestation_cadence=due.cadence,
        next_attestation_due=iso_seconds(due.due_at) if due.due_at is not None else None,
        attestation_overdue=due.overdue,
        latest=latest,
        token_address=str(gateway.token_address) if gateway is not None else None,
        chain_id=int(gateway.chain_id) if gateway is not None else None,
        generated_at=iso_seconds(now),
    )
