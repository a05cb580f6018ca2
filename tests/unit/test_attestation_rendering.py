"""The human renderings of a report (R53, R55): HTML with inline SVG charts and a PDF, both
reproducible byte for byte, both carrying the sandbox banner and the SIMULATED accountant label."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from compliance.attestation import (
    SANDBOX_BANNER,
    SIMULATED_LABEL,
    AttestationInputs,
    AuditAnchor,
    BlockFacts,
    LiabilitiesFacts,
    TokenFacts,
    build_report,
    history_points,
    report_sha256,
)
from compliance.profiles import RegimeProfile
from compliance.proof_of_liabilities import SCHEME, build_tree
from compliance.reserve_assets import ReserveAssetInput
from issuer_service.attestations.rendering import grouped, render_html, render_pdf

MOMENT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _report(assets: list[ReserveAssetInput]) -> dict[str, Any]:
    from compliance.profiles import load_profile

    hk: RegimeProfile = load_profile("hk")
    balances = {"0x" + "11" * 20: 600 * 10**6, "0x" + "22" * 20: 400 * 10**6}
    tree = build_tree(balances, chain_id=31337, token="0x" + "ab" * 20, block=90)
    inputs = AttestationInputs(
        token=TokenFacts("Sandbox Offshore RMB", "tCNH", 6, 31337, "0x" + "ab" * 20),
        block=BlockFacts(90, "0x" + "cd" * 32, int(MOMENT.timestamp())),
        profile=hk,
        supply_units=tree.total_units,
        indexed_supply_units=tree.total_units,
        ledger_supply_fen=1_000_00,
        assets=assets,
        redemptions=[],
        liabilities=LiabilitiesFacts(SCHEME, tree.root_hash, tree.total_units, tree.leaf_count, 2),
        history=history_points(
            supply_deltas=[(80, 10**9)],
            cash_deltas=[(80, 1_000_00)],
            asset_values=[(85, "ast_bill", 480_20)],
            up_to_block=90,
        ),
        audit_anchor=AuditAnchor(12, "ee" * 32),
    )
    return build_report(inputs)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    cash = ReserveAssetInput(
        "customer-subscriptions", "cash", "Sandbox Bank HK", "segregated", "CNH", 1_000_00, 1_000_00, None, MOMENT
    )
    bill = ReserveAssetInput(
        "ast_bill", "government_debt", "Custodian B <&>", "a/c 9", "HKD", 500_00, 490_00, date(2026, 9, 1), MOMENT
    )
    return _report([cash, bill])


def test_html_shows_banner_figures_charts_and_the_simulated_accountant_and_is_reproducible(
    report: dict[str, Any],
) -> None:
    sha = report_sha256(report)
    html = render_html(report, sha)
    assert html == render_html(report, sha)  # byte-identical
    assert html.count(SANDBOX_BANNER) >= 2  # R55: top and bottom
    assert SIMULATED_LABEL.replace("'", "&#39;") in html
    assert sha in html and report["proof_of_liabilities"]["root_hash"] in html
    assert html.count("<svg") == 3  # reserves vs supply, composition, concentration
    assert "<?xml" not in html  # inline SVG, no XML prologue
    assert "Custodian B &lt;&amp;&gt;" in html  # recorded text is escaped
    assert "1,000.000000 tCNH" in html  # supply, grouped


def test_pdf_carries_banner_and_simulated_label_and_is_reproducible(report: dict[str, Any]) -> None:
    sha = report_sha256(report)
    pdf = render_pdf(report, sha)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf == render_pdf(report, sha)  # invariant mode: no creation date, no random id
    assert b"/CreationDate (D:20000101000000+00'00')" in pdf  # a fixed date, not the rendering time
    assert len(re.findall(rb"/Type /Page\b", pdf)) >= 2
    assert b"SANDBOX \\227 NOT A LICENSED STABLECOIN" in pdf or SANDBOX_BANNER.encode("cp1252") in pdf
    assert b"SIMULATED" in pdf and sha.encode() in pdf
    assert pdf.count(b"/Subtype /Image") >= 3  # the charts


DOLLAR_NAMES = ["Math $\\frac{1}{$ Bank", "Bank $_$ Ltd", "Citi US$ & HK$ Custody"]


def test_custodian_names_with_dollar_signs_are_drawn_as_plain_text_in_html_and_pdf() -> None:
    """R53: recorded names are data, never mathtext; "$...$" once made every later report a 500."""
    report = _report(
        [
            ReserveAssetInput(f"ast_{i}", "cash", name, None, "CNH", 100_00 * (i + 1), 100_00 * (i + 1), None, MOMENT)
            for i, name in enumerate(DOLLAR_NAMES)
        ]
    )
    sha = report_sha256(report)
    html = render_html(report, sha)
    concentration_chart = re.findall(r"<svg.*?</svg>", html, re.DOTALL)[2]
    for name in DOLLAR_NAMES:
        assert name.replace("&", "&amp;") in concentration_chart  # the label as recorded, not typeset
    pdf = render_pdf(report, sha)
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Subtype /Image") >= 3
    assert b"Bank $_$ Ltd" in pdf


@pytest.mark.parametrize(
    ("text", "shown"), [("1234567.50", "1,234,567.50"), ("-1000.000000", "-1,000.000000"), ("12", "12"), ("n/a", "n/a")]
)
def test_amounts_are_grouped_by_thousands_for_reading(text: str, shown: str) -> None:
    assert grouped(text) == shown
