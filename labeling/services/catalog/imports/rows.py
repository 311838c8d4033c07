"""Turn one read record into a validated row ready to write, or the reason it was refused.

A row is checked completely (text fields, duplicate id, category path, image) before
anything of it is written; only then is its image stored (content-addressed, so a re-import
or a later retry reuses the file). A full media disk refuses the row with the message that
says where to free space; nothing of the row is written and no partial file stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from labeling.models import Category
from labeling.services.catalog.imports.reader import Record
from labeling.services.catalog.imports.spans import SpanCheck
from labeling.services.catalog.item_fields import ItemError, ItemFields, item_fields_clean
from labeling.services.catalog.item_images import image_save_reporting_new, image_validate
from labeling.services.catalog.media_files import MediaDiskFull

ROW_DUPLICATE_ID = "the id {external_id!r} already appeared on line {first}"
ROW_UNKNOWN_CATEGORY = "unknown category path {path!r} in {version}"
ROW_DEPRECATED_CATEGORY = "the category {path!r} is deprecated"
ROW_IMAGE_OUTSIDE_ROOT = "the image path {path!r} is outside the images root"
ROW_IMAGE_MISSING = "the image file {path!r} does not exist"
ROW_IMAGE_NOT_FILE = "the image path {path!r} is not a regular file"
ROW_IMAGE_UNREADABLE = "the image file {path!r} cannot be read: {error}"
ROW_IMAGE_TOO_LARGE = "the image file {path!r} is too large: {size:,} bytes (limit {limit:,})"
ROW_VALUE_NOT_TEXT = "expected text, got {kind}"
ROW_TITLE_LINE_BREAK = (
    "a title is one line, but this one has a line break (a quoted line break in CSV, \\n in JSON)"
)


@dataclass(frozen=True)
class ImportOptions:
    """How the columns of a catalog file map onto items and labels."""

    id_col: str = "id"
    title_col: str = "title"
    description_col: str = ""
    attribute_cols: tuple[str, ...] = ()
    image_col: str = ""
    images_root: Path | None = None
    label_col: str = ""
    path_sep: str = " > "
    source: str = "import"
    taxonomy: str = ""
    author: Any = None
    chunk_size: int = 1000
    progress: bool = True
    errors_file: Path | None = None
    fmt: str = "auto"


@dataclass(frozen=True)
class RowError:
    line: int
    external_id: str
    field: str
    reason: str
    last_line: int = 0  # a record over several lines: its last one (0: one line)

    @property
    def lines(self) -> str:
        """``"3"``, or ``"3–5"`` for a record over several physical lines."""
        return f"{self.line}–{self.last_line}" if self.last_line > self.line else str(self.line)

    def describe(self) -> str:
        """One line for the summary: where, which id, which column, why."""
        where = ("lines " if self.last_line > self.line else "line ") + self.lines
        where += f" (id {self.external_id})" if self.external_id else ""
        return f"{where}: " + (f"{self.field}: " if self.field else "") + self.reason


@dataclass
class PreparedRow:
    line: int
    fields: ItemFields
    last_line: int = 0
    category: Category | None = None
    # True when this row's image file was written by this import (not reused): if the row
    # then fails to reach the database, the file is removed again.
    image_is_new: bool = False


class _Refused(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


class RowPreparer:
    """Validates records one by one; remembers ids seen so far to refuse duplicates."""

    def __init__(
        self,
        *,
        options: ImportOptions,
        categories: dict[str, Category],
        version_label: str,
        images_root: Path,
        header: Sequence[str] = (),
    ) -> None:
        self.options = options
        self.spans = SpanCheck(header=header, id_col=options.id_col)
        self.categories = categories
        self.version_label = version_label
        self.images_root = images_root.resolve()
        self.seen: dict[str, int] = {}
        self.images_stored = 0
        split_on = options.path_sep.strip() or options.path_sep
        self._split_on = split_on

    def prepare(self, record: Record) -> PreparedRow | RowError:
        data = record.data or {}
        external_id = str(_as_id(data.get(self.options.id_col)))
        swallowed = self.spans.check(record)
        if record.error or swallowed:
            column, reason = swallowed or ("", record.error)
            return RowError(record.line, external_id, column, reason, record.last_line)
        try:
            row = self._prepare(record.line, data)
        except _Refused as refused:
            return RowError(
                record.line, external_id, refused.column, refused.reason, record.last_line
            )
        row.last_line = record.last_line
        return row

    def _prepare(self, line: int, data: dict[str, Any]) -> PreparedRow:
        fields = self._fields(data)
        if "\n" in fields.title or "\r" in fields.title:
            raise _Refused(self.options.title_col, ROW_TITLE_LINE_BREAK)
        first = self.seen.get(fields.external_id)
        if first is not None:
            message = ROW_DUPLICATE_ID.format(external_id=fields.external_id, first=first)
            raise _Refused(self.options.id_col, message)
        category = self._category(data)
        image_name, image_is_new = self._image(data)
        self.seen[fields.external_id] = line
        if image_name:
            fields = ItemFields(**{**fields.__dict__, "image_name": image_name})
        return PreparedRow(line=line, fields=fields, category=category, image_is_new=image_is_new)

    def _fields(self, data: dict[str, Any]) -> ItemFields:
        options = self.options
        columns = {"external_id": options.id_col, "title": options.title_col}
        columns["description"] = options.description_col
        try:
            return item_fields_clean(
                external_id=_as_id(data.get(options.id_col)),
                title=data.get(options.title_col),
                description=data.get(options.description_col, "")
                if options.description_col
                else "",
                attributes=self._attributes(data),
                source=options.source,
            )
        except ItemError as error:
            raise _Refused(columns.get(error.field, error.field), str(error)) from error

    def _attributes(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            name: data[name]
            for name in self.options.attribute_cols
            if data.get(name) is not None and data.get(name) != ""
        }

    def _category(self, data: dict[str, Any]) -> Category | None:
        column = self.options.label_col
        raw = data.get(column) if column else None
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise _Refused(column, ROW_VALUE_NOT_TEXT.format(kind=type(raw).__name__))
        path = " > ".join(part.strip() for part in raw.split(self._split_on))
        category = self.categories.get(path)
        if category is None:
            raise _Refused(
                column, ROW_UNKNOWN_CATEGORY.format(path=path, version=self.version_label)
            )
        if category.deprecated:
            raise _Refused(column, ROW_DEPRECATED_CATEGORY.format(path=path))
        return category

    def _image(self, data: dict[str, Any]) -> tuple[str, bool]:
        """The stored image's name ('' for none) and whether this call wrote the file."""
        column = self.options.image_col
        raw = data.get(column) if column else None
        if raw is None or raw == "":
            return "", False
        if not isinstance(raw, str):
            raise _Refused(column, ROW_VALUE_NOT_TEXT.format(kind=type(raw).__name__))
        image_data = self._image_bytes(column, raw.strip())
        try:
            image_format = image_validate(data=image_data, filename_hint=raw.strip())
        except ItemError as error:
            raise _Refused(column, str(error)) from error
        try:
            stored = image_save_reporting_new(data=image_data, image_format=image_format)
        except MediaDiskFull as error:  # this row only; rows without images still import
            raise _Refused(column, str(error)) from error
        self.images_stored += 1
        return stored

    def _image_bytes(self, column: str, text: str) -> bytes:
        # resolve() follows symlinks and "..", so what is checked is where the bytes really are.
        try:
            full = (self.images_root / text).resolve()
        except (OSError, ValueError) as error:  # a NUL byte, a path too long for the OS
            raise _Refused(column, ROW_IMAGE_UNREADABLE.format(path=text, error=error)) from error
        if not full.is_relative_to(self.images_root):
            raise _Refused(column, ROW_IMAGE_OUTSIDE_ROOT.format(path=text))
        limit = settings.TAXOLOOP["MAX_IMAGE_BYTES"]
        try:
            size = full.stat().st_size
            if not full.is_file():
                raise _Refused(column, ROW_IMAGE_NOT_FILE.format(path=text))
            if size > limit:
                raise _Refused(
                    column, ROW_IMAGE_TOO_LARGE.format(path=text, size=size, limit=limit)
                )
            return full.read_bytes()
        except FileNotFoundError as error:
            raise _Refused(column, ROW_IMAGE_MISSING.format(path=text)) from error
        except OSError as error:
            reason = ROW_IMAGE_UNREADABLE.format(path=text, error=error.strerror or error)
            raise _Refused(column, reason) from error


def _as_id(value: Any) -> Any:
    """JSON lines may carry numeric ids; CSV ids are already text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if value is not None else ""
