"""The attestation report builder (R1–R6, R13, R16, R53–R55): pure, reproducible, and it says
pass or fail for the reason the numbers give."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from compliance.attestation import (
    PASS,
    SANDBOX_BANNER,
    SIMULATED_LABEL,
    AttestationInputs,
    AuditAnchor,
    BlockFacts,
    CompletedRedemption,
    HistoryPoint,
    LiabilitiesFacts,
    TokenFacts,
    build_report,
    history_points,
    report_bytes,
    report_sha256,
)
from compliance.profiles import RegimeProfile
from compliance.proof_of_liabilities import SCHEME, build_tree
from compliance.reserve_assets import (
    CURRENCY_NOT_ELIGIBLE,
    KIND_NOT_ELIGIBLE,
    MATURED,
    MATURITY_MISSING,
    NOT_OVERNIGHT,
    RESIDUAL_MATURITY_TOO_LONG,
    TERM_TOO_LONG,
    ReserveAssetInput,
    assess_asset,
    concentration,
    custodian_key,
)

TOKEN = TokenFacts("Sandbox Offshore RMB", "tCNH", 6, 31337, "0x" + "ab" * 20)
BLOCK_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BLOCK = BlockFacts(500, "0x" + "cd" * 32, int(BLOCK_TIME.timestamp()))
UNITS_PER_CNH = 1_000_000


def asset(
    asset_id: str = "ast_1",
    *,
    kind: str = "cash",
    custodian: str = "Bank A",
    currency: str = "CNH",
    value_fen: int = 100_000_00,
    maturity: date | None = None,
    valued_at: datetime = BLOCK_TIME,
) -> ReserveAssetInput:
    return ReserveAssetInput(
        asset_id=asset_id,
        kind=kind,
        custodian=custodian,
        account="a/c 1",
        currency=currency,
        nominal_fen=value_fen,
        market_value_fen=value_fen,
        maturity=maturity,
        valued_at=valued_at,
    )


def inputs(
    hk: RegimeProfile, *, supply_cnh: int = 100_000, assets: list[ReserveAssetInput] | None = None, **changes: Any
) -> AttestationInputs:
    supply = supply_cnh * UNITS_PER_CNH
    tree = build_tree(
        {"0x" + "11" * 20: supply} if supply else {}, chain_id=TOKEN.chain_id, token=TOKEN.address, block=BLOCK.number
    )
    base = AttestationInputs(
        token=TOKEN,
        block=BLOCK,
        profile=hk,
        supply_units=supply,
        indexed_supply_units=supply,
        ledger_supply_fen=supply // 10_000,
        assets=assets if assets is not None else [asset(value_fen=supply_cnh * 102 // 100 * 100)],
        redemptions=[],
        liabilities=LiabilitiesFacts(SCHEME, tree.root_hash, tree.total_units, tree.leaf_count, 1),
        history=[HistoryPoint(BLOCK.number, supply, supply // 10_000)],
        audit_anchor=AuditAnchor(7, "ee" * 32),
    )
    return replace(base, **changes)


def test_the_same_inputs_give_byte_identical_canonical_json(hk: RegimeProfile) -> None:
    first, second = build_report(inputs(hk)), build_report(inputs(hk))
    assert report_bytes(first) == report_bytes(second)
    assert report_sha256(first) == report_sha256(second)
    text = report_bytes(first).decode("utf-8")
    assert text == json.dumps(first, sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # canonical
    assert "now" not in first  # nothing from a clock: the stated time is the block's
    assert first["as_of"] == {
        "block": 500,
        "block_hash": BLOCK.hash,
        "timestamp": BLOCK.timestamp,
        "time_utc": "2026-03-02T08:00:00Z",
        "date": "2026-03-02",
    }


def test_any_change_of_input_changes_the_hash(hk: RegimeProfile) -> None:
    baseline = report_sha256(build_report(inputs(hk)))
    assert report_sha256(build_report(inputs(hk, supply_cnh=100_001))) != baseline
    assert report_sha256(build_report(inputs(hk, block=replace(BLOCK, number=501)))) != baseline
    assert report_sha256(build_report(inputs(hk, audit_anchor=None))) != baseline


def test_report_is_labelled_sandbox_and_the_accountant_section_is_marked_simulated(hk: RegimeProfile) -> None:
    report = build_report(inputs(hk))
    assert report["banner"] == SANDBOX_BANNER  # R55
    accountant = report["accountant"]
    assert accountant["simulated"] is True and accountant["label"] == SIMULATED_LABEL
    assert str(accountant["conclusion"]).startswith("SIMULATED")
    assert "management_assertion" in report and "block 500" in report["management_assertion"]["text"]


def test_reserves_exactly_at_supply_plus_buffer_pass_and_one_fen_less_fails(hk: RegimeProfile) -> None:
    # hk buffer is 2%: 100,000 tCNH needs 102,000.00 CNH.
    passing = build_report(inputs(hk, assets=[asset(value_fen=102_000_00)]))
    assert passing["result"] == PASS and passing["reserve_test"]["excess"] == "0.000000"
    assert passing["reserve_test"]["required"] == "102000.000000"
    failing = build_report(inputs(hk, assets=[asset(value_fen=102_000_00 - 1)]))
    assert failing["result"] == "fail"
    assert failing["reserve_test"]["shortfall"] == "0.010000"
    assert failing["reserve_test"]["par_result"] == PASS  # above par, below par + buffer
    assert any(e.startswith("R1") for e in failing["exceptions"])
    assert "did NOT cover" in failing["management_assertion"]["text"]
    assert "exceptions" in failing["accountant"]["conclusion"]


def test_zero_supply_passes_with_no_ratio(hk: RegimeProfile) -> None:
    report = build_report(inputs(hk, supply_cnh=0, assets=[]))
    assert report["result"] == PASS and report["reserve_test"]["coverage_ratio"] is None


def test_ineligible_assets_are_listed_but_count_zero_and_haircuts_apply(hk: RegimeProfile) -> None:
    report = build_report(
        inputs(
            hk,
            assets=[
                asset("cash", value_fen=100_000_00),
                asset(
                    "usd-bill",
                    kind="government_debt",
                    currency="USD",
                    value_fen=10_000_00,
                    custodian="Bank B",
                    maturity=date(2026, 9, 1),
                ),
                asset("shares", kind="other", value_fen=50_000_00, custodian="Bank C"),
            ],
        )
    )
    rows = {row["asset_id"]: row for row in report["reserve_assets"]}
    assert rows["usd-bill"]["counted"] == "9500.00" and rows["usd-bill"]["haircut_bps"] == 500  # R4
    assert rows["shares"]["counted"] == "0.00" and rows["shares"]["ineligibility_reason"] == KIND_NOT_ELIGIBLE
    assert report["totals"] == {"market_value": "160000.00", "counted": "109500.00", "not_counted": "50500.00"}


def test_custodians_above_the_concentration_limit_are_flagged(hk: RegimeProfile) -> None:
    report = build_report(
        inputs(
            hk,
            assets=[
                asset("a", value_fen=60_000_00, custodian="Bank A"),
                asset("b", value_fen=45_000_00, custodian="Bank B"),
            ],
        )
    )
    shares = {c["custodian"]: c for c in report["concentration"]["custodians"]}
    assert shares["Bank A"]["over_limit"] is True and shares["Bank A"]["share"] == "57.14%"  # R6 limit 50%
    assert shares["Bank B"]["over_limit"] is False
    assert report["concentration"]["result"] == "flagged"
    assert report["result"] == PASS  # R6 is reported and flagged, it does not fail R1


def test_stale_valuations_late_redemptions_and_supply_differences_are_exceptions(hk: RegimeProfile) -> None:
    late = CompletedRedemption(
        "rdm_late", 500_00, 480, deadline_at=BLOCK_TIME - timedelta(days=2), paid_at=BLOCK_TIME - timedelta(days=1)
    )
    on_time = CompletedRedemption("rdm_ok", 100_00, 470, deadline_at=BLOCK_TIME, paid_at=BLOCK_TIME - timedelta(days=3))
    report = build_report(
        inputs(
            hk,
            assets=[
                asset(value_fen=55_000_00, valued_at=BLOCK_TIME - timedelta(days=3)),
                asset("ast_2", value_fen=55_000_00, custodian="Bank B"),
            ],
            redemptions=[late, on_time],
            indexed_supply_units=99 * UNITS_PER_CNH,
        )
    )
    assert report["valuation"]["stale_assets"] == ["ast_1"]  # R5: older than 86,400 s
    sla = report["redemption_sla"]
    assert (sla["completed"], sla["met"], sla["missed"]) == (2, 1, 1)  # R13
    assert sla["missed_redemptions"][0]["redemption_id"] == "rdm_late"
    assert sla["missed_redemptions"][0]["late_seconds"] == 86_400
    assert report["reconciliation"]["result"] == "differs"  # R16
    assert [e.split(":")[0] for e in report["exceptions"]] == ["R5", "R13", "R16"]


def test_the_report_carries_the_proof_of_liabilities_root_and_total(hk: RegimeProfile) -> None:
    facts = inputs(hk)
    report = build_report(facts)
    pol = report["proof_of_liabilities"]
    assert pol["root_hash"] == facts.liabilities.root_hash
    assert pol["total_units"] == str(facts.supply_units) and pol["matches_supply"] is True
    mismatched = build_report(replace(facts, liabilities=replace(facts.liabilities, total_units=1)))
    assert mismatched["proof_of_liabilities"]["matches_supply"] is False
    assert any(e.startswith("R54") for e in mismatched["exceptions"])


def test_history_steps_through_each_change_and_ends_at_the_report_block() -> None:
    points = history_points(
        supply_deltas=[(10, 5_000_000), (20, -1_000_000)],
        cash_deltas=[(10, 500), (20, -100)],
        asset_values=[(15, "ast_1", 1_000), (25, "ast_1", 900), (99, "ast_2", 1)],
        up_to_block=30,
    )
    assert points == [
        HistoryPoint(10, 5_000_000, 500),
        HistoryPoint(15, 5_000_000, 1_500),
        HistoryPoint(20, 4_000_000, 1_400),
        HistoryPoint(25, 4_000_000, 1_300),
        HistoryPoint(30, 4_000_000, 1_300),
    ]


def test_history_is_thinned_to_the_maximum_keeping_first_and_last() -> None:
    points = history_points(
        supply_deltas=[(b, 1) for b in range(1, 1_001)],
        cash_deltas=[],
        asset_values=[],
        up_to_block=1_000,
        max_points=50,
    )
    assert len(points) == 50
    assert (points[0].block, points[-1].block, points[-1].supply_units) == (1, 1_000, 1_000)


# ------------------------------------------------------------------------------------ eligibility (R2, R4)
AS_OF = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("kind", "currency", "maturity", "reason"),
    [
        ("other", "CNH", None, KIND_NOT_ELIGIBLE),
        ("cash", "EUR", None, CURRENCY_NOT_ELIGIBLE),
        ("time_deposit", "CNH", None, MATURITY_MISSING),
        ("time_deposit", "CNH", AS_OF + timedelta(days=93), TERM_TOO_LONG),
        ("time_deposit", "CNH", AS_OF - timedelta(days=1), MATURED),
        ("government_debt", "CNH", AS_OF + timedelta(days=367), RESIDUAL_MATURITY_TOO_LONG),
        ("reverse_repo", "CNH", AS_OF + timedelta(days=7), NOT_OVERNIGHT),
    ],
)
def test_ineligible_assets_count_zero_with_a_stable_reason(
    hk: RegimeProfile, kind: str, currency: str, maturity: date | None, reason: str
) -> None:
    assessment = assess_asset(asset(kind=kind, currency=currency, maturity=maturity), hk, as_of=AS_OF)
    assert (assessment.eligible, assessment.reason, assessment.counted_fen) == (False, reason, 0)


@pytest.mark.parametrize(
    ("kind", "currency", "maturity", "counted"),
    [
        ("cash", "CNH", None, 100_000_00),
        ("time_deposit", "CNH", AS_OF + timedelta(days=92), 100_000_00),
        ("government_debt", "HKD", AS_OF + timedelta(days=366), 98_000_00),  # 2% HKD haircut
        ("reverse_repo", "USD", AS_OF + timedelta(days=1), 95_000_00),  # 5% USD haircut
    ],
)
def test_eligible_assets_count_market_value_less_haircut(
    hk: RegimeProfile, kind: str, currency: str, maturity: date | None, counted: int
) -> None:
    assessment = assess_asset(asset(kind=kind, currency=currency, maturity=maturity), hk, as_of=AS_OF)
    assert (assessment.eligible, assessment.counted_fen) == (True, counted)


def test_concentration_uses_exact_integer_comparison_at_the_limit() -> None:
    at_limit = concentration([("A", 50), ("B", 50)], 5_000)
    assert [share.over_limit for share in at_limit] == [False, False]
    just_over = concentration([("A", 5_001), ("B", 4_999)], 5_000)
    assert [(share.custodian, share.over_limit, share.share_bps) for share in just_over] == [
        ("A", True, 5_001),
        ("B", False, 4_999),
    ]
    assert concentration([], 5_000) == []


def test_one_custodian_spelled_differently_is_one_custodian_for_the_concentration_limit() -> None:
    """R6 cannot be evaded by case, doubled spaces or full-width letters: 40 + 30 + 20 of 100 is 90%."""
    spellings = [("SANDBOX BANK HK", 40), ("Sandbox Bank  HK", 30), ("Ｓａｎｄｂｏｘ Bank\tHK ", 20), ("Bank A", 10)]
    shares = concentration(spellings, 5_000)
    assert [(s.custodian, s.counted_fen, s.share_bps, s.over_limit) for s in shares] == [
        ("SANDBOX BANK HK", 90, 9_000, True),  # shown as first recorded
        ("Bank A", 10, 1_000, False),
    ]
    assert {custodian_key(name) for name, _ in spellings[:3]} == {"sandbox bank hk"}
    assert custodian_key("Bank A") != custodian_key("Bank B")
