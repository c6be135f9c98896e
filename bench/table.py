"""The benchmark table: each figure beside its baseline, measured in the same run, and the
ratio figure / baseline (for a rate, below 1 is slower than the baseline; for a latency,
above 1 is slower)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    name: str
    figure: float
    unit: str
    baseline: str
    baseline_figure: float

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline_figure if self.baseline_figure else float("nan")


HEADER = ("benchmark", "figure", "unit", "baseline (same run)", "baseline", "ratio")


def number(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def render(rows: list[Row]) -> str:
    """A plain-text table, columns two or more spaces apart; one line per row."""
    cells = [HEADER] + [
        (
            r.name,
            number(r.figure),
            r.unit,
            r.baseline,
            number(r.baseline_figure),
            "nan" if r.ratio != r.ratio else f"{r.ratio:.2f}x",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    right = {1, 4, 5}
    lines = [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return (
        "\n".join(lines) + "\nratio = figure / baseline: for /s below 1x is slower than the baseline, "
        "for ms above 1x is slower."
    )
