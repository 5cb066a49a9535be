"""A bar chart drawn on the server: the report's bars as numbers a template turns into SVG."""

from dataclasses import dataclass
from decimal import Decimal

from core.formats import rupiah


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str
    show_label: bool

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    bars: list[Bar]
    ticks: list[Tick]


def _nice_step(maximum: Decimal, steps: int = 4) -> Decimal:
    raw = maximum / steps
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal(1)
    for factor in (1, 2, 2.5, 5, 10):
        step = magnitude * Decimal(str(factor))
        if step >= raw:
            return step
    return magnitude * 10


def bar_chart(values: list[tuple[str, Decimal, str]], *, width: int = 900, height: int = 260) -> BarChart:
    """Vertical bars for (label, rupiah, tooltip) items; the template draws them as SVG.

    Axis labels are rupiah; with many bars only some labels are written, so they never overlap.
    """
    plot_left, plot_top, plot_bottom = 110, 10, height - 40
    plot_height = plot_bottom - plot_top
    maximum = max((value for _, value, _ in values), default=Decimal(0))
    step = _nice_step(maximum) if maximum > 0 else Decimal(1)
    top = step * 4
    slot = (width - plot_left - 10) / max(len(values), 1)
    label_every = max(1, round(len(values) / 15))
    bars = []
    for index, (label, value, title) in enumerate(values):
        bar_height = float(value / top) * plot_height if top else 0
        bars.append(
            Bar(
                x=round(plot_left + index * slot + slot * 0.1, 2),
                y=round(plot_bottom - bar_height, 2),
                width=round(max(slot * 0.8, 1), 2),
                height=round(bar_height, 2),
                label=label,
                title=title,
                show_label=index % label_every == 0,
            )
        )
    ticks = [Tick(y=round(plot_bottom - plot_height * i / 4, 2), label=rupiah(step * i)) for i in range(5)]
    return BarChart(width=width, height=height, plot_left=plot_left, plot_bottom=plot_bottom, bars=bars, ticks=ticks)
