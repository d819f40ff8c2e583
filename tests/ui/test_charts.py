"""The run page's history charts, laid out in plain Python: what is charted, where the
points go, and how many charts fit."""

from __future__ import annotations

import math

from cairn.server.ui.charts import (
    CHART_H,
    CHART_W,
    COLUMNS,
    GAP,
    MAX_CHARTS,
    Frame,
    history_charts,
    series,
)


def test_only_finite_numbers_of_metrics_are_charted() -> None:
    rows = [
        {"_step": 0, "_runtime": 0.1, "loss": 2, "ok": True, "text": "a", "nan": "NaN"},
        {"_step": 1, "loss": math.inf, "hist": {"_type": "histogram"}},
        {"_step": 2, "loss": 1.5},
        {"loss": 9},  # no step: not placed
    ]
    assert series(rows) == {"loss": [(0.0, 2.0), (2.0, 1.5)]}


def test_points_fill_the_plot_area() -> None:
    (chart,) = history_charts(
        [{"_step": s, "v": v} for s, v in ((0, 0.0), (5, 10.0), (10, 5))]
    ).charts
    frame = Frame()
    points = [tuple(map(float, p.split(","))) for p in chart.points.split()]
    assert points == [
        (frame.left, frame.bottom),
        ((frame.left + frame.right) / 2, frame.top),
        (frame.right, (frame.top + frame.bottom) / 2),
    ]
    assert chart.last == points[-1]
    assert (chart.y_top, chart.y_bottom, chart.x_first, chart.x_last) == ("10", "0", "0", "10")
    assert chart.last_value == "5"


def test_a_single_value_sits_mid_chart() -> None:
    (chart,) = history_charts([{"_step": 3, "v": 0.25}]).charts
    frame = Frame()
    assert chart.points == f"{(frame.left + frame.right) / 2},{(frame.top + frame.bottom) / 2}"


def test_charts_are_laid_out_in_rows_and_capped() -> None:
    rows = [{"_step": 0, **{f"m{i:03d}": i for i in range(MAX_CHARTS + 5)}}]
    drawn = history_charts(rows)
    assert (len(drawn.charts), drawn.left_out) == (MAX_CHARTS, 5)
    assert drawn.charts[0].metric == "m000"
    second_row = drawn.charts[COLUMNS]
    assert (second_row.x, second_row.y) == (0, CHART_H + GAP)
    assert drawn.width == COLUMNS * (CHART_W + GAP) - GAP
    assert drawn.height == (MAX_CHARTS // COLUMNS) * (CHART_H + GAP) - GAP
    empty = history_charts([])
    assert (empty.width, empty.height, empty.charts) == (0, 0, [])
