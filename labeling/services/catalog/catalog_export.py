"""Export the catalog's final categories (issue 17) as CSV or JSON lines: every item with its
status, its final category (path, key, depth), the confidence of that decision, the model that
scored it, the model's own opinion, and who labelled it.

What the status and the final category of an item are, and how older models' categories are
mapped, is ``labeling.selectors.catalog``. Columns:

- ``status``: ``labelled``, ``auto_accepted`` or ``needs_review``; an item the model has not
  scored yet is ``labelled`` when it has a label, else ``needs_review`` (model columns empty);
- ``category_key``, ``category_path``, ``depth``: the final category (the label's, or the node
  the certified policy accepted the prediction at, possibly an inner node); empty while the
  item needs review;
- ``confidence``: the accepted node's probability for an auto-accepted item, the model's
  confidence in its top category for one that needs review, empty for a labelled one (a person
  decided; the model's view is still in the ``predicted_*`` columns);
- ``model_version``, ``predicted_key``/``predicted_path`` (the model's top leaf),
  ``decided_key``/``decided_path`` (its roll-up decision, empty when it abstained);
- ``label_id``, ``label_author``, ``label_source``: the current label (only ever a decision
  in force: an overlap's blind answers never are an item's current label); a label a publish
  carried over shows the original decision's author and source, as ``export_labels`` does;
- ``rule``: the name of the rule that decided the prediction (an assign rule that accepted it,
  or a review rule that sent it to people), empty when none did.

Rows stream from the database in chunks (a few queries per chunk, none per row), so a million
items take the memory of one chunk.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from labeling.models import TaxonomyVersion
from labeling.selectors.catalog import CHUNK_SIZE, STATUSES, CatalogRow, CategoryRef, catalog_rows
from labeling.services.catalog.exports import EXPORT_FORMATS, EXPORT_UNKNOWN_FORMAT, ExportError

CATALOG_UNKNOWN_STATUS = (
    "Unknown status {status!r}; expected labelled, auto_accepted or needs_review."
)
CATALOG_COLUMNS = (
    "external_id",
    "title",
    "status",
    "category_key",
    "category_path",
    "depth",
    "confidence",
    "model_version",
    "predicted_key",
    "predicted_path",
    "decided_key",
    "decided_path",
    "label_id",
    "label_author",
    "label_source",
    "rule",
)


def catalog_export(
    *,
    stream: TextIO,
    version: TaxonomyVersion,
    fmt: str = "csv",
    statuses: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Write every item of the catalog (only ``statuses``, when given) in ``version``'s terms
    to ``stream``; the number of rows. ``progress(rows so far)`` after each chunk."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(EXPORT_UNKNOWN_FORMAT.format(fmt=fmt))
    statuses = list(statuses)
    for status in statuses:
        if status not in STATUSES:
            raise ExportError(CATALOG_UNKNOWN_STATUS.format(status=status))
    write = _csv_writer(stream) if fmt == "csv" else _jsonl_writer(stream)
    count = 0
    for chunk in catalog_rows(version=version, statuses=statuses, chunk_size=chunk_size):
        for row in chunk:
            write(catalog_export_row(row))
        count += len(chunk)
        if progress is not None:
            progress(count)
    return count


def catalog_export_row(row: CatalogRow) -> dict[str, Any]:
    """One row as the export's columns (None where a value is absent)."""
    label = row.label
    return {
        "external_id": row.external_id,
        "title": row.title,
        "status": row.status,
        **_category("category", row.category),
        "depth": row.depth,
        "confidence": row.confidence,
        "model_version": row.model_version,
        **_category("predicted", row.predicted),
        **_category("decided", row.decided),
        "label_id": label.id if label else None,
        "label_author": label.author if label else None,
        "label_source": label.source if label else None,
        "rule": row.rule,
    }


def _category(prefix: str, ref: CategoryRef | None) -> dict[str, Any]:
    return {f"{prefix}_key": ref.key if ref else None, f"{prefix}_path": ref.path if ref else None}


def _csv_writer(stream: TextIO) -> Callable[[dict[str, Any]], None]:
    writer = csv.DictWriter(stream, fieldnames=CATALOG_COLUMNS, lineterminator="\n")
    writer.writeheader()  # also for an empty catalog: a reader still finds the columns

    def write(row: dict[str, Any]) -> None:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})

    return write


def _jsonl_writer(stream: TextIO) -> Callable[[dict[str, Any]], None]:
    def write(row: dict[str, Any]) -> None:
        stream.write(json.dumps(row, ensure_ascii=False) + "\n")

    return write
