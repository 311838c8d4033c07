"""Tell a real multi-line CSV record from rows an unclosed quote swallowed.

A quoted field may hold line breaks (a description in paragraphs), so one record can span
several physical lines. A quote that is opened and never closed looks the same to the CSV
reader: every following line, up to the next quote character, becomes part of that field,
and the rows on those lines silently disappear into it. A record that spans lines is
therefore refused when a line inside one of its fields *looks like a row of its own*:

1. split with the file's delimiter it has at least as many fields as the header, none of them
   with leading or trailing spaces (prose puts a space after its commas, exported rows do
   not), and a non-blank value where the id column is; or
2. the value where the id column is has the shape of an id already seen in the file (runs
   of letters and runs of digits compared: ``B10`` has the shape of ``A7``, ``12345`` that of
   ``9``) and the delimiter follows it: no spaces, at most ``ID_MAX`` characters.

On the 27,554-row BigBasket catalog (766 records with real line breaks, 2,795 lines inside
fields) neither rule fires; either fires on a swallowed row. Titles are one line whatever
follows their break (``rows.ROW_TITLE_LINE_BREAK``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence

from labeling.services.catalog.imports.reader import DELIMITER, Record

SPAN_ROW_INSIDE_FIELD = (
    "lines {first}–{last} were read as one row, but line {at} (inside this field) looks like "
    'a row of its own: an unclosed quote (") probably joined them. Close the quote and import '
    "the file again"
)
ID_MAX = 64
SHAPES_MAX = 50  # ids of more shapes than this are too varied to say what an id looks like
_LETTERS, _DIGITS = re.compile(r"[^\W\d_]+"), re.compile(r"\d+")


def id_shape(value: str) -> str:
    """``"SKU-0042"`` → ``"a-9"``: letters and digits collapsed to one class each."""
    return _DIGITS.sub("9", _LETTERS.sub("a", value))


class SpanCheck:
    """Learns the shape of the file's ids as records go by; refuses swallowed rows."""

    def __init__(self, *, header: Sequence[str], id_col: str, delimiter: str = DELIMITER):
        self.width = len(header)
        self.id_at = list(header).index(id_col) if id_col in header else 0
        self.id_col = id_col
        self.delimiter = delimiter
        self.shapes: set[str] = set()

    def check(self, record: Record) -> tuple[str, str] | None:
        """``(column, reason)`` when ``record`` swallowed a row, else None."""
        data = record.data or {}
        self._learn(data.get(self.id_col))
        if record.last_line <= record.line:
            return None
        at = record.line
        for column, value in data.items():
            if not isinstance(value, str) or "\n" not in value:
                continue
            for segment in value.split("\n")[1:]:
                at += 1
                if self.looks_like_row(segment.rstrip("\r")):
                    reason = SPAN_ROW_INSIDE_FIELD.format(
                        first=record.line, last=record.last_line, at=at
                    )
                    return column, reason
        return None

    def looks_like_row(self, text: str) -> bool:
        fields = next(csv.reader([text], delimiter=self.delimiter), [])
        if len(fields) <= self.id_at:
            return False
        key = fields[self.id_at]
        full_width = (
            self.width > 1
            and len(fields) >= self.width
            and key.strip() != ""
            and all(f == f.strip() for f in fields)
        )
        return full_width or (len(fields) > self.id_at + 1 and self._id_like(key))

    def _id_like(self, value: str) -> bool:
        return _plain(value) and id_shape(value) in self.shapes

    def _learn(self, value: object) -> None:
        if isinstance(value, str) and len(self.shapes) < SHAPES_MAX and _plain(value.strip()):
            self.shapes.add(id_shape(value.strip()))


def _plain(value: str) -> bool:
    return value != "" and len(value) <= ID_MAX and not any(c.isspace() for c in value)
