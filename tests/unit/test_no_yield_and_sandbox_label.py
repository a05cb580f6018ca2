"""R15 (no interest or yield to holders) and R55 (sandbox labelling, no main-net by default),
checked on the sources, the profiles and the rules themselves."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import compliance
from compliance.profiles import RegimeProfile, available_profiles, load_profile
from compliance.redemption_rules import redemption_payout_fen
from issuer_service.chain.networks import KNOWN_MAINNETS, MainnetRefused, check_chain_allowed
from issuer_service.chain.permit import TOKEN_NAME
from issuer_service.compliance_report.schemas import SANDBOX_BANNER, ComplianceReportOut
from issuer_service.compliance_report.service import render_html

ROOT = Path(compliance.__file__).resolve().parent.parent
YIELD_WORDS = re.compile(r"interest|yield|reward|dividend|rebase|staking|coupon|apy\b|apr\b", re.IGNORECASE)


def _functions_of_the_token() -> list[str]:
    source = (ROOT / "contracts" / "TCNHToken.sol").read_text(encoding="utf-8")
    return re.findall(r"function\s+(\w+)\s*\(", source)


def test_the_token_has_no_function_that_pays_interest_or_yield() -> None:  # R15
    functions = _functions_of_the_token()
    assert "burnFrozen" in functions and "redeemWithPermit" in functions  # the source was read
    assert [f for f in functions if YIELD_WORDS.search(f)] == []


def test_no_regime_profile_has_an_interest_or_yield_setting() -> None:  # R15
    for name in available_profiles():
        fields = vars(load_profile(name))
        assert [f for f in fields if YIELD_WORDS.search(f)] == [], name


@given(amount=st.integers(min_value=1, max_value=10**15), profile_name=st.sampled_from(available_profiles()))
def test_a_redemption_never_pays_more_than_par(amount: int, profile_name: str) -> None:  # R13, R15
    profile: RegimeProfile = load_profile(profile_name)
    assert 0 <= redemption_payout_fen(amount, profile) <= amount


def test_the_token_name_and_ticker_say_sandbox_and_test() -> None:  # R55
    source = (ROOT / "contracts" / "TCNHToken.sol").read_text(encoding="utf-8")
    name = re.search(r'string private constant _NAME = "([^"]+)";', source)
    symbol = re.search(r'string private constant _SYMBOL = "([^"]+)";', source)
    assert name and symbol
    assert (name.group(1), symbol.group(1)) == (TOKEN_NAME, "tCNH")  # the permit domain uses the same name
    assert name.group(1).startswith("Sandbox") and symbol.group(1).startswith("t")


def test_every_known_main_net_is_refused_unless_explicitly_allowed_and_local_chains_pass() -> None:  # R55
    refused = []
    for chain_id in KNOWN_MAINNETS:
        try:
            check_chain_allowed(chain_id, allow_mainnet=False)
        except MainnetRefused:
            refused.append(chain_id)
    assert refused == list(KNOWN_MAINNETS)
    check_chain_allowed(1, allow_mainnet=True)
    check_chain_allowed(31337, allow_mainnet=False)


def test_the_compliance_report_carries_the_sandbox_banner_in_json_and_at_top_and_bottom_of_html() -> None:  # R55
    from datetime import UTC, datetime

    from issuer_service.compliance_report.schemas import (
        AttestationSectionOut,
        EnforcementSectionOut,
        ScreeningSectionOut,
        SlaSectionOut,
        TravelRuleSectionOut,
    )

    report = ComplianceReportOut(
        generated_at=datetime(2026, 3, 2, tzinfo=UTC),
        profile="hk",
        redemption_sla=SlaSectionOut(
            deadline_business_days=1,
            paid=0,
            paid_on_time=0,
            paid_late=[],
            overdue=[],
            fee_disclosure="quote",
            holiday_calendar="hk",
            holiday_years=[2026],
            calendar_warnings=[],
        ),
        travel_rule=TravelRuleSectionOut(
            threshold=730000,
            record_window_seconds=86400,
            transfers_at_or_above_threshold=0,
            recorded=0,
            awaiting_record=0,
            flagged=[],
        ),
        attestation=AttestationSectionOut(cadence="daily", last_attested_at=None, next_due_at=None, overdue=False),
        screening=ScreeningSectionOut(list_version="v", cases={}, blocked_customers=[]),
        enforcement=EnforcementSectionOut(frozen_wallets=[], seizures=[]),
        pending_approvals={},
    )
    assert report.model_dump()["banner"] == SANDBOX_BANNER == "SANDBOX — NOT A LICENSED STABLECOIN"
    html = render_html(report)
    assert html.count(SANDBOX_BANNER) >= 3  # title, top, bottom
    assert html.index(SANDBOX_BANNER) < html.index("<h1>") < html.rindex(SANDBOX_BANNER)
