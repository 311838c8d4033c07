"""Import a catalog (CSV or JSONL) into items and, optionally, import labels into the ledger.

Rows stream through in chunks: each chunk is validated row by row (bad rows are reported
with their line number and skipped, images included), then written in one transaction with
bulk inserts and updates. A re-imported unchanged row is a no-op (same content hash); a
re-imported label equal to the item's current one writes nothing. If a chunk fails
unexpectedly it rolls back and is retried row by row, so one bad row cannot drop its
neighbours.

Every physical line is accounted for: the summary counts the lines read, and when rows and
lines differ it says why (records with quoted line breaks, blank lines). A record over
several lines whose field holds what looks like a row of its own (an unclosed quote that
swallowed the rows after it, see ``spans``) is a row error naming its first and last line.
"""

from __future__ import annotations

import csv
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from tqdm import tqdm

from labeling.models import Category, Item, Taxonomy, TaxonomyVersion
from labeling.services import dispatch
from labeling.services.catalog.imports.reader import (
    ReadStats,
    Record,
    catalog_format,
    count_lines,
    csv_header,
    read_csv,
    read_jsonl,
)
from labeling.services.catalog.imports.rows import ImportOptions, PreparedRow, RowError, RowPreparer
from labeling.services.catalog.imports.writer import ChunkCounts, chunk_write
from labeling.services.errors import ServiceError
from labeling.services.review.labels import require_current_version

__all__ = ["ImportOptions", "ImportSummary", "RowError", "CatalogImportError", "catalog_import"]

logger = logging.getLogger(__name__)

CATALOG_FILE_NOT_FOUND = "The catalog file {path} does not exist."
CATALOG_UNKNOWN_FORMAT = "Unknown catalog format {fmt!r}; expected csv or jsonl."
CATALOG_MISSING_COLUMNS = "The CSV header has no column(s) {missing}; its columns are: {columns}."
CATALOG_BAD_CHUNK_SIZE = "The chunk size must be a positive number, not {size}."
CATALOG_IMAGES_ROOT_MISSING = "The images root {path} is not a folder."
CATALOG_TAXONOMY_NOT_FOUND = "There is no taxonomy named {name!r}."
CATALOG_TAXONOMY_NO_CURRENT = (
    "The taxonomy {name!r} has no current (published) version to import labels into."
)
CATALOG_UNREADABLE_HEADER = (
    "The CSV header of {path} cannot be read ({error}); save the file as UTF-8 CSV and try again."
)
CATALOG_ROW_WRITE_FAILED = "the row could not be written: {error}"
REPORTED_ERRORS = 10  # how many bad rows the summary lists; the errors file has them all


class CatalogImportError(ServiceError):
    pass


@dataclass
class ImportSummary:
    path: Path
    rows: int = 0  # records read (one per line, unless a record has quoted line breaks)
    lines: int = 0  # physical lines read, a CSV header not counted
    multiline: int = 0  # records over several lines
    continuation_lines: int = 0  # their lines after the first
    blank_lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    labels_written: int = 0
    images: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_file: Path | None = None
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0

    def add(self, counts: ChunkCounts) -> None:
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.labels_written += counts.labels

    def report(self) -> list[str]:
        lines = [
            f"{self.path.name}: {self.rows:,} rows in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s)",
            f"  created {self.created:,}, updated {self.updated:,}, unchanged {self.unchanged:,}, "
            f"labels written {self.labels_written:,}, errors {len(self.errors):,}",
        ]
        lines += self._line_accounting()
        if self.images:
            lines.append(f"  images {self.images:,} ({self.images_per_second:,.0f} images/s)")
        for error in self.errors[:REPORTED_ERRORS]:
            lines.append(f"  {error.describe()}")
        if len(self.errors) > REPORTED_ERRORS:
            lines.append(f"  … and {len(self.errors) - REPORTED_ERRORS:,} more bad rows")
        if self.errors_file:
            lines.append(f"  errors written to {self.errors_file}")
        return lines

    def _line_accounting(self) -> list[str]:
        """Why the rows are not one per line, when they are not (nothing when they are)."""
        if self.rows == self.lines:
            return []
        out = [f"  {self.rows:,} rows on {self.lines:,} lines:"]
        if self.multiline:
            word = "record spans" if self.multiline == 1 else "records span"
            out.append(
                f"    {self.multiline:,} {word} several lines (quoted line breaks, "
                f"{self.continuation_lines:,} lines after their first)"
            )
        if self.blank_lines:
            out.append(f"    {self.blank_lines:,} blank lines skipped")
        return out


def catalog_import(*, path: str | Path, options: ImportOptions | None = None) -> ImportSummary:
    """Import ``path``; bad rows are reported in the summary (and its errors file), never fatal.

    Not one transaction on purpose: each chunk commits on its own so a 44k-row import neither
    holds one huge transaction nor loses good rows to a bad one. The progress bar goes to
    standard error, only when ``options.progress`` is on and standard error is a terminal.
    """
    options = options or ImportOptions()
    path = Path(path)
    fmt = _check_file(path, options)
    version, categories = _taxonomy(options)
    preparer = RowPreparer(
        options=options,
        categories=categories,
        version_label=str(version) if version else "",
        images_root=_images_root(path, options),
        header=csv_header(path) if fmt == "csv" else (),
    )
    summary = ImportSummary(path=path)
    started = time.perf_counter()
    stats = ReadStats()
    records = read_csv(path, stats) if fmt == "csv" else read_jsonl(path, stats)
    show = options.progress and sys.stderr.isatty()
    total = count_lines(path) - (fmt == "csv") if show else None
    with tqdm(total=total, disable=not show, file=sys.stderr, unit=" rows", mininterval=0.5) as bar:
        for chunk in _chunks(records, preparer, summary, options.chunk_size, bar):
            _chunk_import(chunk, summary, version=version, options=options)
    summary.seconds = time.perf_counter() - started
    summary.lines, summary.blank_lines = stats.lines, stats.blank
    summary.images = preparer.images_stored
    if summary.created or summary.updated:
        # Every chunk has committed: one task encodes whatever has no embedding yet.
        dispatch.enqueue_on_commit("embed_items_task")
    summary.errors.sort(key=lambda e: e.line)
    if summary.errors:
        summary.errors_file = _errors_write(path, options, summary.errors)
    return summary


def _check_file(path: Path, options: ImportOptions) -> str:
    if not path.is_file():
        raise CatalogImportError(CATALOG_FILE_NOT_FOUND.format(path=path))
    if options.chunk_size < 1:
        raise CatalogImportError(CATALOG_BAD_CHUNK_SIZE.format(size=options.chunk_size))
    fmt = catalog_format(path) if options.fmt == "auto" else options.fmt
    if fmt not in ("csv", "jsonl"):
        raise CatalogImportError(CATALOG_UNKNOWN_FORMAT.format(fmt=fmt))
    if fmt == "csv":
        try:
            header = csv_header(path)
        except csv.Error as error:  # e.g. UTF-16 ("Unicode text" from a spreadsheet)
            raise CatalogImportError(
                CATALOG_UNREADABLE_HEADER.format(path=path, error=error)
            ) from error
        wanted = [options.id_col, options.title_col, options.description_col, options.image_col]
        wanted += [options.label_col, *options.attribute_cols]
        missing = [name for name in wanted if name and name not in header]
        if missing:
            raise CatalogImportError(
                CATALOG_MISSING_COLUMNS.format(
                    missing=", ".join(missing), columns=", ".join(header)
                )
            )
    return fmt


def _taxonomy(options: ImportOptions) -> tuple[TaxonomyVersion | None, dict[str, Category]]:
    """The version labels go into, and its categories by path (only when labels are imported)."""
    if not options.label_col:
        return None, {}
    if options.taxonomy:
        taxonomy = Taxonomy.objects.filter(name=options.taxonomy).first()
        if taxonomy is None:
            raise CatalogImportError(CATALOG_TAXONOMY_NOT_FOUND.format(name=options.taxonomy))
        version = taxonomy.versions.filter(is_current=True).first()
        if version is None:
            raise CatalogImportError(CATALOG_TAXONOMY_NO_CURRENT.format(name=options.taxonomy))
    else:
        version = require_current_version()
    categories = Category.objects.filter(version=version).only(
        "id", "path", "deprecated", "version"
    )
    return version, {category.path: category for category in categories}


def _images_root(path: Path, options: ImportOptions) -> Path:
    root = options.images_root or path.parent
    if options.image_col and not root.is_dir():
        raise CatalogImportError(CATALOG_IMAGES_ROOT_MISSING.format(path=root))
    return root


def _chunks(
    records: Iterator, preparer: RowPreparer, summary: ImportSummary, size: int, bar: tqdm
) -> Iterator[list[PreparedRow]]:
    chunk: list[PreparedRow] = []
    for record in records:
        bar.update(_count(record, summary))
        row = preparer.prepare(record)
        if isinstance(row, RowError):
            summary.errors.append(row)
            continue
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _count(record: Record, summary: ImportSummary) -> int:
    """Count ``record`` in the summary; the number of lines it took (for the progress bar)."""
    summary.rows += 1
    if not record.spans_lines:
        return 1
    summary.multiline += 1
    summary.continuation_lines += record.last_line - record.line
    return record.last_line - record.line + 1


def _keep(options: ImportOptions) -> frozenset[str]:
    mapped = {
        "description": bool(options.description_col),
        "attributes": bool(options.attribute_cols),
        "image_name": bool(options.image_col),
    }
    return frozenset(name for name, is_mapped in mapped.items() if not is_mapped)


def _chunk_import(
    rows: list[PreparedRow],
    summary: ImportSummary,
    *,
    version: TaxonomyVersion | None,
    options: ImportOptions,
) -> None:
    def write(part: list[PreparedRow]) -> ChunkCounts:
        with transaction.atomic():
            return chunk_write(part, version=version, author=options.author, keep=_keep(options))

    try:
        summary.add(write(rows))
        return
    except Exception as error:  # anything: the retry below isolates the row that caused it
        if len(rows) == 1:
            summary.errors.append(_write_failed(rows[0], error))
            return
        logger.warning("chunk of %d rows failed; retrying row by row", len(rows), exc_info=True)
    for row in rows:
        try:
            summary.add(write([row]))
        except Exception as error:
            summary.errors.append(_write_failed(row, error))


def _write_failed(row: PreparedRow, error: Exception) -> RowError:
    """Report the row and remove the image file it brought, so nothing of it stays behind."""
    name = row.fields.image_name
    if row.image_is_new and name and not Item.objects.filter(image=name).exists():
        default_storage.delete(name)
    reason = CATALOG_ROW_WRITE_FAILED.format(error=error)
    return RowError(row.line, row.fields.external_id, "", reason, row.last_line)


def _errors_write(path: Path, options: ImportOptions, errors: list[RowError]) -> Path:
    """Write the errors CSV (default: beside the catalog as ``<FILE>.errors.csv``).

    When the default place is not writable (a read-only data folder), the file goes to the
    temporary folder instead: an import that succeeded must not fail on its report.
    """
    if options.errors_file:
        return _errors_csv(options.errors_file, errors)
    try:
        return _errors_csv(path.with_name(path.name + ".errors.csv"), errors)
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"{path.name}.errors.csv"
        logger.warning("cannot write the errors file beside %s; writing %s", path, fallback)
        return _errors_csv(fallback, errors)


def _errors_csv(target: Path, errors: list[RowError]) -> Path:
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "last_line", "id", "field", "reason"])
        for error in errors:
            last = max(error.last_line, error.line)
            writer.writerow([error.line, last, error.external_id, error.field, error.reason])
    return target
