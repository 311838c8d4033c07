"""Integer query and form parameters of the HTML views (``?item=``, ``?node=``, ``items=…``).

Each view used to read them with its own ``int()`` and pass any size on: ``?item=10**30``
reached SQLite, which cannot bind it (``OverflowError``, a 500). Read here, a value that is
not a whole number in range raises BadParameter, a BadRequest: Django answers 400 with the
message naming the parameter (``labeling.views.errors.bad_request``, installed as handler400).
A missing or blank parameter is None (or no element of a list), as before.
"""

from __future__ import annotations

import re

from django.core.exceptions import BadRequest
from django.http import QueryDict

from labeling.urls_converters import DB_INT_MAX, DB_INT_MIN, ID_MAX, ID_MIN

NOT_A_NUMBER = "The parameter {name!r} must be a whole number; it was {value!r}."
OUT_OF_RANGE = "The parameter {name!r} must be between {low} and {high}; it was {value}."
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,25}")  # ASCII digits: int() also reads "1_0" and "٣"
SHOWN_CHARS = 40


class BadParameter(BadRequest):
    """A query or form parameter that is not a whole number in its range."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def int_param(params: QueryDict, name: str, *, low: int = ID_MIN, high: int = ID_MAX) -> int | None:
    """``params[name]`` as an int from ``low`` to ``high`` (by default: a database id)."""
    raw = params.get(name)
    return None if raw is None or not raw.strip() else _checked(name, raw, low, high)


def int_list_param(
    params: QueryDict, name: str, *, low: int = ID_MIN, high: int = ID_MAX
) -> list[int]:
    """Every value of ``name`` (``?items=1&items=2``), blanks left out."""
    return [_checked(name, raw, low, high) for raw in params.getlist(name) if raw.strip()]


def any_int_param(params: QueryDict, name: str) -> int | None:
    """An integer that is not an id (a count, a size): any value a database column holds."""
    return int_param(params, name, low=DB_INT_MIN, high=DB_INT_MAX)


def _checked(name: str, raw: str, low: int, high: int) -> int:
    text = raw.strip()
    if not WHOLE_NUMBER.fullmatch(text):
        raise BadParameter(name, NOT_A_NUMBER.format(name=name, value=text[:SHOWN_CHARS]))
    value = int(text)
    if not low <= value <= high:
        message = OUT_OF_RANGE.format(name=name, low=f"{low:,}", high=f"{high:,}", value=text)
        raise BadParameter(name, message)
    return value
