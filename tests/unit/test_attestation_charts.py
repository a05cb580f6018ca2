"""The report's charts as a reader sees them (R53): whole block numbers on the history axis, and
every title and label inside the image, however long a custodian's name."""

from __future__ import annotations

from typing import Any

from matplotlib.text import Text

from issuer_service.attestations.charts import _drawings, _drawn

CONCENTRATION_TITLE = "Share of counted reserves per custodian"


def _report(history: list[dict[str, Any]], custodians: list[str]) -> dict[str, Any]:
    """The parts of a report the charts read."""
    share = 10_000 // max(1, len(custodians))
    return {
        "history": history,
        "reserve_assets": [
            {"kind": "cash", "counted": "100.00", "market_value": "100.00", "custodian": name} for name in custodians
        ],
        "concentration": {
            "limit_bps": 5_000,
            "custodians": [
                {"custodian": name, "share_bps": share, "over_limit": share > 5_000} for name in custodians
            ],
        },
    }


def _texts_outside(figure: Any) -> list[str]:
    """Texts drawn (partly) outside the image: what a reader sees cut off."""
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    outside = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            outside.append(text.get_text())
    return outside


def test_the_history_chart_puts_ticks_on_whole_blocks_only() -> None:
    # Three blocks once gave ticks at 4.25, 4.5, 4.75...: there is no block 4.5.
    history = [
        {"block": 4, "supply": "0.000000", "reserves": "1000.00"},
        {"block": 5, "supply": "100.000000", "reserves": "1100.00"},
        {"block": 6, "supply": "90.000000", "reserves": "1090.00"},
    ]
    draw, size = _drawings(_report(history, ["Sandbox Bank HK"]))["history"]
    with _drawn(draw, size=size, fmt="png") as figure:
        figure.canvas.draw()
        axes = figure.axes[0]
        low, high = axes.get_xlim()
        shown = [tick for tick in axes.get_xticks() if low <= tick <= high]
        labels = [label.get_text() for label in axes.get_xticklabels() if label.get_text()]
    assert shown == [4, 5, 6]
    assert labels and all(label.isdigit() for label in labels), labels


def test_the_concentration_title_and_long_custodian_names_stay_inside_the_image() -> None:
    # The title was centred on the bars; a long name pushed them right and the title off the image.
    history = [{"block": 1, "supply": "1.000000", "reserves": "2.00"}]
    custodians = ["Sandbox Bank HK", "Sandbox Bank HK — segregated reserve account 001-234567-890"]
    draw, size = _drawings(_report(history, custodians))["concentration"]
    with _drawn(draw, size=size, fmt="png") as figure:
        figure.canvas.draw()
        titles = [text.get_text() for text in figure.findobj(Text) if text.get_text() == CONCENTRATION_TITLE]
        outside = _texts_outside(figure)
    assert titles == [CONCENTRATION_TITLE]  # shown whole, once
    assert outside == []


def _crosses(box: Any, line: Any) -> bool:
    """Whether a plotted step line passes through `box` (display coordinates)."""
    path = line.get_transform().transform_path(line.get_path())
    vertices = path.vertices
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:], strict=False):
        inside_x = max(x0, x1) >= box.x0 and min(x0, x1) <= box.x1
        inside_y = max(y0, y1) >= box.y0 and min(y0, y1) <= box.y1
        if inside_x and inside_y:
            return True
    return False


def test_the_history_legend_never_covers_the_lines_however_short_the_history() -> None:
    # The demo's history: two points, reserves flat near the top, where the legend used to sit.
    for history in (
        [{"block": 9, "supply": "9000.000000", "reserves": "10000.00"}],
        [
            {"block": 7, "supply": "10000.000000", "reserves": "11000.00"},
            {"block": 9, "supply": "9000.000000", "reserves": "10000.00"},
        ],
    ):
        draw, size = _drawings(_report(history, ["Sandbox Bank HK"]))["history"]
        with _drawn(draw, size=size, fmt="png") as figure:
            figure.canvas.draw()
            legends = figure.legends + [legend for axes in figure.axes if (legend := axes.get_legend())]
            assert len(legends) == 1
            box = legends[0].get_window_extent(figure.canvas.get_renderer())
            lines = figure.axes[0].get_lines()
            assert [line.get_label() for line in lines] == ["Reserves counted (CNH)", "Token supply (tCNH)"]
            covered = [line.get_label() for line in lines if _crosses(box, line)]
            image = figure.bbox
        assert covered == [], f"legend covers {covered} for {len(history)} point(s)"
        assert image.x0 <= box.x0 and box.x1 <= image.x1 and image.y0 <= box.y0 and box.y1 <= image.y1
