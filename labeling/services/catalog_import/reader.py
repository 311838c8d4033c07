"""Read CSV and JSONL catalog files as (line number, record) pairs without ever crashing.

Files are read as bytes and decoded line by line (UTF-8, a leading BOM dropped), so one line
in another encoding becomes one reported bad row instead of an exception that stops the
import. Line numbers are physical lines: the CSV header is line 1.
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


@dataclass(frozen=True)
class Record:
    line: int
    data: dict[str, Any] | None
    error: str = ""


def detect_format(path: Path) -> str:
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


def read_csv(path: Path) -> Iterator[Record]:
    bad_lines: set[int] = set()
    with path.open("rb") as handle:
        reader = csv.reader(_decoded(handle, bad_lines))
        header = [name.strip() for name in next(reader, [])]
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield Record(start, None, READER_CSV_ERROR.format(error=error))
                continue
            if values:
                yield _csv_record(start, reader.line_num, header, values, bad_lines)


def _csv_record(
    start: int, end: int, header: list[str], values: list[str], bad_lines: set[int]
) -> Record:
    if any(number in bad_lines for number in range(start, end + 1)):
        return Record(start, None, READER_UNDECODABLE)
    if len(values) > len(header):
        # The fields are kept (the extra ones dropped) only so the report can name the row's id.
        message = READER_TOO_MANY_FIELDS.format(count=len(values), expected=len(header))
        return Record(start, dict(zip(header, values, strict=False)), message)
    return Record(start, dict(zip(header, values, strict=False)))


def read_jsonl(path: Path) -> Iterator[Record]:
    bad_lines: set[int] = set()
    with path.open("rb") as handle:
        for number, text in enumerate(_decoded(handle, bad_lines), start=1):
            if number in bad_lines:
                yield Record(number, None, READER_UNDECODABLE)
            elif text.strip():
                yield _json_record(number, text)


def _json_record(number: int, text: str) -> Record:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return Record(number, None, READER_INVALID_JSON.format(error=error.msg))
    if not isinstance(data, dict):
        return Record(number, None, READER_NOT_OBJECT.format(kind=type(data).__name__))
    return Record(number, data)
