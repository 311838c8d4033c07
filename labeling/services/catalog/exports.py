"""Export labels as CSV or JSON lines: the current label of every item, or the whole ledger.

Rows stream from the database (``iterator(chunk_size=2000)``) straight into the output, so
exporting a million labels needs no more memory than exporting ten.

A label a taxonomy publish carried over (``Label.migrated_from``) keeps the original decision's
``author`` and ``source``: the migration is provenance, not authorship, and shows in the
``migrated_from`` column (the original label's id). Origins are looked up per chunk of rows
(``label_origins``: one query per publish crossed), never per row.

The ledger's last columns show overlaps (issue 16) with their provenance: ``overlap_id`` and
``overlap_status`` of the overlap a row answers or resolves, ``overlap_role`` (``answer`` for a
reviewer's blind answer, ``agreed`` for the label their agreement wrote, ``adjudicated`` for an
adjudicator's decision; empty for any other row) and ``author_reliability``, the author's
estimated accuracy (empty when there is none). Three queries per chunk, never per row.
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
from labeling.selectors.labels import ledger_overlap_links, reliability_by_username
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
    # Computed per chunk (_with_overlaps), not read from the row:
    "overlap_id": None,
    "overlap_status": None,
    "overlap_role": None,
    "author_reliability": None,
}
# A ledger row's context -> its overlap_role.
OVERLAP_ROLES = {"overlap": "answer", "agreed": "agreed", "adjudicated": "adjudicated"}


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
    read = {column: lookup for column, lookup in LEDGER_COLUMNS.items() if lookup}
    read["context"] = "context"  # for overlap_role; not a column of its own
    queryset = queryset.values_list(*read.values())
    for chunk in _chunks(queryset, read):
        yield from _with_overlaps(_originals(chunk))


def _with_origins(queryset: Any, columns: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The rows as dicts; a migrated label's author and source replaced by its original's,
    its ``migrated_from`` by the original's id (one lookup per chunk)."""
    for chunk in _chunks(queryset, columns):
        yield from _originals(chunk)


def _chunks(queryset: Any, columns: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    values = queryset.iterator(chunk_size=CHUNK_SIZE)
    while chunk := [dict(zip(columns, row, strict=True)) for row in islice(values, CHUNK_SIZE)]:
        yield chunk


def _originals(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    rows = list(rows)
    origins = label_origins(ids={r["migrated_from"] for r in rows if r["migrated_from"]})
    for row in rows:
        origin = origins.get(row["migrated_from"]) if row["migrated_from"] else None
        if origin is not None:
            row.update(author=origin.author, source=origin.source, migrated_from=origin.label_id)
        yield row


def _with_overlaps(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each row with its overlap columns, in place of its context (three queries a chunk)."""
    rows = list(rows)
    links = ledger_overlap_links(label_ids=[row["label_id"] for row in rows])
    accuracy = reliability_by_username(usernames={r["author"] for r in rows if r["author"]})
    for row in rows:
        overlap_id, overlap_status = links.get(row["label_id"], (None, None))
        row.update(
            overlap_id=overlap_id,
            overlap_status=overlap_status,
            overlap_role=OVERLAP_ROLES.get(row.pop("context")),
            author_reliability=accuracy.get(row["author"]) if row["author"] else None,
        )
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
