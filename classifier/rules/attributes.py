"""Attribute conditions over a chunk: one column per attribute name, built once per chunk.

Values compare as text, trimmed and case-folded (``"Red"`` equals ``"red"``; ``10`` and
``10.0`` both read ``"10"``); a list-valued attribute matches when any element does. A range
reads numbers (an int, a float, or a string that is exactly a number); anything else, and a
missing attribute, matches no condition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.rules.spec import ATTRIBUTE_EQUALS, ATTRIBUTE_IN, ATTRIBUTE_RANGE


def as_text(value: Any) -> str | None:
    """The text form values compare in (None: not comparable)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value.strip().casefold()
    return None


def as_number(value: Any) -> float:
    """The number a range reads (NaN: not a number)."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return math.nan
    return math.nan


@dataclass
class AttributeColumn:
    """One attribute of a chunk: its rows grouped by raw value (each distinct value is read
    once, not once per row), rows by text value, and each row's number (built on demand)."""

    n: int
    groups: dict[tuple[type, Any], list[int]]
    by_value: dict[str, list[int]]
    _numbers: np.ndarray | None = None

    @classmethod
    def build(
        cls, attributes: Sequence[Mapping[str, Any] | None] | None, name: str, n: int
    ) -> AttributeColumn:
        groups: dict[tuple[type, Any], list[int]] = {}
        by_value: dict[str, list[int]] = {}
        for row, attrs in enumerate(attributes or ()):
            value = attrs.get(name) if isinstance(attrs, dict) else None
            if value is None:
                continue
            try:  # the type too: True, 1 and 1.0 are one dict key
                groups.setdefault((value.__class__, value), []).append(row)
            except TypeError:  # a list (or another unhashable value): element by element
                for element in value if isinstance(value, list) else ():
                    key = as_text(element)
                    if key is not None:
                        by_value.setdefault(key, []).append(row)
        for (_, value), rows in groups.items():
            key = as_text(value)
            if key is not None:
                by_value.setdefault(key, []).extend(rows)
        return cls(n, groups, by_value)

    @property
    def numbers(self) -> np.ndarray:
        """``(n,)`` each row's number, NaN where it has none."""
        if self._numbers is None:
            self._numbers = np.full(self.n, np.nan)
            for (_, value), rows in self.groups.items():
                self._numbers[rows] = as_number(value)
        return self._numbers

    @staticmethod
    def prepared(kind: str, value: Any) -> Any:
        """A condition's value in the column's terms."""
        if kind == ATTRIBUTE_EQUALS:
            key = as_text(value)
            if key is None:
                raise ValueError("attribute_equals needs a text, number or true/false value")
            return (key,)
        if kind == ATTRIBUTE_IN:
            keys = tuple(k for k in (as_text(v) for v in value) if k is not None)
            if not keys:
                raise ValueError("attribute_in needs text, number or true/false values")
            return keys
        low, high = value
        return (-math.inf if low is None else float(low), math.inf if high is None else float(high))

    def mask(self, kind: str, prepared: Any) -> np.ndarray:
        """``(n,)`` bool rows meeting the condition."""
        if kind == ATTRIBUTE_RANGE:
            low, high = prepared
            numbers = self.numbers
            with np.errstate(invalid="ignore"):
                return (numbers >= low) & (numbers <= high)
        out = np.zeros(self.n, dtype=bool)
        for key in prepared:
            rows = self.by_value.get(key)
            if rows:
                out[rows] = True
        return out
