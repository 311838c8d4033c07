"""Export labels as CSV or JSON lines: the current label of every item, or the whole ledger.

Rows stream from the database (``iterator(chunk_size=2000)``) straight into the output, so
exporting a million labels needs no more memory than exporting ten.

A label a taxonomy publish carried over (``Label.migrated_from``) keeps the original decision's
``author`` and ``source``: the migration is provenance, not authorship, and shows in the
``migrated_from`` column (the original label's id). Origins are looked up per chunk of rows
(``label_origins``: one query per publish crossed), never per row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, TextIO

from labeling.models import Item, Label
from labeling.selectors.label_origins import label_origins
from labeling.services.errors import ServiceError

EXPORT_FORMATS = ("csv", "jsonl")
EXPORT_UNKNOWN_FORMAT = "Unknown export format {fmt!r}; expected one of csv, jsonl."
EXPORT_NOTE_NEEDS_LEDGER = "--note searches the ledger's notes: add --ledger."
CHUNK_SIZE = 2000

# Output column → ORM lookup, in output order.
CURRENT_COLUMNS = {
    "external_id": "external_id",
    "title": "title",
    "category_key": "current_label__category__key",
    "category_path": "current_label__category__path",
    "source": "current_label__source",
    "author": "current_label__author__username",
    "created_at": "current_label__created_at",
    "taxonomy_version": "current_label__taxonomy_version__number",
    "migrated_from": "current_label__migrated_from_id",  # then the original's id
}
LEDGER_COLUMNS = {
    "label_id": "id",
    "external_id": "item__external_id",
    "kind": "kind",
    "category_key": "category__key",
    "category_path": "category__path",
    "source": "source",
    "author": "author__username",
    "created_at": "created_at",
    "taxonomy_version": "taxonomy_version__number",
    "supersedes_id": "supersedes_id",
    "retracts_id": "retracts_id",
    "migrated_from": "migrated_from_id",  # then the original's id
    "is_audit": "is_audit",
    "note": "note",
}


class ExportError(ServiceError):
    pass


def labels_current_rows() -> Iterator[dict[str, Any]]:
    """One row per item that has a current label, in item order."""
    queryset = (
        Item.objects.filter(current_label__isnull=False)
        .order_by("id")
        .values_list(*CURRENT_COLUMNS.values())
    )
    yield from _with_origins(queryset, CURRENT_COLUMNS)


def labels_ledger_rows(*, note: str | None = None) -> Iterator[dict[str, Any]]:
    """Every ledger row, retractions included, oldest first; with ``note``, only the rows
    whose note contains it (in any case)."""
    queryset = Label.objects.order_by("id")
    if note:
        queryset = queryset.filter(note__icontains=note)
    queryset = queryset.values_list(*LEDGER_COLUMNS.values())
    yield from _with_origins(queryset, LEDGER_COLUMNS)


def _with_origins(queryset: Any, columns: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The rows as dicts; a migrated label's author and source replaced by its original's,
    its ``migrated_from`` by the original's id (one lookup per chunk)."""
    values = queryset.iterator(chunk_size=CHUNK_SIZE)
    while chunk := [dict(zip(columns, row, strict=True)) for row in islice(values, CHUNK_SIZE)]:
        yield from _originals(chunk)


def _originals(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    rows = list(rows)
    origins = label_origins(ids={r["migrated_from"] for r in rows if r["migrated_from"]})
    for row in rows:
        origin = origins.get(row["migrated_from"]) if row["migrated_from"] else None
        if origin is not None:
            row.update(author=origin.author, source=origin.source, migrated_from=origin.label_id)
        yield row


def labels_export(
    *, stream: TextIO, fmt: str = "csv", ledger: bool = False, note: str | None = None
) -> int:
    """Write the current labels (or the whole ledger; with ``note``, its rows whose note
    contains that text) to ``stream``; the number of rows."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(EXPORT_UNKNOWN_FORMAT.format(fmt=fmt))
    if note and not ledger:
        raise ExportError(EXPORT_NOTE_NEEDS_LEDGER)
    columns = list(LEDGER_COLUMNS if ledger else CURRENT_COLUMNS)
    found = labels_ledger_rows(note=note) if ledger else labels_current_rows()
    rows = (_plain(row) for row in found)
    return _write_csv(stream, columns, rows) if fmt == "csv" else _write_jsonl(stream, rows)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _write_csv(stream: TextIO, columns: list[str], rows: Iterator[dict[str, Any]]) -> int:
    writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
        count += 1
    return count


def _write_jsonl(stream: TextIO, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
