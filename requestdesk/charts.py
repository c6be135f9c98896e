"""Stacked bar charts as data: the bars' geometry, which a template draws as inline SVG
(templates/admin/dashboard_chart.html); no charting library, no script."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    """Stacked bars, one column per label, scaled to `height`; `ticks` label some columns."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # (x, text)
    peak: int
    legend: tuple[tuple[str, str], ...]  # (css, label)
    empty: bool


def stacked_bars(
    columns: Sequence[tuple[str, dict[str, int] | Counter[str]]],
    series: tuple[tuple[str, str], ...],
    *,
    width: int = 420,
    height: int = 120,
    tick_every: int = 1,
) -> Chart:
    """`columns`: (label, {series name: value}); `series`: (name, css class) bottom up."""
    peak = max([sum(values.get(name, 0) for name, _ in series) for _, values in columns] or [0])
    step = width / max(len(columns), 1)
    bars: list[Bar] = []
    ticks: list[tuple[float, str]] = []
    for index, (label, values) in enumerate(columns):
        base: float = height
        for name, css in series:
            value = values.get(name, 0)
            if value and peak:
                tall = value / peak * (height - 4)
                base -= tall
                bars.append(
                    Bar(
                        round(index * step + 1, 1),
                        round(base, 1),
                        round(max(step - 2, 1), 1),
                        round(tall, 1),
                        css,
                        f"{label}: {value} {name}",
                    )
                )
        if index % tick_every == 0:  # (kept inside the chart at its left edge)
            ticks.append((round(max(index * step + step / 2, 18), 1), label))
    return Chart(
        width, height, tuple(bars), tuple(ticks), peak, tuple((css, name) for name, css in series), empty=peak == 0
    )
