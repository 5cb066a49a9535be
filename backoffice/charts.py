"""Charts drawn on the server: bars, rows and a heat map as numbers a template turns into SVG."""

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


@dataclass(frozen=True)
class Row:
    """A horizontal bar: its label on the left, its figure on the right."""

    y: float
    width: float
    label: str
    figure: str
    title: str


@dataclass(frozen=True)
class RowChart:
    width: int
    height: int
    plot_left: int
    row_height: int
    bar_height: int
    rows: list[Row]


def row_chart(values: list[tuple[str, int, str, str]], *, width: int = 900, row_height: int = 34) -> RowChart:
    """Horizontal bars for (label, count, figure, tooltip) items, the longest the full width: the
    funnel's steps and the payment channels."""
    plot_left, figure_room = 200, 260
    maximum = max((value for _, value, _, _ in values), default=0) or 1
    plot_width = width - plot_left - figure_room
    rows = [
        Row(
            y=index * row_height,
            width=round(max(plot_width * value / maximum, 1 if value else 0), 2),
            label=label,
            figure=figure,
            title=title,
        )
        for index, (label, value, figure, title) in enumerate(values)
    ]
    return RowChart(
        width=width,
        height=max(len(rows), 1) * row_height,
        plot_left=plot_left,
        row_height=row_height,
        bar_height=row_height - 10,
        rows=rows,
    )


@dataclass(frozen=True)
class HeatCell:
    x: int
    y: int
    fill: str
    title: str


@dataclass(frozen=True)
class HeatMap:
    width: int
    height: int
    plot_left: int
    plot_top: int
    cell: int
    rows: list[tuple[float, str]]  # (y of the label, weekday)
    columns: list[tuple[float, str]]  # (x of the label, hour)
    cells: list[HeatCell]


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# From no sales (pale) to the busiest hour (the admin's dark blue), in even steps.
HEAT_COLOURS = ["#f4f7f9", "#d6e6ef", "#a9cbe0", "#79aec8", "#4f8fb0", "#2d6a8c", "#1b4a66"]


def heat_colour(count: int, maximum: int) -> str:
    if not count or not maximum:
        return HEAT_COLOURS[0]
    return HEAT_COLOURS[1 + min(len(HEAT_COLOURS) - 2, (count * (len(HEAT_COLOURS) - 1) - 1) // maximum)]


def heat_map(counts: dict[tuple[int, int], int], *, cell: int = 28) -> HeatMap:
    """A weekday (rows, Monday first) by hour (columns, 0 to 23) grid of counts; darker is busier."""
    plot_left, plot_top = 50, 22
    maximum = max(counts.values(), default=0)
    cells = [
        HeatCell(
            x=plot_left + hour * cell,
            y=plot_top + (weekday - 1) * cell,
            fill=heat_colour(counts.get((weekday, hour), 0), maximum),
            title=f"{WEEKDAYS[weekday - 1]} {hour:02d}:00–{hour:02d}:59: {counts.get((weekday, hour), 0)} paid sale(s)",
        )
        for weekday in range(1, 8)
        for hour in range(24)
    ]
    return HeatMap(
        width=plot_left + 24 * cell + 4,
        height=plot_top + 7 * cell + 4,
        plot_left=plot_left,
        plot_top=plot_top,
        cell=cell,
        rows=[(plot_top + index * cell + cell / 2, name) for index, name in enumerate(WEEKDAYS)],
        columns=[(plot_left + hour * cell + cell / 2, f"{hour:02d}") for hour in range(24)],
        cells=cells,
    )
