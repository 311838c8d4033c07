"""The formats a taxonomy file can come in, and the problems a file is refused for.

Formats: the Google Product Taxonomy (``id - A > B > C``), plain paths (``A > B > C``), a CSV
tree (``key,parent_key,name[,description,synonyms]`` or a ``path`` column) and a JSON tree of
``{"name", "key", "description", "synonyms", "children"}`` objects. ``taxonomy_format`` sniffs
which one a file is; every parser in ``PARSERS`` yields ``NodeSpec`` rows and adds what it
cannot read to ``Problems``, so a file is refused once with every problem listed.
``imports`` checks the rows as a tree and writes them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeling.services.errors import ServiceError

FORMATS = ("auto", "google", "paths", "csv", "json")
SEPARATOR = " > "
MAX_REPORTED = 20
KEY_MAX = 255

TAXONOMY_FILE_PROBLEMS = "The taxonomy file has {count} problem(s):\n{problems}"
TAXONOMY_UNDECODABLE = "line {line}: not valid UTF-8 ({error})"
TAXONOMY_EMPTY_NAME = "line {line}: empty category name in {text!r}"
TAXONOMY_DUPLICATE_KEY = "line {line}: the key {key!r} already appears on line {first}"
TAXONOMY_BAD_GOOGLE_LINE = "line {line}: expected '<numeric id> - A > B > C', got {text!r}"
TAXONOMY_BAD_ID = "line {line}: {id!r} is not a valid id (a positive whole number)"
TAXONOMY_CSV_COLUMNS = (
    "line 1: a CSV taxonomy needs the columns key,parent_key,name or a path column; got {columns}"
)
TAXONOMY_CSV_UNKNOWN_PARENT = "line {line}: the parent key {parent!r} is not defined in the file"
TAXONOMY_CSV_CYCLE = "line {line}: the parent keys form a cycle: {cycle}"
TAXONOMY_CSV_MISSING_KEY = "line {line}: the key is empty"
TAXONOMY_CSV_UNREADABLE = "line {line}: unreadable CSV: {error}"
TAXONOMY_JSON_INVALID = "line {line}: invalid JSON: {error}"
TAXONOMY_JSON_NOT_LIST = "line 1: the JSON must be a list of category objects"
TAXONOMY_JSON_BAD_NODE = "node {where}: {problem}"
TAXONOMY_JSON_TOO_DEEP = "line 1: the JSON is nested too deeply"


class TaxonomyImportError(ServiceError):
    """The file was refused; ``problems`` lists each one with its line number."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass
class NodeSpec:
    """One category as a file gives it: its names from the root, where it was, what it says."""

    names: tuple[str, ...]
    line: int | str
    key: str = ""
    description: str = ""
    synonyms: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return SEPARATOR.join(self.names)


class Problems:
    """Every problem found in a file, so that it is refused once with all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        """Refuse the file (``TaxonomyImportError``) if anything was found, the first
        ``MAX_REPORTED`` problems in the message and all of them in ``problems``."""
        if self.items:
            shown = self.items[:MAX_REPORTED]
            more = len(self.items) - len(shown)
            text = "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")
            raise TaxonomyImportError(
                TAXONOMY_FILE_PROBLEMS.format(count=len(self.items), problems=text), self.items
            )


# -- the file as text ------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """A file's bytes as text (UTF-8, with or without a byte-order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TaxonomyImportError(
            TAXONOMY_UNDECODABLE.format(line=line, error=error.reason)
        ) from error


def taxonomy_format(*, path: Path, text: str) -> str:
    """The format of a file: its suffix for CSV and JSON, else what its first line looks like."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".json"):
        return suffix[1:]
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return "google" if re.match(r"^\s*\d+\s+-\s+\S", line) else "paths"
    return "paths"


# -- paths and the Google taxonomy -----------------------------------------------------------


def _split_path(text: str, line: int | str, problems: Problems) -> tuple[str, ...] | None:
    names = tuple(part.strip() for part in text.split(">"))
    if not all(names):
        problems.add(TAXONOMY_EMPTY_NAME.format(line=line, text=text.strip()))
        return None
    return names


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def _parse_paths(text: str, problems: Problems) -> Iterator[NodeSpec]:
    for number, line in _content_lines(text):
        names = _split_path(line, number, problems)
        if names:
            yield NodeSpec(names=names, line=number)


def _parse_google(text: str, problems: Problems) -> Iterator[NodeSpec]:
    for number, line in _content_lines(text):
        match = re.match(r"^\s*(\S+)\s+-\s+(.*)$", line)
        if not match:
            problems.add(TAXONOMY_BAD_GOOGLE_LINE.format(line=number, text=line.strip()))
            continue
        raw_id, rest = match.groups()
        if not _valid_id(raw_id):
            problems.add(TAXONOMY_BAD_ID.format(line=number, id=raw_id))
            continue
        names = _split_path(rest, number, problems)
        if names:
            yield NodeSpec(names=names, line=number, key=str(int(raw_id)))


def _valid_id(raw: str) -> bool:
    """A positive whole number that fits the key column. ASCII only: "²".isdigit() is true
    but int() refuses it (and int() refuses more than 4,300 digits)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= KEY_MAX and int(raw) > 0


# -- CSV -------------------------------------------------------------------------------------


def _synonyms(value: Any) -> list[str]:
    return [s.strip() for s in re.split(r"[|;]", value or "") if s.strip()]


def _parse_csv(text: str, problems: Problems) -> Iterator[NodeSpec]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        reader.fieldnames = columns
        rows = [(reader.line_num, row) for row in reader]  # line_num: the row's last line
    except csv.Error as error:  # a field over csv's size limit, a stray quote
        problems.add(TAXONOMY_CSV_UNREADABLE.format(line=reader.line_num + 1, error=error))
        return
    if "path" in columns:
        yield from _csv_path_rows(rows, problems)
    elif {"key", "parent_key", "name"} <= set(columns):
        yield from _csv_tree_rows(rows, problems)
    else:
        problems.add(TAXONOMY_CSV_COLUMNS.format(columns=", ".join(columns) or "none"))


def _csv_extra(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": (row.get("key") or "").strip(),
        "description": (row.get("description") or "").strip(),
        "synonyms": _synonyms(row.get("synonyms")),
    }


def _csv_path_rows(rows: list[tuple[int, dict]], problems: Problems) -> Iterator[NodeSpec]:
    for number, row in rows:
        names = _split_path(row.get("path") or "", number, problems)
        if names:
            yield NodeSpec(names=names, line=number, **_csv_extra(row))


def _csv_tree_rows(rows: list[tuple[int, dict]], problems: Problems) -> Iterator[NodeSpec]:
    by_key: dict[str, tuple[int, dict]] = {}
    for number, row in rows:
        key = (row.get("key") or "").strip()
        if not key:
            problems.add(TAXONOMY_CSV_MISSING_KEY.format(line=number))
        elif key in by_key:
            problems.add(TAXONOMY_DUPLICATE_KEY.format(line=number, key=key, first=by_key[key][0]))
        else:
            by_key[key] = (number, row)
    for key, (number, row) in by_key.items():
        names = _csv_names(key, by_key, problems)
        if names is not None:
            yield NodeSpec(names=names, line=number, **_csv_extra(row))


def _csv_names(key: str, by_key: dict, problems: Problems) -> tuple[str, ...] | None:
    """Walk the parent keys up to a root; report a cycle or an unknown parent."""
    chain: list[str] = []
    current = key
    while current:
        if current in chain:
            cycle = " → ".join([*chain[chain.index(current) :], current])
            problems.add(TAXONOMY_CSV_CYCLE.format(line=by_key[key][0], cycle=cycle))
            return None
        if current not in by_key:
            line = by_key[chain[-1]][0]
            problems.add(TAXONOMY_CSV_UNKNOWN_PARENT.format(line=line, parent=current))
            return None
        chain.append(current)
        current = (by_key[current][1].get("parent_key") or "").strip()
    names = tuple((by_key[k][1].get("name") or "").strip() for k in reversed(chain))
    if not all(names):
        problems.add(TAXONOMY_EMPTY_NAME.format(line=by_key[key][0], text=" > ".join(names)))
        return None
    return names


# -- JSON ------------------------------------------------------------------------------------


def _parse_json(text: str, problems: Problems) -> Iterator[NodeSpec]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        problems.add(TAXONOMY_JSON_INVALID.format(line=error.lineno, error=error.msg))
        return
    except RecursionError:
        problems.add(TAXONOMY_JSON_TOO_DEEP)
        return
    if isinstance(data, dict) and isinstance(data.get("children"), list):
        data = data["children"]
    if not isinstance(data, list):
        problems.add(TAXONOMY_JSON_NOT_LIST)
        return
    try:  # materialised here: a tree deep enough to exhaust the stack is one problem
        yield from list(_json_nodes(data, (), "$", problems))
    except RecursionError:
        problems.add(TAXONOMY_JSON_TOO_DEEP)


def _json_nodes(
    nodes: list, parents: tuple[str, ...], where: str, problems: Problems
) -> Iterator[NodeSpec]:
    for index, node in enumerate(nodes):
        here = f"{where}[{index}]"
        problem = _json_node_problem(node)
        if problem:
            problems.add(TAXONOMY_JSON_BAD_NODE.format(where=here, problem=problem))
            continue
        names = (*parents, node["name"].strip())
        yield NodeSpec(
            names=names,
            line=here,
            key=str(node.get("key") or "").strip(),
            description=str(node.get("description") or "").strip(),
            synonyms=[str(s).strip() for s in node.get("synonyms") or [] if str(s).strip()],
        )
        yield from _json_nodes(node.get("children") or [], names, f"{here}.children", problems)


def _json_node_problem(node: Any) -> str:
    if not isinstance(node, dict):
        return "expected an object with a name"
    if not isinstance(node.get("name"), str) or not node["name"].strip():
        return "empty category name"
    if not isinstance(node.get("children") or [], list):
        return "children must be a list"
    if not isinstance(node.get("synonyms") or [], list):
        return "synonyms must be a list"
    return ""


PARSERS: dict[str, Callable[[str, Problems], Iterator[NodeSpec]]] = {
    "google": _parse_google,
    "paths": _parse_paths,
    "csv": _parse_csv,
    "json": _parse_json,
}
