"""What a reserve asset counts toward backing (R2, R4), valuation age (R5) and concentration (R6).

Values are in fen of the reference currency (CNH): treasury records the market value in CNH, and a
non-CNH asset then counts only after the profile's currency haircut, which covers the FX risk (R4).
Eligibility depends on the day it is judged (residual maturity), so every function takes `as_of`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from compliance.profiles import BPS_DENOMINATOR, RegimeProfile

# Ineligibility reasons (stable: reports and clients key on them).
KIND_NOT_ELIGIBLE = "kind_not_eligible"
CURRENCY_NOT_ELIGIBLE = "currency_not_eligible"
MATURITY_MISSING = "maturity_missing"
MATURED = "matured"
TERM_TOO_LONG = "term_too_long"
RESIDUAL_MATURITY_TOO_LONG = "residual_maturity_too_long"
NOT_OVERNIGHT = "not_overnight"

# R2 "overnight reverse repo": a Friday deal matures on Monday, later after a holiday weekend.
REVERSE_REPO_MAX_DAYS = 4
_DATED_KINDS = ("time_deposit", "government_debt", "reverse_repo")


@dataclass(frozen=True)
class ReserveAssetInput:
    """One reserve asset as valued at the moment judged. Amounts in CNH fen."""

    asset_id: str
    kind: str
    custodian: str
    account: str | None
    currency: str
    nominal_fen: int
    market_value_fen: int
    maturity: date | None
    valued_at: datetime


@dataclass(frozen=True)
class AssetAssessment:
    eligible: bool
    reason: str | None
    detail: str
    haircut_bps: int
    counted_fen: int


def assess_asset(asset: ReserveAssetInput, profile: RegimeProfile, *, as_of: date) -> AssetAssessment:
    """R2/R4: eligible assets count at market value less the currency haircut; others count zero."""

    def ineligible(reason: str, detail: str, haircut: int = 0) -> AssetAssessment:
        return AssetAssessment(False, reason, detail, haircut, 0)

    if asset.kind not in profile.eligible_asset_kinds:  # R2
        return ineligible(
            KIND_NOT_ELIGIBLE, f"{asset.kind} is not an eligible reserve asset under the {profile.name} profile (R2)"
        )
    haircut = profile.haircut_bps(asset.currency)
    if haircut is None:  # R4
        return ineligible(
            CURRENCY_NOT_ELIGIBLE,
            f"{asset.currency} is not an eligible reserve currency under the {profile.name} profile (R4)",
        )
    if asset.kind in _DATED_KINDS:
        if asset.maturity is None:
            return ineligible(MATURITY_MISSING, f"a {asset.kind} needs a maturity date to be judged (R2)", haircut)
        residual_days = (asset.maturity - as_of).days
        if residual_days < 0:
            return ineligible(
                MATURED, f"matured on {asset.maturity.isoformat()}; record the proceeds as cash (R2)", haircut
            )
        limit, reason, what = {
            "time_deposit": (profile.max_time_deposit_term_days, TERM_TOO_LONG, "term"),
            "government_debt": (
                profile.max_government_debt_residual_days,
                RESIDUAL_MATURITY_TOO_LONG,
                "residual maturity",
            ),
            "reverse_repo": (REVERSE_REPO_MAX_DAYS, NOT_OVERNIGHT, "reverse repo term"),
        }[asset.kind]
        if residual_days > limit:
            return ineligible(reason, f"{what} of {residual_days} days exceeds {limit} days (R2)", haircut)
    counted = asset.market_value_fen * (BPS_DENOMINATOR - haircut) // BPS_DENOMINATOR
    detail = "eligible (R2)" if haircut == 0 else f"eligible after a {haircut} bps {asset.currency} haircut (R4)"
    return AssetAssessment(True, None, detail, haircut, counted)


def valuation_age_seconds(valued_at: datetime, as_of: datetime) -> int:
    """How old a valuation is at `as_of` (0 when recorded later than `as_of`: clocks may disagree)."""
    return max(0, int((as_of - valued_at).total_seconds()))


@dataclass(frozen=True)
class CustodianShare:
    custodian: str
    counted_fen: int
    share_bps: int
    over_limit: bool


def custodian_key(name: str) -> str:
    """R6: the institution a custodian name stands for. Unicode NFKC, case folded, whitespace
    collapsed, so "SANDBOX BANK HK", "Sandbox Bank  HK" and "Ｓａｎｄｂｏｘ Bank HK" are one custodian
    and spelling a name differently cannot split a holding under the limit."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def concentration(counted_by_custodian: Iterable[tuple[str, int]], limit_bps: int) -> list[CustodianShare]:
    """R6: each custodian's share of counted reserves, largest first; `over_limit` is exact (no rounding).
    Names are grouped by `custodian_key`; each group shows the first spelling given (callers pass
    assets in the order they were recorded)."""
    totals: dict[str, int] = {}
    shown: dict[str, str] = {}
    for custodian, counted in counted_by_custodian:
        key = custodian_key(custodian)
        shown.setdefault(key, custodian)
        totals[key] = totals.get(key, 0) + counted
    total = sum(totals.values())
    rows = []
    for key, counted in totals.items():
        share = counted * BPS_DENOMINATOR // total if total else 0
        rows.append(
            CustodianShare(shown[key], counted, share, total > 0 and counted * BPS_DENOMINATOR > total * limit_bps)
        )
    rows.sort(key=lambda row: (-row.counted_fen, row.custodian))
    return rows
