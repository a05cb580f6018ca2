"""The reserve attestation report (R52, R53), built from facts fixed at one block.

`build_report(inputs)` is a pure function of its inputs: no clock, no randomness, no database. The
service gathers the inputs at a block (supply from the chain at that block, reserve records
effective at that block, holder balances indexed up to it) and this module turns them into one JSON
document. Its canonical bytes (sorted keys, no whitespace, UTF-8, no floats) and their SHA-256 are
what an auditor compares: the same block and inputs always give the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from compliance.audit_chain import canonical_json
from compliance.money import UNITS_PER_FEN, format_fen, format_units
from compliance.profiles import BPS_DENOMINATOR, RegimeProfile
from compliance.reserve_assets import (
    ReserveAssetInput,
    assess_asset,
    concentration,
    valuation_age_seconds,
)

REPORT_FORMAT = "cnh-sandbox/attestation-report/v1"
SANDBOX_BANNER = "SANDBOX — NOT A LICENSED STABLECOIN"  # R55
SIMULATED_LABEL = "SIMULATED — NOT AN ACCOUNTANT'S REPORT"
DISCLAIMER = (
    "Sandbox prototype of an offshore-RMB stablecoin issuer. Not legal advice; no licence is claimed; "
    "the token has no value."
)
PASS, FAIL = "pass", "fail"
HISTORY_MAX_POINTS = 120


@dataclass(frozen=True)
class TokenFacts:
    name: str
    symbol: str
    decimals: int
    chain_id: int
    address: str


@dataclass(frozen=True)
class BlockFacts:
    number: int
    hash: str
    timestamp: int  # seconds since the epoch, from the block header

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)


@dataclass(frozen=True)
class CompletedRedemption:
    """A redemption whose burn is at or before the report's block (paid in the same step, R16)."""

    redemption_id: str
    amount_fen: int
    block: int
    deadline_at: datetime
    paid_at: datetime


@dataclass(frozen=True)
class LiabilitiesFacts:
    """The proof-of-liabilities tree's root (R54) and how it was cross-checked against the chain."""

    scheme: str
    root_hash: str
    total_units: int
    leaf_count: int
    holders_checked_against_chain: int


@dataclass(frozen=True)
class AuditAnchor:
    """The newest audit record behind the report's figures (R50): ties the exported log to it."""

    seq: int
    hash: str


@dataclass(frozen=True)
class HistoryPoint:
    block: int
    supply_units: int
    reserves_fen: int


@dataclass(frozen=True)
class AttestationInputs:
    token: TokenFacts
    block: BlockFacts
    profile: RegimeProfile
    supply_units: int  # totalSupply() at the block, frozen balances included (R1)
    indexed_supply_units: int  # minted minus burned in the indexed Transfer events up to the block
    # confirmed mints minus confirmed burns (redemptions, seizures) in the service ledger up to the block,
    # plus seizures' re-mints
    ledger_supply_fen: int
    assets: Sequence[ReserveAssetInput]
    redemptions: Sequence[CompletedRedemption]
    liabilities: LiabilitiesFacts
    history: Sequence[HistoryPoint]
    audit_anchor: AuditAnchor | None


def iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ratio_text(numerator: int, denominator: int) -> str | None:
    """numerator / denominator with 4 decimals, rounded down; None when the denominator is 0."""
    if denominator == 0:
        return None
    scaled = numerator * 10_000 // denominator
    return f"{scaled // 10_000}.{scaled % 10_000:04d}"


def bps_text(bps: int) -> str:
    return f"{bps // 100}.{bps % 100:02d}%"


def _required_units(supply_units: int, buffer_bps: int) -> int:
    """R1: supply at par plus the buffer, rounded up to a whole unit."""
    return -(-supply_units * (BPS_DENOMINATOR + buffer_bps) // BPS_DENOMINATOR)


def history_points(
    *,
    supply_deltas: Iterable[tuple[int, int]],
    cash_deltas: Iterable[tuple[int, int]],
    asset_values: Iterable[tuple[int, str, int]],
    up_to_block: int,
    max_points: int = HISTORY_MAX_POINTS,
) -> list[HistoryPoint]:
    """Reserves against supply at every block where either changed, thinned to `max_points`.

    supply_deltas: (block, units minted − burned); cash_deltas: (block, fen in − out);
    asset_values: (block from which it counts, asset id, counted fen) — a later entry for the same
    asset replaces its value (a revaluation).
    """
    changes: dict[int, tuple[int, int, dict[str, int]]] = {}

    def at(block: int) -> tuple[int, int, dict[str, int]]:
        return changes.get(block, (0, 0, {}))

    for block, delta in supply_deltas:
        if block <= up_to_block:
            supply, cash, assets = at(block)
            changes[block] = (supply + delta, cash, assets)
    for block, delta in cash_deltas:
        if block <= up_to_block:
            supply, cash, assets = at(block)
            changes[block] = (supply, cash + delta, assets)
    for block, asset_id, value in sorted(asset_values):
        if block <= up_to_block:
            supply, cash, assets = at(block)
            changes[block] = (supply, cash, {**assets, asset_id: value})
    points: list[HistoryPoint] = []
    supply_total = cash_total = 0
    current_assets: dict[str, int] = {}
    for block in sorted(changes):
        supply_delta, cash_delta, asset_updates = changes[block]
        supply_total += supply_delta
        cash_total += cash_delta
        current_assets.update(asset_updates)
        points.append(HistoryPoint(block, supply_total, cash_total + sum(current_assets.values())))
    if not points or points[-1].block < up_to_block:
        points.append(HistoryPoint(up_to_block, supply_total, cash_total + sum(current_assets.values())))
    if len(points) > max_points >= 2:
        last = len(points) - 1
        keep = sorted({i * last // (max_points - 1) for i in range(max_points)})
        points = [points[i] for i in keep]
    return points


@dataclass(frozen=True)
class _AssetTable:
    rows: list[dict[str, object]]
    by_custodian: list[tuple[str, int]]
    stale: list[str]
    market_fen: int
    counted_fen: int


def _asset_table(inputs: AttestationInputs) -> _AssetTable:
    profile, as_of = inputs.profile, inputs.block.moment
    rows: list[dict[str, object]] = []
    by_custodian: list[tuple[str, int]] = []
    stale: list[str] = []
    market_fen = counted_fen = 0
    for asset in sorted(inputs.assets, key=lambda a: (a.custodian, a.account or "", a.asset_id)):
        assessment = assess_asset(asset, profile, as_of=as_of.date())
        age = valuation_age_seconds(asset.valued_at, as_of)
        is_stale = age > profile.valuation_max_age_seconds  # R5
        if is_stale:
            stale.append(asset.asset_id)
        by_custodian.append((asset.custodian, assessment.counted_fen))
        market_fen += asset.market_value_fen
        counted_fen += assessment.counted_fen
        rows.append(
            {
                "asset_id": asset.asset_id,
                "kind": asset.kind,
                "custodian": asset.custodian,
                "account": asset.account,
                "currency": asset.currency,
                "nominal": format_fen(asset.nominal_fen),
                "market_value": format_fen(asset.market_value_fen),
                "maturity": asset.maturity.isoformat() if asset.maturity else None,
                "valued_at": iso_seconds(asset.valued_at),
                "valuation_age_seconds": age,
                "valuation_stale": is_stale,
                "eligible": assessment.eligible,
                "ineligibility_reason": assessment.reason,
                "eligibility_detail": assessment.detail,
                "haircut_bps": assessment.haircut_bps,
                "counted": format_fen(assessment.counted_fen),
            }
        )
    return _AssetTable(rows, by_custodian, stale, market_fen, counted_fen)


def build_report(inputs: AttestationInputs) -> dict[str, object]:
    """The whole report as JSON-ready data (amounts as decimal strings; no floats, no clock)."""
    profile, block, token = inputs.profile, inputs.block, inputs.token
    table = _asset_table(inputs)
    stale, market_fen, counted_fen = table.stale, table.market_fen, table.counted_fen
    reserves_units = counted_fen * UNITS_PER_FEN
    supply = inputs.supply_units
    required = _required_units(supply, profile.reserve_buffer_bps)
    buffer_ok = reserves_units >= required  # R1, buffer included
    par_ok = reserves_units >= supply
    shares = concentration(table.by_custodian, profile.concentration_limit_bps)
    over_limit = [share.custodian for share in shares if share.over_limit]
    sla_rows = []
    for redemption in sorted(inputs.redemptions, key=lambda r: (r.block, r.redemption_id)):
        met = redemption.paid_at <= redemption.deadline_at
        sla_rows.append((redemption, met))
    missed = [r for r, met in sla_rows if not met]
    ledger_units = inputs.ledger_supply_fen * UNITS_PER_FEN
    reconciled = supply == inputs.indexed_supply_units == ledger_units
    liabilities = inputs.liabilities
    pol_matches = liabilities.total_units == supply

    exceptions: list[str] = []
    if not buffer_ok:
        exceptions.append(f"R1: reserves do not cover supply plus the {bps_text(profile.reserve_buffer_bps)} buffer")
    if over_limit:
        exceptions.append(
            f"R6: concentration above {bps_text(profile.concentration_limit_bps)} at " + ", ".join(over_limit)
        )
    if stale:
        exceptions.append(f"R5: {len(stale)} valuation(s) older than {profile.valuation_max_age_seconds} s")
    if missed:
        exceptions.append(f"R13: {len(missed)} redemption(s) paid after their deadline")
    if not reconciled:
        exceptions.append("R16: chain, indexed and ledger supply differ")
    if not pol_matches:
        exceptions.append("R54: the proof-of-liabilities total differs from the supply")

    time_text = iso_seconds(block.moment)
    return {
        "format": REPORT_FORMAT,
        "banner": SANDBOX_BANNER,
        "disclaimer": DISCLAIMER,
        "title": f"Reserve attestation report — {token.symbol} at block {block.number}",
        "result": PASS if buffer_ok else FAIL,
        "exceptions": exceptions,
        "token": {
            "name": token.name,
            "symbol": token.symbol,
            "decimals": token.decimals,
            "chain_id": token.chain_id,
            "address": token.address,
        },
        "regime_profile": {
            "name": profile.name,
            "reference_currency": profile.reference_currency,
            "reserve_buffer_bps": profile.reserve_buffer_bps,
            "concentration_limit_bps": profile.concentration_limit_bps,
            "valuation_max_age_seconds": profile.valuation_max_age_seconds,
            "eligible_asset_kinds": sorted(profile.eligible_asset_kinds),
            "currency_haircuts_bps": dict(sorted(profile.currency_haircuts_bps.items())),
            "redemption_deadline_business_days": profile.redemption_deadline_business_days,
        },
        "as_of": {
            "block": block.number,
            "block_hash": block.hash,
            "timestamp": block.timestamp,
            "time_utc": time_text,
            "date": block.moment.date().isoformat(),
        },
        "supply": {
            "total_supply": format_units(supply),
            "total_supply_units": str(supply),
            "source": f"totalSupply() of {token.address} at block {block.number}",
            "frozen_balances_included": True,
        },
        "reserve_assets": table.rows,
        "totals": {
            "market_value": format_fen(market_fen),
            "counted": format_fen(counted_fen),
            "not_counted": format_fen(market_fen - counted_fen),
        },
        "reserve_test": {
            "rule": "R1",
            "reserves_counted": format_fen(counted_fen),
            "supply": format_units(supply),
            "buffer_bps": profile.reserve_buffer_bps,
            "buffer": bps_text(profile.reserve_buffer_bps),
            "required": format_units(required),
            "excess_over_par": format_units(reserves_units - supply),
            "excess": format_units(max(0, reserves_units - required)),
            "shortfall": format_units(max(0, required - reserves_units)),
            "coverage_ratio": ratio_text(reserves_units, supply),
            "par_result": PASS if par_ok else FAIL,
            "result": PASS if buffer_ok else FAIL,
        },
        "concentration": {
            "rule": "R6",
            "limit_bps": profile.concentration_limit_bps,
            "limit": bps_text(profile.concentration_limit_bps),
            "custodians": [
                {
                    "custodian": s.custodian,
                    "counted": format_fen(s.counted_fen),
                    "share_bps": s.share_bps,
                    "share": bps_text(s.share_bps),
                    "over_limit": s.over_limit,
                }
                for s in shares
            ],
            "result": "flagged" if over_limit else "within limit",
        },
        "valuation": {
            "rule": "R5",
            "max_age_seconds": profile.valuation_max_age_seconds,
            "stale_assets": stale,
            "result": "flagged" if stale else "current",
        },
        "redemption_sla": {
            "rule": "R13",
            "deadline_business_days": profile.redemption_deadline_business_days,
            "scope": f"redemptions burned and paid at or before block {block.number}",
            "completed": len(sla_rows),
            "met": len(sla_rows) - len(missed),
            "missed": len(missed),
            "missed_redemptions": [
                {
                    "redemption_id": r.redemption_id,
                    "amount": format_fen(r.amount_fen),
                    "deadline_at": iso_seconds(r.deadline_at),
                    "paid_at": iso_seconds(r.paid_at),
                    "late_seconds": int((r.paid_at - r.deadline_at).total_seconds()),
                }
                for r in missed
            ],
            "result": "missed" if missed else "all met",
        },
        "reconciliation": {
            "rule": "R16",
            "chain_supply_units": str(supply),
            "indexed_supply_units": str(inputs.indexed_supply_units),
            "ledger_supply_units": str(ledger_units),
            "result": "agrees" if reconciled else "differs",
        },
        "proof_of_liabilities": {
            "rule": "R54",
            "scheme": liabilities.scheme,
            "root_hash": liabilities.root_hash,
            "total_units": str(liabilities.total_units),
            "total": format_units(liabilities.total_units),
            "holders": liabilities.leaf_count,
            "holders_checked_against_chain": liabilities.holders_checked_against_chain,
            "matches_supply": pol_matches,
            "how_to_verify": (
                "Fetch your proof (GET /v1/attestations/{id}/proofs/{address}) and run "
                f"`python -m compliance.verify_proof proof.json --root {liabilities.root_hash}`."
            ),
        },
        "audit_anchor": None
        if inputs.audit_anchor is None
        else {
            "rule": "R50",
            "seq": inputs.audit_anchor.seq,
            "hash": inputs.audit_anchor.hash,
            "how_to_verify": (
                "Export the audit log (GET /v1/audit-log/export) and run `python -m compliance.audit_export "
                f"audit-log.jsonl --anchor {inputs.audit_anchor.seq}:{inputs.audit_anchor.hash}`."
            ),
        },
        "history": [
            {"block": p.block, "supply": format_units(p.supply_units), "reserves": format_fen(p.reserves_fen)}
            for p in inputs.history
        ],
        "management_assertion": _management_assertion(inputs, counted_fen, buffer_ok, time_text),
        "accountant": _accountant_section(inputs, exceptions),
    }


def _management_assertion(
    inputs: AttestationInputs, counted_fen: int, buffer_ok: bool, time_text: str
) -> dict[str, str]:
    token, block, profile = inputs.token, inputs.block, inputs.profile
    covers = "covered" if buffer_ok else "did NOT cover"
    return {
        "signed_by": "Management of the sandbox issuer (simulated)",
        "text": (
            f"Management asserts that at block {block.number} ({time_text}) the reserve assets listed in this "
            f"report were held for {token.symbol} in segregated accounts (R3) and were valued as shown; that "
            f"reserves counted toward backing of CNH {format_fen(counted_fen)} {covers} the "
            f"{format_units(inputs.supply_units)} {token.symbol} outstanding at par plus the "
            f"{bps_text(profile.reserve_buffer_bps)} buffer (R1); and that every holder balance at that block is "
            "included in the proof-of-liabilities root (R54)."
        ),
    }


def _accountant_section(inputs: AttestationInputs, exceptions: Sequence[str]) -> dict[str, object]:
    block = inputs.block
    conclusion = (
        "SIMULATED: nothing came to our attention that causes us to believe management's assertion is not "
        "fairly stated."
        if not exceptions
        else "SIMULATED: the procedures found exceptions, listed in this report; management's assertion is "
        "qualified accordingly."
    )
    return {
        "simulated": True,
        "label": SIMULATED_LABEL,
        "firm": "Simulated Accountants (sandbox) — no accountant has examined this report",
        "procedures": [
            f"Read totalSupply() of the token contract at block {block.number} from the chain.",
            "Recomputed each reserve asset's eligibility, haircut and counted value from the regime profile (R2, R4).",
            "Compared counted reserves with supply at par plus the buffer (R1).",
            "Computed each custodian's share of counted reserves against the concentration limit (R6).",
            "Rebuilt the Merkle sum tree of holder balances and checked its total equals the supply (R54).",
            "Checked a sample of indexed holder balances against balanceOf() at the block.",
            "Compared each completed redemption's payout time with its deadline (R13).",
        ],
        "conclusion": conclusion,
    }


def report_bytes(report: Mapping[str, object]) -> bytes:
    """The canonical bytes an auditor hashes: sorted keys, no whitespace, UTF-8, floats refused."""
    return canonical_json(report)


def report_sha256(report: Mapping[str, object]) -> str:
    return hashlib.sha256(report_bytes(report)).hexdigest()
