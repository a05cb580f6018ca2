"""Regime profiles (R60): every regime-specific number is data in compliance/profiles/*.json.

Code reads `profile.reserve_buffer_bps`, never `if profile.name == "hk"`. Adding a regime means
adding a JSON file. Files are validated on load so a typo fails at start-up with the file and field
named, not in the middle of a redemption.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from functools import cache
from pathlib import Path
from types import MappingProxyType

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
DEFAULT_PROFILE = "hk"
BPS_DENOMINATOR = 10_000
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")
# R52, R53: how often an attestation report is due (compliance/attestation_cadence.py reads it).
ATTESTATION_CADENCES: tuple[str, ...] = ("daily", "weekly", "monthly")
# R2: the only reserve asset kinds that can ever count toward backing.
ASSET_KINDS: frozenset[str] = frozenset({"cash", "time_deposit", "government_debt", "reverse_repo"})

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}", re.ASCII)
_FILE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+\.json", re.ASCII)
_CURRENCY_RE = re.compile(r"[A-Z]{3}", re.ASCII)


class ProfileError(ValueError):
    """A profile's data is invalid; the message names the profile and the field."""


class UnknownProfileError(ValueError):
    """No profile of that name; the message lists the valid names."""

    def __init__(self, name: str, valid: Iterable[str]) -> None:
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown regime profile {name!r}; choose one of: {', '.join(self.valid)}")


_Bad = Callable[[str, str], ProfileError]


@dataclass(frozen=True, kw_only=True)
class RegimeProfile:
    """One regulatory regime's settings. Immutable; the dict-valued fields are read-only views."""

    name: str
    description: str
    reference_currency: str  # R4
    reserve_buffer_bps: int  # R1
    redemption_deadline_business_days: int  # R13; 0 = by the end of the same business day
    redemption_fee_allowed: bool  # R14 / R60 (eu-mica: redemption is free)
    redemption_minimum_fen: int  # R14: small and disclosed
    travel_rule_threshold_fen: int  # R25
    cdd_threshold_fen: int  # R26
    mint_approval_threshold_fen: int  # R12 / R40: at or above this a mint needs a second approver
    max_single_mint_fen: int  # R12
    global_mint_cap_fen: int  # R12
    daily_mint_limit_fen: Mapping[str, int]  # R12, by customer risk
    daily_redeem_limit_fen: Mapping[str, int]  # by customer risk
    attestation_max_age_seconds: int  # R1 on chain: older reserve attestations block minting
    valuation_max_age_seconds: int  # R5
    concentration_limit_bps: int  # R6, per custodian
    attestation_cadence: str  # R52 / R53 / R60: one of ATTESTATION_CADENCES
    reserve_disclosure_cadence: str  # R52
    eligible_asset_kinds: frozenset[str]  # R2
    max_time_deposit_term_days: int  # R2
    max_government_debt_residual_days: int  # R2
    currency_haircuts_bps: Mapping[str, int]  # R4: a currency absent here is ineligible
    holiday_calendar: str  # R13: file name in compliance/data/
    # R25: how long after an on-chain transfer a travel-rule record may arrive before it is flagged.
    travel_rule_record_window_seconds: int
    record_retention_years: int = 7  # R51
    redemption_fee_bps: int = 0  # R14
    redemption_fee_fixed_fen: int = 0  # R14
    notes: str = ""

    def __post_init__(self) -> None:
        _validate(self)
        # Freeze the containers too, so a shared cached profile cannot be changed by a caller.
        object.__setattr__(self, "daily_mint_limit_fen", MappingProxyType(dict(self.daily_mint_limit_fen)))
        object.__setattr__(
            self, "daily_redeem_limit_fen", MappingProxyType(dict(self.daily_redeem_limit_fen))
        )
        object.__setattr__(self, "currency_haircuts_bps", MappingProxyType(dict(self.currency_haircuts_bps)))
        object.__setattr__(self, "eligible_asset_kinds", frozenset(self.eligible_asset_kinds))

    def haircut_bps(self, currency: str) -> int | None:
        """R4: the haircut for assets in `currency`, or None when the currency is not eligible."""
        return self.currency_haircuts_bps.get(currency)


_NON_NEGATIVE_INTS = (
    "reserve_buffer_bps",
    "redemption_deadline_business_days",
    "redemption_minimum_fen",
    "travel_rule_threshold_fen",
    "cdd_threshold_fen",
    "mint_approval_threshold_fen",
    "max_single_mint_fen",
    "global_mint_cap_fen",
    "attestation_max_age_seconds",
    "valuation_max_age_seconds",
    "concentration_limit_bps",
    "max_time_deposit_term_days",
    "max_government_debt_residual_days",
    "record_retention_years",
    "redemption_fee_bps",
    "redemption_fee_fixed_fen",
    "travel_rule_record_window_seconds",
)
_BPS_FIELDS = ("reserve_buffer_bps", "concentration_limit_bps", "redemption_fee_bps")
_TEXT_FIELDS = (
    "name",
    "description",
    "attestation_cadence",
    "reserve_disclosure_cadence",
    "holiday_calendar",
)


def _validate(p: RegimeProfile) -> None:
    def bad(field: str, why: str) -> ProfileError:
        return ProfileError(f"profile {p.name!r}: {field} {why}")

    for field in _TEXT_FIELDS:
        value = getattr(p, field)
        if not isinstance(value, str) or not value.strip():
            raise bad(field, "must be a non-empty string")
    if not isinstance(p.notes, str):
        raise bad("notes", "must be a string")
    if not _NAME_RE.fullmatch(p.name):
        raise bad("name", "must be lower-case letters, digits and '-'")
    if p.attestation_cadence not in ATTESTATION_CADENCES:  # R52: code computes the next due date from it
        raise bad("attestation_cadence", f"must be one of {list(ATTESTATION_CADENCES)}")
    if not _FILE_NAME_RE.fullmatch(p.holiday_calendar):
        raise bad("holiday_calendar", "must be a plain .json file name in compliance/data/")
    if not isinstance(p.reference_currency, str) or not _CURRENCY_RE.fullmatch(p.reference_currency):
        raise bad("reference_currency", 'must be a 3-letter upper-case currency code such as "CNH"')
    if type(p.redemption_fee_allowed) is not bool:
        raise bad("redemption_fee_allowed", "must be true or false")
    for field in _NON_NEGATIVE_INTS:
        _check_amount(getattr(p, field), bad, field)
    for field in _BPS_FIELDS:
        if getattr(p, field) > BPS_DENOMINATOR:
            raise bad(field, f"must be at most {BPS_DENOMINATOR} basis points (100%)")
    for field in ("daily_mint_limit_fen", "daily_redeem_limit_fen"):
        limits = getattr(p, field)
        if not isinstance(limits, Mapping) or set(limits) != set(RISK_LEVELS):
            raise bad(field, f"must map exactly the risk levels {list(RISK_LEVELS)} to amounts in fen")
        for risk, amount in limits.items():
            _check_amount(amount, bad, f"{field}[{risk!r}]")
    haircuts = p.currency_haircuts_bps
    if not isinstance(haircuts, Mapping):
        raise bad("currency_haircuts_bps", "must map currency codes to haircuts in basis points")
    for currency, haircut in haircuts.items():
        if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
            raise bad("currency_haircuts_bps", f"has an invalid currency code {currency!r}")
        _check_amount(haircut, bad, f"currency_haircuts_bps[{currency!r}]")
        if haircut > BPS_DENOMINATOR:
            raise bad(f"currency_haircuts_bps[{currency!r}]", "must be at most 10000 basis points")
    if haircuts.get(p.reference_currency) != 0:  # R4
        raise bad(
            "currency_haircuts_bps", f"must give the reference currency {p.reference_currency} a 0 haircut"
        )
    kinds: object = p.eligible_asset_kinds
    if isinstance(kinds, str) or not isinstance(kinds, Iterable):
        raise bad("eligible_asset_kinds", "must be a list of asset kinds")
    kind_set = set(kinds)
    if not kind_set or not kind_set <= ASSET_KINDS:  # R2
        raise bad("eligible_asset_kinds", f"must be a non-empty subset of {sorted(ASSET_KINDS)}")
    if not p.redemption_fee_allowed and (p.redemption_fee_bps or p.redemption_fee_fixed_fen):
        raise bad("redemption_fee_bps", "and redemption_fee_fixed_fen must be 0 when fees are not allowed")
    if p.redemption_minimum_fen < 1:
        raise bad("redemption_minimum_fen", "must be at least 1 fen")
    if p.redemption_fee_bps >= BPS_DENOMINATOR:  # R14: nothing would ever be paid out
        raise bad("redemption_fee_bps", "must be under 10000 basis points (a fee of the whole amount pays nothing)")
    if p.record_retention_years < 5:  # R51
        raise bad("record_retention_years", "must be at least 5")
    if p.max_single_mint_fen > p.global_mint_cap_fen:
        raise bad("max_single_mint_fen", "must not exceed global_mint_cap_fen")


def _check_amount(value: object, bad: _Bad, field: str) -> None:
    if type(value) is not int:
        raise bad(field, f"must be a whole number (int), got {type(value).__name__}")
    if value < 0:
        raise bad(field, "must not be negative")


_FIELD_NAMES = frozenset(f.name for f in fields(RegimeProfile))
_REQUIRED = frozenset(
    f.name for f in fields(RegimeProfile) if f.default is MISSING and f.default_factory is MISSING
)


def _reject_float(text: str) -> int:
    raise ProfileError(f"profile numbers must be integers (fen, bps, days, seconds), got {text}")


def parse_profile(data: Mapping[str, object], *, source: str = "<data>") -> RegimeProfile:
    """Build a validated profile from decoded JSON; unknown and missing keys are errors."""
    unknown = set(data) - _FIELD_NAMES
    if unknown:
        raise ProfileError(f"{source}: unknown keys {sorted(unknown)} (typo?)")
    missing = _REQUIRED - set(data)
    if missing:
        raise ProfileError(f"{source}: missing keys {sorted(missing)}")
    kwargs = dict(data)
    if "eligible_asset_kinds" in kwargs:
        kinds = kwargs["eligible_asset_kinds"]
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise ProfileError(f"{source}: eligible_asset_kinds must be a list of strings")
        kwargs["eligible_asset_kinds"] = frozenset(kinds)
    try:
        return RegimeProfile(**kwargs)  # type: ignore[arg-type]  # validated in __post_init__
    except ProfileError as exc:
        raise ProfileError(f"{source}: {exc}") from None


def available_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(path.stem for path in PROFILES_DIR.glob("*.json"))


def load_profile(name: str) -> RegimeProfile:
    """Load and validate compliance/profiles/<name>.json (cached; profiles are immutable)."""
    valid = available_profiles()
    if not isinstance(name, str) or name not in valid:
        raise UnknownProfileError(str(name), valid)
    return _load_cached(name)


@cache
def _load_cached(name: str) -> RegimeProfile:
    path = PROFILES_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=_reject_float)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path.name}: not valid JSON: {exc}") from None
    except ProfileError as exc:  # a float, refused while parsing
        raise ProfileError(f"{path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path.name}: must contain a JSON object")
    profile = parse_profile(data, source=path.name)
    if profile.name != name:
        raise ProfileError(f"{path.name}: name is {profile.name!r} but the file is named {name!r}")
    return profile
