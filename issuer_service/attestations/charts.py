"""Charts of a report: reserves against supply over time, composition, concentration (R53).

Drawn with matplotlib from the report's JSON alone, as inline SVG for the web page and PNG for the
PDF. Reproducible bytes: a fixed `svg.hashsalt` (element ids), no creation date or software version
in the metadata, text kept as text, and no pyplot global state. Amounts become floats here only to
place marks on an axis; every figure printed comes from the report's decimal strings.

Labels come from recorded data (custodian names, asset kinds), so every text is drawn as plain
text, never mathtext: with mathtext, "Citi US$ & HK$ Custody" is drawn mangled and "Bank $_$ Ltd"
makes every report that shows it fail (R53).
"""

from __future__ import annotations

import io
import re
import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, cast

_RC: dict[str, Any] = {
    "svg.hashsalt": "cnh-sandbox-attestation",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # Never parse "$...$" as mathtext: every Text (titles, tick labels, legends, pie labels) is
    # created inside this rc_context, so none of them can treat user data as markup.
    "text.parse_math": False,
}
_SVG_METADATA = {"Date": None, "Creator": "cnh-sandbox", "Format": None, "Type": None}
_PNG_METADATA = {"Software": None}
_SUPPLY, _RESERVES, _LIMIT = "#b03a2e", "#1f618d", "#7d3c98"
_KIND_COLOURS = {
    "cash": "#1f618d",
    "time_deposit": "#48c9b0",
    "government_debt": "#f5b041",
    "reverse_repo": "#af7ac5",
    "not counted": "#bfc9ca",
}
_XML_PROLOGUE = re.compile(r"\A<\?xml[^>]*>\s*<!DOCTYPE[^>]*>\s*", re.DOTALL)
# rcParams are process-wide: one chart at a time, so concurrent requests cannot mix settings.
_lock = threading.Lock()
# Custodian names longer than this wrap onto more lines, so a long name does not squeeze the bars.
_LABEL_WIDTH = 28


def _amount(text: object) -> float:
    return float(Decimal(str(text)))


@contextmanager
def _drawn(draw: Any, *, size: tuple[float, float], fmt: str) -> Iterator[Any]:
    """A figure with the chart drawn on it, under the fixed settings (and the lock) until the block ends."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with _lock, matplotlib.rc_context(cast(Any, _RC)):
        figure = Figure(figsize=size, layout="constrained")
        (FigureCanvasSVG if fmt == "svg" else FigureCanvasAgg)(figure)
        draw(figure)
        yield figure


def _render(draw: Any, *, size: tuple[float, float], fmt: str) -> bytes:
    with _drawn(draw, size=size, fmt=fmt) as figure:
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=150, metadata=_SVG_METADATA if fmt == "svg" else _PNG_METADATA)
        return buffer.getvalue()


def _history(points: Sequence[Mapping[str, Any]]) -> Any:
    blocks = [int(p["block"]) for p in points]
    supply = [_amount(p["supply"]) for p in points]
    reserves = [_amount(p["reserves"]) for p in points]

    def draw(figure: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        axes = figure.add_subplot()
        axes.step(blocks, reserves, where="post", color=_RESERVES, linewidth=2, label="Reserves counted (CNH)")
        axes.step(blocks, supply, where="post", color=_SUPPLY, linewidth=2, label="Token supply (tCNH)")
        axes.set_xlabel("block")
        axes.set_ylabel("CNH")
        axes.set_title("Reserves and supply over time")
        axes.ticklabel_format(axis="x", style="plain", useOffset=False)
        # Blocks are whole numbers: a short history must not get ticks at block 4.5.
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0)
        # Below the plot, never on it: inside the axes it sat on the reserves line of short histories.
        figure.legend(loc="outside lower center", ncols=2, frameon=False)

    return draw


def _composition(assets: Sequence[Mapping[str, Any]]) -> Any:
    by_kind: dict[str, float] = {}
    for asset in assets:
        counted, market = _amount(asset["counted"]), _amount(asset["market_value"])
        if counted:
            by_kind[str(asset["kind"])] = by_kind.get(str(asset["kind"]), 0.0) + counted
        if market > counted:
            by_kind["not counted"] = by_kind.get("not counted", 0.0) + market - counted
    labels = sorted(by_kind, key=lambda kind: (kind == "not counted", kind))

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        axes.set_title("Composition of reserves")
        if not labels:
            axes.text(0.5, 0.5, "no reserves", ha="center", va="center")
            axes.set_axis_off()
            return
        axes.pie(
            [by_kind[k] for k in labels],
            labels=[k.replace("_", " ") for k in labels],
            colors=[_KIND_COLOURS.get(k, "#888888") for k in labels],
            startangle=90,
            counterclock=False,
            wedgeprops={"width": 0.42, "edgecolor": "white"},
            autopct="%1.1f%%",
            pctdistance=0.79,
        )
        axes.set_aspect("equal")

    return draw


def _concentration(custodians: Sequence[Mapping[str, Any]], limit_bps: int) -> Any:
    names = [textwrap.fill(str(c["custodian"]), _LABEL_WIDTH, break_long_words=False) for c in custodians][::-1]
    shares = [int(c["share_bps"]) / 100 for c in custodians][::-1]
    over = [bool(c["over_limit"]) for c in custodians][::-1]

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        # A figure title, centred on the figure: an axes title is centred on the bars, which long
        # custodian names push right, and the title then ran off the image's right edge.
        figure.suptitle("Share of counted reserves per custodian", fontsize="large")
        axes.barh(names or ["(none)"], shares or [0], color=[_SUPPLY if o else _RESERVES for o in over] or None)
        axes.axvline(
            limit_bps / 100, color=_LIMIT, linestyle="--", linewidth=1.5, label=f"limit {limit_bps / 100:g}% (R6)"
        )
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of counted reserves")
        axes.legend(loc="lower right", frameon=False)

    return draw


def _drawings(report: Mapping[str, Any]) -> dict[str, tuple[Any, tuple[float, float]]]:
    concentration = report["concentration"]
    return {
        "history": (_history(report["history"]), (7.0, 3.0)),
        "composition": (_composition(report["reserve_assets"]), (3.6, 3.0)),
        "concentration": (_concentration(concentration["custodians"], int(concentration["limit_bps"])), (5.0, 2.6)),
    }


def report_svgs(report: Mapping[str, Any]) -> dict[str, str]:
    """Inline SVG (no XML prologue) of each chart, by name."""
    return {
        name: _XML_PROLOGUE.sub("", _render(draw, size=size, fmt="svg").decode("utf-8"))
        for name, (draw, size) in _drawings(report).items()
    }


def report_pngs(report: Mapping[str, Any]) -> dict[str, bytes]:
    return {name: _render(draw, size=size, fmt="png") for name, (draw, size) in _drawings(report).items()}


def composition_svg(assets: Sequence[Mapping[str, Any]]) -> str:
    """The composition chart alone, for the transparency page."""
    return _XML_PROLOGUE.sub("", _render(_composition(assets), size=(3.6, 3.0), fmt="svg").decode("utf-8"))
