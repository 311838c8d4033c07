"""Read CSV and JSONL catalog files as (line number, record) pairs without ever crashing.

Files are read as bytes and decoded line by line (UTF-8, a leading BOM dropped), so one line
in another encoding becomes one reported bad row instead of an exception that stops the
import. Line numbers are physical lines: the CSV header is line 1. A CSV record with quoted
line breaks spans several lines (``Record.line`` to ``Record.last_line``); ``ReadStats``
counts the lines read, so every physical line is accounted for: it is a record's first
line, a continuation of a record, or blank.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

READER_UNDECODABLE = "the line is not valid UTF-8 (re-save the file as UTF-8)"
READER_INVALID_JSON = "invalid JSON: {error}"
READER_NOT_OBJECT = "a JSON line must be an object, not {kind}"
READER_TOO_MANY_FIELDS = "the row has {count} fields but the header has {expected}"
READER_CSV_ERROR = "unreadable CSV row: {error}"
DELIMITER = ","  # the csv module's default dialect (excel), which read_csv uses


@dataclass(frozen=True)
class Record:
    line: int
    data: dict[str, Any] | None
    error: str = ""
    last_line: int = 0  # the record's last physical line; 0: the same as ``line``

    @property
    def spans_lines(self) -> bool:
        return self.last_line > self.line


@dataclass
class ReadStats:
    """Filled in while a file is read: its physical lines (a CSV header not counted) and the
    blank ones among them (skipped, no record)."""

    lines: int = 0
    blank: int = 0


def catalog_format(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


def count_lines(path: Path) -> int:
    """Physical lines, for the progress bar's total (fast: counts newlines in binary blocks)."""
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def _decoded(handle: BinaryIO, bad_lines: set[int]) -> Iterator[str]:
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.add(number)
            yield raw.decode("utf-8", errors="replace")


def csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        first = next(csv.reader(_decoded(handle, set())), [])
    return [name.strip() for name in first]


def read_csv(path: Path, stats: ReadStats | None = None) -> Iterator[Record]:
    stats = stats if stats is not None else ReadStats()
    bad_lines: set[int] = set()
    with path.open("rb") as handle:
        reader = csv.reader(_decoded(handle, bad_lines), delimiter=DELIMITER)
        header = [name.strip() for name in next(reader, [])]
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                message = READER_CSV_ERROR.format(error=error)
                yield Record(start, None, message, last_line=reader.line_num)
                continue
            finally:
                stats.lines = max(reader.line_num - 1, 0)
            if values:
                yield _csv_record(start, reader.line_num, header, values, bad_lines)
            else:
                stats.blank += 1


def _csv_record(
    start: int, end: int, header: list[str], values: list[str], bad_lines: set[int]
) -> Record:
    if any(number in bad_lines for number in range(start, end + 1)):
        return Record(start, None, READER_UNDECODABLE, last_line=end)
    data = dict(zip(header, values, strict=False))
    if len(values) > len(header):
        # The fields are kept (the extra ones dropped) only so the report can name the row's id.
        message = READER_TOO_MANY_FIELDS.format(count=len(values), expected=len(header))
        return Record(start, data, message, last_line=end)
    return Record(start, data, last_line=end)


def read_jsonl(path: Path, stats: ReadStats | None = None) -> Iterator[Record]:
    """One record per non-blank line: a JSON string cannot hold a raw line break, so an
    object split over lines is one invalid-JSON error per line, never a merged record."""
    stats = stats if stats is not None else ReadStats()
    bad_lines: set[int] = set()
    with path.open("rb") as handle:
        for number, text in enumerate(_decoded(handle, bad_lines), start=1):
            stats.lines = number
            if number in bad_lines:
                yield Record(number, None, READER_UNDECODABLE)
            elif text.strip():
                yield _json_record(number, text)
            else:
                stats.blank += 1


def _json_record(number: int, text: str) -> Record:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return Record(number, None, READER_INVALID_JSON.format(error=error.msg))
    if not isinstance(data, dict):
        return Record(number, None, READER_NOT_OBJECT.format(kind=type(data).__name__))
    return Record(number, data)
