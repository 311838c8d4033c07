"""Labelled catalog files (CSV, TSV, JSONL) read into plain lists.

The simulator and benchmarks read any labelled product file through ``load_labelled``:
the column names are arguments (the same options as the catalog import), the label is a
category path such as ``"Apparel > Topwear > Shirts"`` (or, in JSONL, a list of names),
and image paths are resolved against an images root. Errors name the file and the
column, and list the columns that are present, so a typo is a one-line fix.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MISSING_COLUMN = "column {column!r} ({role}) not found in {path}; columns present: {present}"
UNREADABLE_FILE = "cannot read {path}: {reason}"
EMPTY_FILE = "{path} has no data rows"
BAD_JSON_LINE = "{path}, line {line}: not a JSON object ({reason})"

JSONL_SUFFIXES = (".jsonl", ".ndjson")


class DatasetError(ValueError):
    """A labelled file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class LabelledData:
    """Items of a labelled file, one entry per usable row, in file order.

    ``rows`` holds each item's 0-based row number in the file (rows without a label are
    skipped), so arrays computed for every row of the file can be aligned with it.
    """

    ids: list[str]
    titles: list[str]
    descriptions: list[str]
    attributes: list[dict[str, str]]
    images: list[str | None]
    paths: list[tuple[str, ...]]
    rows: list[int]
    columns: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: Sequence[int] | np.ndarray) -> LabelledData:
        """The items at ``index`` (positions in this object, not file rows)."""
        pick = [int(i) for i in index]
        return LabelledData(
            ids=[self.ids[i] for i in pick],
            titles=[self.titles[i] for i in pick],
            descriptions=[self.descriptions[i] for i in pick],
            attributes=[self.attributes[i] for i in pick],
            images=[self.images[i] for i in pick],
            paths=[self.paths[i] for i in pick],
            rows=[self.rows[i] for i in pick],
            columns=self.columns,
        )


def read_records(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a CSV/TSV/JSONL file as dicts, and the column names present.

    The format follows the suffix (``.jsonl``/``.ndjson`` are JSON lines, ``.tsv`` is
    tab-separated, anything else is CSV). Raises ``DatasetError`` for a missing,
    undecodable or empty file.
    """
    path = Path(path)
    try:
        if path.suffix.lower() in JSONL_SUFFIXES:
            records = _read_jsonl(path)
            columns = list(dict.fromkeys(k for r in records for k in r))
        else:
            records, columns = _read_csv(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(UNREADABLE_FILE.format(path=path, reason=exc)) from exc
    if not records:
        raise DatasetError(EMPTY_FILE.format(path=path))
    return records, columns


def _read_csv(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        records = list(reader)
        columns = list(reader.fieldnames or [])
    return records, columns


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    BAD_JSON_LINE.format(path=path, line=number, reason=exc)
                ) from exc
            if not isinstance(record, dict):
                raise DatasetError(BAD_JSON_LINE.format(path=path, line=number, reason="a list"))
            records.append(record)
    return records


def load_labelled(
    path: str | Path,
    *,
    label_col: str = "category_path",
    title_col: str = "title",
    id_col: str | None = None,
    description_col: str | None = None,
    attribute_cols: Sequence[str] = (),
    image_col: str | None = None,
    images_root: str | Path | None = None,
    path_sep: str = " > ",
) -> LabelledData:
    """Read a labelled file into ``LabelledData``.

    Args:
        label_col: category path per row, joined by ``path_sep`` (a JSON list also works).
            Rows with an empty label are skipped.
        id_col: item id column; ``None`` uses ``"id"`` when present, else the row number.
        image_col: image path per row, relative to ``images_root`` unless absolute;
            an empty cell means "no image".
    """
    records, columns = read_records(path)
    roles = {
        "label": label_col,
        "title": title_col,
        "id": id_col,
        "description": description_col,
        "image": image_col,
    }
    roles.update({f"attribute {i + 1}": c for i, c in enumerate(attribute_cols)})
    for role, column in roles.items():
        if column is not None and column not in columns:
            raise DatasetError(
                MISSING_COLUMN.format(
                    column=column, role=role, path=path, present=", ".join(columns)
                )
            )
    if id_col is None and "id" in columns:
        id_col = "id"
    root = Path(images_root) if images_root is not None else Path(path).parent
    out = LabelledData([], [], [], [], [], [], [], columns)
    for row, record in enumerate(records):
        category = _category_path(record.get(label_col), path_sep)
        if not category:
            continue
        out.ids.append(_text(record.get(id_col)) if id_col else str(row + 1))
        out.titles.append(_text(record.get(title_col)))
        out.descriptions.append(_text(record.get(description_col)) if description_col else "")
        out.attributes.append({c: _text(record.get(c)) for c in attribute_cols})
        out.images.append(_image_path(record.get(image_col), root) if image_col else None)
        out.paths.append(category)
        out.rows.append(row)
    return out


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _category_path(value: object, sep: str) -> tuple[str, ...]:
    if isinstance(value, list):
        parts = [_text(v) for v in value]
    else:
        parts = _text(value).split(sep.strip() or sep) if _text(value) else []
    return tuple(p.strip() for p in parts if p.strip())


def _image_path(value: object, root: Path) -> str | None:
    text = _text(value)
    if not text:
        return None
    candidate = Path(text)
    return str(candidate if candidate.is_absolute() else root / candidate)
