"""R60: the same scenarios under every shipped profile; outcomes differ only through the profile
data (deadline, buffer, fee, travel-rule threshold, eligible assets and currencies), never through
a branch on the profile's name."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import compliance
import issuer_service
from compliance.calendar import redemption_deadline
from compliance.mint_rules import MintContext, check_mint
from compliance.profiles import ProfileError, RegimeProfile, available_profiles, load_profile
from compliance.redemption_rules import redemption_fee_fen, redemption_payout_fen
from compliance.reserve_assets import ReserveAssetInput, assess_asset
from compliance.travel_rule import check_travel_rule

PROFILES = ["eu-mica", "hk", "sg-mas", "us-genius"]
# Monday 2 March 2026, 10:00 in Hong Kong: no holiday in the next two weeks.
REQUESTED_AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def profile(name: str) -> RegimeProfile:
    return load_profile(name)


def test_the_scenarios_cover_every_shipped_profile() -> None:
    assert available_profiles() == PROFILES


@pytest.mark.parametrize(
    ("name", "payout_day"),
    [
        ("eu-mica", date(2026, 3, 2)),  # by the end of the same business day
        ("hk", date(2026, 3, 3)),  # 1 business day
        ("us-genius", date(2026, 3, 4)),  # 2 business days
        ("sg-mas", date(2026, 3, 9)),  # 5 business days, over the weekend
    ],
)
def test_the_same_redemption_request_has_the_profile_s_deadline(name: str, payout_day: date) -> None:  # R13
    deadline = redemption_deadline(REQUESTED_AT, profile(name))
    hong_kong = deadline + timedelta(hours=8)
    assert (hong_kong.date(), hong_kong.hour, hong_kong.minute) == (payout_day, 23, 59)


@pytest.mark.parametrize(
    ("name", "fee_refused"), [("eu-mica", True), ("hk", False), ("sg-mas", False), ("us-genius", False)]
)
def test_a_25_bps_redemption_fee_is_refused_only_where_redemption_must_be_free(
    name: str, fee_refused: bool
) -> None:  # R14, R60
    if fee_refused:
        with pytest.raises(ProfileError, match="must be 0 when fees are not allowed"):
            replace(profile(name), redemption_fee_bps=25)
        assert redemption_fee_fen(100_000_00, profile(name)) == 0
        return
    with_fee = replace(profile(name), redemption_fee_bps=25)
    assert redemption_fee_fen(100_000_00, with_fee) == 250_00
    assert redemption_payout_fen(100_000_00, with_fee) == 99_750_00


@pytest.mark.parametrize(("name", "allowed"), [("eu-mica", True), ("hk", False), ("sg-mas", True), ("us-genius", True)])
def test_a_mint_leaving_reserves_exactly_at_par_passes_only_without_a_buffer(name: str, allowed: bool) -> None:  # R1
    ctx = MintContext(
        amount_fen=1_000_00,
        customer_kyc_status="approved",
        customer_risk="low",
        customer_active=True,
        customer_available_fen=1_000_00,
        wallet_owned_by_customer=True,
        wallet_status="active",
        wallet_frozen=False,
        paused=False,
        reserve_pool_fen=1_000_000_00,
        outstanding_supply_fen=1_000_000_00,
        minted_today_fen=0,
        global_issued_fen=1_000_000_00,
    )
    decision = check_mint(ctx, profile(name))
    assert decision.allowed is allowed
    if not allowed:
        assert (decision.reason_code, decision.rule_id) == ("reserve_insufficient", "R1")


@pytest.mark.parametrize(
    ("name", "required"), [("eu-mica", True), ("hk", True), ("sg-mas", False), ("us-genius", False)]
)
def test_an_8000_cnh_redemption_needs_the_full_travel_rule_data_where_the_threshold_says(
    name: str, required: bool
) -> None:  # R25
    assert check_travel_rule(8_000_00, None, profile(name)).required is required


@pytest.mark.parametrize(("name", "counted"), [("eu-mica", 0), ("hk", 980_000_00), ("sg-mas", 0), ("us-genius", 0)])
def test_hkd_cash_counts_after_a_haircut_only_where_the_profile_allows_the_currency(
    name: str, counted: int
) -> None:  # R4
    asset = ReserveAssetInput(
        asset_id="a",
        kind="cash",
        custodian="Bank",
        account=None,
        currency="HKD",
        nominal_fen=1_000_000_00,
        market_value_fen=1_000_000_00,
        maturity=None,
        valued_at=REQUESTED_AT,
    )
    assert assess_asset(asset, profile(name), as_of=REQUESTED_AT.date()).counted_fen == counted


@pytest.mark.parametrize(
    ("name", "eligible"), [("eu-mica", True), ("hk", True), ("sg-mas", True), ("us-genius", False)]
)
def test_government_debt_with_200_days_left_is_eligible_except_under_us_genius(name: str, eligible: bool) -> None:  # R2
    bill = ReserveAssetInput(
        asset_id="b",
        kind="government_debt",
        custodian="CMU",
        account=None,
        currency="CNH",
        nominal_fen=1_000_00,
        market_value_fen=1_000_00,
        maturity=REQUESTED_AT.date() + timedelta(days=200),
        valued_at=REQUESTED_AT,
    )
    assert assess_asset(bill, profile(name), as_of=REQUESTED_AT.date()).eligible is eligible


def test_no_comparison_in_compliance_or_the_service_branches_on_a_profile_name() -> None:
    """R60: profiles are data, not code branches."""
    names = set(PROFILES)
    offenders = []
    for package in (compliance, issuer_service):
        for path in Path(str(package.__file__)).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Compare):
                    operands = [node.left, *node.comparators]
                    constants = {n.value for n in operands if isinstance(n, ast.Constant)}
                    constants |= {
                        e.value
                        for n in operands
                        if isinstance(n, ast.Tuple | ast.List | ast.Set)
                        for e in n.elts
                        if isinstance(e, ast.Constant)
                    }
                    if constants & names:
                        offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
