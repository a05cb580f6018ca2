"""Human renderings of a report (R53): HTML with inline SVG charts (jinja2), and PDF (reportlab).

Both are functions of the report's JSON and its SHA-256 only, so they are as reproducible as the
report: the same report gives the same HTML bytes, and the same PDF bytes (reportlab's
`invariant` mode leaves out the creation date and the random document id).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from issuer_service.attestations.charts import report_pngs, report_svgs

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
_NUMBER = re.compile(r"(-?)(\d+)(\.\d+)?\Z")


def grouped(text: object) -> str:
    """ "1234567.50" → "1,234,567.50"; anything else unchanged."""
    match = _NUMBER.match(str(text))
    if match is None:
        return str(text)
    sign, whole, fraction = match.groups()
    return f"{sign}{int(whole):,}{fraction or ''}"


@cache
def environment(directory: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["grouped"] = grouped
    return env


def render_html(report: Mapping[str, Any], sha256: str) -> str:
    charts = {name: Markup(svg) for name, svg in report_svgs(report).items()}  # noqa: S704 - our own SVG
    return environment().get_template("report.html.j2").render(r=report, sha256=sha256, charts=charts)


# ---------------------------------------------------------------- PDF
def render_pdf(report: Mapping[str, Any], sha256: str) -> bytes:
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]

    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8, leading=10)
    mono = ParagraphStyle("mono", parent=small, fontName="Courier")
    red = colors.HexColor("#b03a2e")
    banner_text = str(report["banner"])
    rt, pol, sla = report["reserve_test"], report["proof_of_liabilities"], report["redemption_sla"]

    def p(text: object, style: Any = small) -> Any:
        return Paragraph(_escape(text), style)

    def table(rows: list[list[Any]], widths: list[float] | None = None, header: bool = True) -> Any:
        t = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
        commands: list[tuple[Any, ...]] = [
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d5d8dc")),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eaecee")))
        t.setStyle(TableStyle(commands))
        return t

    def image(png: bytes, width_mm: float) -> Any:
        from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]

        reader = ImageReader(io.BytesIO(png))
        width_px, height_px = reader.getSize()
        return Image(io.BytesIO(png), width=width_mm * mm, height=width_mm * mm * height_px / width_px)

    charts = report_pngs(report)
    story: list[Any] = [
        Paragraph(_escape(report["title"]), styles["Title"]),
        p(
            f"Stated time {report['as_of']['time_utc']} · block {report['as_of']['block']} · "
            f"block hash {report['as_of']['block_hash']} · profile {report['regime_profile']['name']}"
        ),
        p(f"Report SHA-256: {sha256}", mono),
        Spacer(1, 4 * mm),
        table(
            [
                ["Result (R1 with buffer)", str(report["result"]).upper()],
                ["Token supply", f"{grouped(report['supply']['total_supply'])} {report['token']['symbol']}"],
                ["Reserves counted", f"{grouped(rt['reserves_counted'])} CNH"],
                ["Required (supply + buffer " + str(rt["buffer"]) + ")", grouped(rt["required"])],
                ["Excess / shortfall", f"{grouped(rt['excess'])} / {grouped(rt['shortfall'])}"],
                ["Coverage ratio", str(rt["coverage_ratio"] or "—")],
            ],
            widths=[70 * mm, 100 * mm],
            header=False,
        ),
        Spacer(1, 2 * mm),
        *(p("Exception: " + str(item)) for item in report["exceptions"]),
        Spacer(1, 3 * mm),
        image(charts["history"], 170),
        Paragraph("Reserve assets (R2–R5)", styles["Heading2"]),
        table(
            [["Custodian / account", "Kind", "Ccy", "Market value", "Eligibility", "Counted"]]
            + [
                [
                    p(f"{a['custodian']}" + (f" — {a['account']}" if a["account"] else "")),
                    a["kind"],
                    a["currency"],
                    grouped(a["market_value"]),
                    p(a["eligibility_detail"]),
                    grouped(a["counted"]),
                ]
                for a in report["reserve_assets"]
            ]
            + [["Totals", "", "", grouped(report["totals"]["market_value"]), "", grouped(report["totals"]["counted"])]],
            widths=[55 * mm, 22 * mm, 12 * mm, 25 * mm, 38 * mm, 25 * mm],
        ),
        Spacer(1, 3 * mm),
        KeepTogether([image(charts["composition"], 75), image(charts["concentration"], 100)]),
        Paragraph("Concentration per custodian (R6)", styles["Heading2"]),
        table(
            [["Custodian", "Counted", "Share", f"Limit {report['concentration']['limit']}"]]
            + [
                [p(c["custodian"]), grouped(c["counted"]), c["share"], "OVER" if c["over_limit"] else "within"]
                for c in report["concentration"]["custodians"]
            ],
            widths=[75 * mm, 35 * mm, 25 * mm, 35 * mm],
        ),
        Paragraph("Redemption SLA record (R13)", styles["Heading2"]),
        p(f"{sla['scope']}: completed {sla['completed']}, on time {sla['met']}, late {sla['missed']}."),
        Paragraph("Proof of liabilities (R54)", styles["Heading2"]),
        p(
            f"Merkle sum root {pol['root_hash']} over {pol['holders']} holders, total {grouped(pol['total'])} "
            f"(equals supply: {'yes' if pol['matches_supply'] else 'NO'}). {pol['how_to_verify']}",
            small,
        ),
    ]
    if report["audit_anchor"]:
        anchor = report["audit_anchor"]
        story += [
            Paragraph("Audit log anchor (R50)", styles["Heading2"]),
            p(f"seq {anchor['seq']}, hash {anchor['hash']}. {anchor['how_to_verify']}"),
        ]
    accountant = report["accountant"]
    story += [
        Paragraph("Management assertion", styles["Heading2"]),
        p(report["management_assertion"]["text"]),
        p("— " + str(report["management_assertion"]["signed_by"])),
        Paragraph("Independent accountant", styles["Heading2"]),
        Table(
            [
                [
                    Paragraph(
                        f"<b>{_escape(accountant['label'])}</b>",
                        ParagraphStyle("stamp", parent=small, textColor=red, fontSize=11),
                    )
                ],
                [p(accountant["firm"])],
                *[[p(f"{i}. {step}")] for i, step in enumerate(accountant["procedures"], start=1)],
                [p(accountant["conclusion"])],
            ],
            colWidths=[170 * mm],
            style=TableStyle(
                [("BOX", (0, 0), (-1, -1), 1.5, red), ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fdedec"))]
            ),
        ),
        Spacer(1, 4 * mm),
        p(f"{banner_text} — {report['disclaimer']}"),
    ]

    def on_page(canvas: Any, doc: Any) -> None:  # R55: the banner on every page
        width, height = A4
        canvas.saveState()
        canvas.setFillColor(red)
        canvas.rect(0, height - 12 * mm, width, 12 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawCentredString(width / 2, height - 8 * mm, banner_text)
        canvas.setFillColor(colors.black)
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 8 * mm, f"{banner_text} · report SHA-256 {sha256} · page {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        invariant=1,
        pageCompression=0,  # text stays greppable; the chart images are compressed anyway
        title=str(report["title"]),
        author="CNH stablecoin sandbox (simulated issuer)",
        subject=banner_text,
        creator="cnh-sandbox",
        topMargin=18 * mm,
        bottomMargin=15 * mm,
    )
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
