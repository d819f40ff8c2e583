"""Line charts of a run's history, laid out in plain Python for one server-drawn SVG.

One chart per metric that has numbers (keys starting with ``_``, such as ``_step`` and
``_runtime``, are wandb's bookkeeping and get none), ``_step`` along x, the metric along
y, scaled to fill the chart. Charts sit ``COLUMNS`` to a row, in metric name order, at
most ``MAX_CHARTS``. Values that are not finite numbers (NaN and infinities are stored by
name, dicts, text) leave gaps in no chart: such points are skipped. Everything here is
numbers; the template writes the metric names and values, escaped by Jinja, and no
JavaScript draws anything.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

CHART_W = 300
CHART_H = 150
GAP = 16
COLUMNS = 3
PAD_LEFT = 56
PAD_RIGHT = 12
PAD_TOP = 28
PAD_BOTTOM = 24
MAX_CHARTS = 60
STEP = "_step"


@dataclasses.dataclass(frozen=True)
class Chart:
    """One metric's chart at (``x``, ``y``) of the drawing; coordinates inside it."""

    metric: str
    x: int
    y: int
    points: str  # "x,y x,y ..." of the polyline
    last: tuple[float, float]  # where the last point is (a dot marks it)
    last_value: str
    y_top: str  # the highest value, labelled at the top of the y axis
    y_bottom: str
    x_first: str  # the first step, labelled at the left end of the x axis
    x_last: str


@dataclasses.dataclass(frozen=True)
class Frame:
    """The box of every chart and its plot area: the y axis at ``left``, the x axis at
    ``bottom``; labels are drawn around them."""

    width: int = CHART_W
    height: int = CHART_H
    left: int = PAD_LEFT
    right: int = CHART_W - PAD_RIGHT
    top: int = PAD_TOP
    bottom: int = CHART_H - PAD_BOTTOM


@dataclasses.dataclass(frozen=True)
class Charts:
    width: int
    height: int
    charts: list[Chart]
    left_out: int  # metrics past MAX_CHARTS
    frame: Frame = Frame()


def number(value: float) -> str:
    """A short label for a value: 4 significant digits (``0.1235``, ``1.2e+06``, ``3``)."""
    return f"{value:.4g}"


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def series(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """``metric -> [(step, value), ...]`` of the rows' finite numbers, by step."""
    found: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        step = row.get(STEP)
        if not isinstance(step, int | float) or not _numeric(step):
            continue
        for key, value in row.items():
            if not key.startswith("_") and _numeric(value):
                found.setdefault(key, []).append((float(step), float(value)))
    return found


def _span(low: float, high: float) -> tuple[float, float]:
    """``(low, high)`` widened when they are equal, so a flat line sits mid-chart."""
    if high > low:
        return low, high
    pad = abs(low) * 0.1 or 1.0
    return low - pad, high + pad


def _chart(metric: str, points: Sequence[tuple[float, float]], x: int, y: int) -> Chart:
    steps = [p[0] for p in points]
    values = [p[1] for p in points]
    x_low, x_high = _span(min(steps), max(steps))
    y_low, y_high = _span(min(values), max(values))
    inner_w = CHART_W - PAD_LEFT - PAD_RIGHT
    inner_h = CHART_H - PAD_TOP - PAD_BOTTOM

    def place(step: float, value: float) -> tuple[float, float]:
        px = PAD_LEFT + (step - x_low) / (x_high - x_low) * inner_w
        py = PAD_TOP + (y_high - value) / (y_high - y_low) * inner_h
        return round(px, 1), round(py, 1)

    placed = [place(step, value) for step, value in points]
    return Chart(
        metric=metric,
        x=x,
        y=y,
        points=" ".join(f"{px},{py}" for px, py in placed),
        last=placed[-1],
        last_value=number(values[-1]),
        y_top=number(max(values)),
        y_bottom=number(min(values)),
        x_first=number(min(steps)),
        x_last=number(max(steps)),
    )


def history_charts(rows: Iterable[Mapping[str, Any]]) -> Charts:
    """The charts of ``rows`` (history rows with ``_step``), laid out (see module doc)."""
    found = series(rows)
    metrics = sorted(found)
    shown = metrics[:MAX_CHARTS]
    charts = [
        _chart(
            metric,
            found[metric],
            (i % COLUMNS) * (CHART_W + GAP),
            (i // COLUMNS) * (CHART_H + GAP),
        )
        for i, metric in enumerate(shown)
    ]
    rows_used = math.ceil(len(charts) / COLUMNS)
    columns_used = min(len(charts), COLUMNS)
    return Charts(
        width=max(0, columns_used * (CHART_W + GAP) - GAP),
        height=max(0, rows_used * (CHART_H + GAP) - GAP),
        charts=charts,
        left_out=len(metrics) - len(shown),
    )
