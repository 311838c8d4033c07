"""The frame and the axes of the dashboard's hand-drawn SVG charts (``labeling.views.charts``).

What a chart library would do for the axes is done here, and tested against hand-computed
figures:

- axes end on round numbers scaled to the data (``nice_axis``), never a 0–1 axis for bars
  0.03 high;
- tick labels never overlap: their width is estimated (``text_width``) and ticks are thinned
  (dates, numbers) or, for categories that all need a label, rotated, the frame's margins
  grown to hold them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

CHAR_W = 6.6  # px per character of the 11px tick font, rounded up (digits are ~6.1)
LINE_H = 12.0  # px of one line of tick text
GAP = 6.0  # px at least between two tick labels
ROTATION = 40  # degrees, for category labels too long to stand side by side


@dataclass(frozen=True)
class Tick:
    x: float
    text: str
    rotated: bool = False


@dataclass(frozen=True)
class Frame:
    """The SVG's size and the plot area inside it."""

    width: int = 560
    height: int = 220
    left: int = 46
    right: int = 12
    top: int = 18
    bottom: int = 34

    @property
    def x0(self) -> float:
        return float(self.left)

    @property
    def x1(self) -> float:
        return float(self.width - self.right)

    @property
    def base(self) -> float:
        """The y of the x axis."""
        return float(self.height - self.bottom)

    def y(self, value: float, top: float) -> float:
        """Plot y of ``value`` on a 0..top axis."""
        span = self.height - self.top - self.bottom
        return round(self.base - (value / top if top else 0.0) * span, 1)

    def x(self, value: float, low: float, high: float) -> float:
        span = self.x1 - self.x0
        return round(self.x0 + ((value - low) / (high - low) if high > low else 0.5) * span, 1)


def text_width(text: str) -> float:
    """Estimated width in px of ``text`` in the tick font (no font metrics on the server)."""
    return len(text) * CHAR_W


def nice_step(rough: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``rough`` (> 0)."""
    exponent = math.floor(math.log10(rough))
    for m in (1, 2, 5, 10):
        step = m * 10.0**exponent
        if step >= rough * (1 - 1e-9):
            return step
    return 10.0 ** (exponent + 1)


def nice_axis(peak: float, intervals: int = 5) -> tuple[float, float]:
    """``(top, step)`` of a 0-based axis holding ``peak``: round steps, at most
    ``intervals`` of them (``nice_axis(0.03)`` → ``(0.03, 0.01)``, ``(430)`` → ``(500, 100)``)."""
    if peak <= 0:
        return 1.0, 0.25
    step = nice_step(peak / intervals)
    return _round(math.ceil(peak / step - 1e-9) * step), step


def fmt_number(value: float) -> str:
    """``1200`` → ``"1,200"``, ``0.25`` → ``"0.25"``, ``2.0`` → ``"2"``."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def yticks(frame: Frame, top: float, step: float, fmt: Callable[[float], str]) -> list:
    """``[(plot y, label)]`` of each step of a 0..``top`` axis, 0 included."""
    count = round(top / step)
    return [(frame.y(i * step, top), fmt(_round(i * step))) for i in range(count + 1)]


def _round(value: float) -> float:
    return round(value, 10)


def numeric_xticks(frame: Frame, low: float, high: float) -> tuple[Frame, float, float, list[Tick]]:
    """``(frame, domain low, domain high, ticks)`` for a numeric x axis: round steps, the
    domain widened to whole steps, the step the smallest whose labels do not overlap; the
    right margin grown when the last label would stick out of the picture."""
    if high <= low:
        return frame, low, high, [Tick(frame.x(low, low, high), fmt_number(low))]
    step = nice_step((high - low) / 20)
    while True:
        start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
        values = [_round(start + i * step) for i in range(round((stop - start) / step) + 1)]
        labels = [fmt_number(v) for v in values]
        overhang = math.ceil(text_width(labels[-1]) / 2 + 2)
        frame = replace(frame, right=max(frame.right, overhang))
        if step / (stop - start) * (frame.x1 - frame.x0) >= max(map(text_width, labels)) + GAP:
            ticks = [Tick(frame.x(v, start, stop), t) for v, t in zip(values, labels, strict=True)]
            return frame, start, stop, ticks
        step = nice_step(step * 1.5)


def category_ticks(frame: Frame, labels: Sequence[str], *, thin: bool) -> tuple[Frame, list[Tick]]:
    """One tick per slot, centred; labels too wide to stand side by side are thinned (when
    ``thin``: dates, where every n-th says enough) or rotated (categories, each needing its
    label), the frame's bottom margin grown to hold them."""
    if not labels:
        return frame, []
    slot = (frame.x1 - frame.x0) / len(labels)
    widest = max(text_width(label) for label in labels)
    every, rotated = 1, False
    if widest + GAP > slot:
        if thin:
            every = math.ceil((widest + GAP) / slot)
        else:
            rotated = True
            every = math.ceil(LINE_H / (slot * math.sin(math.radians(ROTATION))))
    if rotated:  # taller below the axis, wider on the left: the plot keeps its size
        angle = math.radians(ROTATION)
        down = max(0, math.ceil(widest * math.sin(angle) + LINE_H + 6 - frame.bottom))
        left = max(0, math.ceil(widest * math.cos(angle) - slot / 2 + 4 - frame.left))
        frame = replace(
            frame,
            bottom=frame.bottom + down,
            height=frame.height + down,
            left=frame.left + left,
            width=frame.width + left,
        )
    ticks = [
        Tick(round(frame.x0 + (i + 0.5) * slot, 1), label, rotated)
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    return frame, ticks
