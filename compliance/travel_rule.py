"""Travel rule (R25): originator and beneficiary data on every transfer the service initiates or
pays out; from the profile's `travel_rule_threshold_fen` the full data set is required.

The full data set of a party is its name, its account (wallet address or bank account) and its
address or an identification number (national ID, customer identification number or LEI), the
FATF Recommendation 16 fields the regulation summary names. Below the threshold the service fills
what the request leaves out from its own due-diligence record, so data is carried either way.

On-chain transfers between customers do not pass through the service: `assess_transfers` flags
those at or above the threshold that got no travel-rule record within the profile's window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from compliance import decision as codes
from compliance._validate import require_non_negative
from compliance.decision import Decision
from compliance.money import fen_to_units, format_fen
from compliance.profiles import RegimeProfile

PARTIES = ("originator", "beneficiary")
# The full set per party; "address" is satisfied by an address or an id_number.
FULL_SET_FIELDS = ("name", "account", "address")


@dataclass(frozen=True)
class Party:
    name: str | None = None
    account: str | None = None  # wallet address or bank account
    address: str | None = None  # postal address
    id_number: str | None = None  # national ID, customer identification number or LEI

    def missing(self) -> list[str]:
        """Full-set fields without a non-blank value, in FULL_SET_FIELDS order."""
        gaps = [name for name in ("name", "account") if not _given(getattr(self, name))]
        if not _given(self.address) and not _given(self.id_number):
            gaps.append("address")
        return gaps

    def filled_from(self, default: Party) -> Party:
        """This party with every blank field taken from `default`."""
        return replace(
            self,
            **{
                f.name: getattr(default, f.name)
                for f in fields(Party)
                if not _given(getattr(self, f.name)) and _given(getattr(default, f.name))
            },
        )

    def as_data(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(Party)}


@dataclass(frozen=True)
class TravelRuleData:
    originator: Party = Party()
    beneficiary: Party = Party()

    def missing(self) -> list[str]:
        """Dotted paths of the missing full-set fields, e.g. ["originator.name", "beneficiary.address"]."""
        return [f"{party}.{name}" for party in PARTIES for name in getattr(self, party).missing()]

    def complete(self) -> bool:
        return not self.missing()

    def filled_from(self, default: TravelRuleData) -> TravelRuleData:
        return TravelRuleData(
            originator=self.originator.filled_from(default.originator),
            beneficiary=self.beneficiary.filled_from(default.beneficiary),
        )


def _given(value: str | None) -> bool:
    return value is not None and bool(value.strip())


def full_data_required(amount_fen: int, profile: RegimeProfile) -> bool:
    """R25: at or above the profile threshold (0 = every transfer, as eu-mica has it)."""
    require_non_negative(amount_fen, "amount_fen")
    return amount_fen >= profile.travel_rule_threshold_fen


@dataclass(frozen=True)
class TravelRuleCheck:
    required: bool
    missing: tuple[str, ...]  # dotted field paths; empty when nothing is missing or nothing is required

    @property
    def decision(self) -> Decision:
        if self.required and self.missing:
            return Decision.reject(
                codes.TRAVEL_RULE_DATA_MISSING,
                f"the travel rule needs the full originator and beneficiary data from this amount on; "
                f"missing: {', '.join(self.missing)}",
                "R25",
            )
        return Decision.allow(rule_id="R25")


def check_travel_rule(amount_fen: int, data: TravelRuleData | None, profile: RegimeProfile) -> TravelRuleCheck:
    """Which full-set fields a transfer of `amount_fen` still lacks, if the full set is required."""
    if not full_data_required(amount_fen, profile):
        return TravelRuleCheck(required=False, missing=())
    return TravelRuleCheck(required=True, missing=tuple((data or TravelRuleData()).missing()))


def threshold_message(profile: RegimeProfile) -> str:
    return (
        f"from {format_fen(profile.travel_rule_threshold_fen)} CNH the full originator and beneficiary data "
        "set (name, account, address or ID number) is required (R25)"
    )


# ---------------------------------------------------------------- monitoring on-chain transfers
@dataclass(frozen=True)
class ObservedTransfer:
    tx_hash: str
    block_number: int
    from_address: str
    to_address: str
    amount_units: int
    observed_at: datetime  # when the indexer stored the event


@dataclass(frozen=True)
class TransferFinding:
    transfer: ObservedTransfer
    status: str  # "recorded" | "awaiting_record" | "missing" | "late"
    recorded_at: datetime | None

    @property
    def flagged(self) -> bool:
        return self.status in ("missing", "late")


def assess_transfers(
    transfers: Iterable[ObservedTransfer],
    first_record_at: Mapping[str, datetime],
    *,
    profile: RegimeProfile,
    now: datetime,
) -> list[TransferFinding]:
    """R25 for transfers the service did not initiate: each transfer at or above the threshold
    needs a travel-rule record (keyed by lower-case tx hash) within the profile's window after
    it was observed. Within the window and without a record it is awaiting; after, missing; a
    record made after the window is late. Smaller transfers are left out."""
    threshold_units = fen_to_units(profile.travel_rule_threshold_fen)
    window = timedelta(seconds=profile.travel_rule_record_window_seconds)
    findings = []
    for transfer in transfers:
        if transfer.amount_units < threshold_units:
            continue
        recorded_at = first_record_at.get(transfer.tx_hash.lower())
        due = transfer.observed_at + window
        if recorded_at is not None:
            status = "recorded" if recorded_at <= due else "late"
        else:
            status = "awaiting_record" if now <= due else "missing"
        findings.append(TransferFinding(transfer=transfer, status=status, recorded_at=recorded_at))
    return findings
