"""Import a taxonomy file as a new TaxonomyVersion.

Formats: the Google Product Taxonomy (``id - A > B > C``), plain paths (``A > B > C``), a CSV
tree (``key,parent_key,name[,description,synonyms]`` or a ``path`` column) and a JSON tree of
``{"name", "key", "description", "synonyms", "children"}`` objects. Every parser yields
``NodeSpec`` rows; one builder checks them, adds parents a file left out, and writes one
``bulk_create`` per depth level (the Google taxonomy's 5,595 nodes take about a second).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from labeling.models import Category, Taxonomy, TaxonomyVersion
from labeling.services.errors import ServiceError
from labeling.services.storable import unstorable

FORMATS = ("auto", "google", "paths", "csv", "json")
SEPARATOR = " > "
MAX_REPORTED = 20

TAXONOMY_UNKNOWN_FORMAT = "Unknown taxonomy format {fmt!r}; expected one of {choices}."
TAXONOMY_HAS_CURRENT = (
    "The taxonomy {name!r} already has a current version (v{number}); publishing another one "
    "must migrate its labels, which this import does not do. Import it with --draft instead."
)
TAXONOMY_FILE_PROBLEMS = "The taxonomy file has {count} problem(s):\n{problems}"
TAXONOMY_EMPTY = "line {line}: the file defines no categories"
TAXONOMY_UNDECODABLE = "line {line}: not valid UTF-8 ({error})"
TAXONOMY_EMPTY_NAME = "line {line}: empty category name in {text!r}"
TAXONOMY_NAME_TOO_LONG = "line {line}: the name {name!r} is longer than 255 characters"
TAXONOMY_NAME_SEPARATOR = "line {line}: the name {name!r} contains '>', the path separator"
TAXONOMY_PATH_TOO_LONG = "line {line}: the path is longer than 1000 characters"
TAXONOMY_DUPLICATE_PATH = "line {line}: the path {path!r} already appears on line {first}"
TAXONOMY_DUPLICATE_KEY = "line {line}: the key {key!r} already appears on line {first}"
TAXONOMY_BAD_GOOGLE_LINE = "line {line}: expected '<numeric id> - A > B > C', got {text!r}"
TAXONOMY_BAD_ID = "line {line}: {id!r} is not a valid id (a positive whole number)"
TAXONOMY_CSV_COLUMNS = (
    "line 1: a CSV taxonomy needs the columns key,parent_key,name or a path column; got {columns}"
)
TAXONOMY_CSV_UNKNOWN_PARENT = "line {line}: the parent key {parent!r} is not defined in the file"
TAXONOMY_CSV_CYCLE = "line {line}: the parent keys form a cycle: {cycle}"
TAXONOMY_CSV_MISSING_KEY = "line {line}: the key is empty"
TAXONOMY_JSON_INVALID = "line {line}: invalid JSON: {error}"
TAXONOMY_JSON_NOT_LIST = "line 1: the JSON must be a list of category objects"
TAXONOMY_JSON_BAD_NODE = "node {where}: {problem}"
TAXONOMY_JSON_TOO_DEEP = "line 1: the JSON is nested too deeply"
TAXONOMY_CSV_UNREADABLE = "line {line}: unreadable CSV: {error}"
TAXONOMY_KEY_TOO_LONG = "line {line}: the key {key!r} is longer than {limit} characters"
TAXONOMY_UNSTORABLE_TEXT = "line {line}: the {field} contains {problem}, which cannot be stored"
KEY_MAX = 255


class TaxonomyImportError(ServiceError):
    """The file was refused; ``problems`` lists each one with its line number."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass
class NodeSpec:
    names: tuple[str, ...]
    line: int | str
    key: str = ""
    description: str = ""
    synonyms: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return SEPARATOR.join(self.names)


@dataclass(frozen=True)
class TaxonomyImportResult:
    version: TaxonomyVersion
    categories: int
    implied_parents: int
    max_depth: int


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if self.items:
            shown = self.items[:MAX_REPORTED]
            more = len(self.items) - len(shown)
            text = "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")
            raise TaxonomyImportError(
                TAXONOMY_FILE_PROBLEMS.format(count=len(self.items), problems=text), self.items
            )


# -- public API ------------------------------------------------------------------------------


def taxonomy_import(
    *,
    path: str | Path,
    name: str | None = None,
    fmt: str = "auto",
    publish: bool = False,
    created_by: AbstractBaseUser | None = None,
) -> TaxonomyImportResult:
    """Import ``path`` as a new version of the taxonomy ``name`` (default: the file's stem)."""
    path = Path(path)
    text = decode_text(path.read_bytes())
    return taxonomy_import_text(
        text=text,
        name=name or path.stem,
        fmt=taxonomy_format(path=path, text=text) if fmt == "auto" else fmt,
        publish=publish,
        created_by=created_by,
    )


def taxonomy_import_text(
    *,
    text: str,
    name: str,
    fmt: str,
    publish: bool = False,
    created_by: AbstractBaseUser | None = None,
) -> TaxonomyImportResult:
    """Parse ``text`` in ``fmt`` and write it as a new draft (or published, current) version."""
    if fmt not in FORMATS or fmt == "auto":
        raise TaxonomyImportError(
            TAXONOMY_UNKNOWN_FORMAT.format(fmt=fmt, choices=", ".join(FORMATS[1:]))
        )
    problems = Problems()
    specs = list(PARSERS[fmt](text, problems))
    problems.raise_if_any()
    nodes, implied = complete_tree(specs, problems)
    problems.raise_if_any()
    with transaction.atomic():
        version = _version_create(name=name, publish=publish, created_by=created_by)
        _categories_write(version, nodes)
    depth = max(len(n.names) for n in nodes)
    return TaxonomyImportResult(
        version=version, categories=len(nodes), implied_parents=implied, max_depth=depth
    )


def taxonomy_format(*, path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".json"):
        return suffix[1:]
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return "google" if re.match(r"^\s*\d+\s+-\s+\S", line) else "paths"
    return "paths"


def path_key(path: str) -> str:
    """A stable key for a category without an id: the slugs of its names, joined by '/'."""
    slug = "/".join(slugify(part, allow_unicode=True) or "_" for part in path.split(SEPARATOR))
    if len(slug) > 200 or set(slug.split("/")) == {"_"}:
        slug = slug[:180] + "-" + hashlib.sha256(path.encode()).hexdigest()[:12]
    return slug


# -- parsing ---------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TaxonomyImportError(
            TAXONOMY_UNDECODABLE.format(line=line, error=error.reason)
        ) from error


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


PARSERS = {
    "google": _parse_google,
    "paths": _parse_paths,
    "csv": _parse_csv,
    "json": _parse_json,
}


# -- checking and writing --------------------------------------------------------------------


def complete_tree(specs: list[NodeSpec], problems: Problems) -> tuple[list[NodeSpec], int]:
    """Check paths and keys, add missing parents, give keyless nodes a path slug."""
    if not specs:
        problems.add(TAXONOMY_EMPTY.format(line=1))
        return [], 0
    by_path: dict[tuple[str, ...], NodeSpec] = {}
    for spec in specs:
        _check_names(spec, problems)
        if spec.names in by_path:
            first = by_path[spec.names].line
            problems.add(
                TAXONOMY_DUPLICATE_PATH.format(line=spec.line, path=spec.path, first=first)
            )
        else:
            by_path[spec.names] = spec
    implied = 0
    for spec in list(by_path.values()):
        for depth in range(1, len(spec.names)):
            if spec.names[:depth] not in by_path:
                by_path[spec.names[:depth]] = NodeSpec(names=spec.names[:depth], line=spec.line)
                implied += 1
    nodes = sorted(by_path.values(), key=lambda n: n.names)
    _assign_keys(nodes, problems)
    return nodes, implied


def _check_text(spec: NodeSpec, problems: Problems) -> None:
    if len(spec.key) > KEY_MAX:
        problems.add(
            TAXONOMY_KEY_TOO_LONG.format(line=spec.line, key=spec.key[:40] + "…", limit=KEY_MAX)
        )
    fields = {"name": spec.path, "key": spec.key, "description": spec.description}
    fields["synonyms"] = "".join(spec.synonyms)
    for field_name, text in fields.items():
        problem = unstorable(text)
        if problem:
            problems.add(
                TAXONOMY_UNSTORABLE_TEXT.format(line=spec.line, field=field_name, problem=problem)
            )


def _check_names(spec: NodeSpec, problems: Problems) -> None:
    _check_text(spec, problems)
    with_separator = [n for n in spec.names if ">" in n]
    if with_separator:
        problems.add(TAXONOMY_NAME_SEPARATOR.format(line=spec.line, name=with_separator[0]))
    long_names = [n for n in spec.names if len(n) > 255]
    if long_names:
        problems.add(TAXONOMY_NAME_TOO_LONG.format(line=spec.line, name=long_names[0][:40] + "…"))
    elif len(spec.path) > 1000:
        problems.add(TAXONOMY_PATH_TOO_LONG.format(line=spec.line))


def _assign_keys(nodes: list[NodeSpec], problems: Problems) -> None:
    seen: dict[str, NodeSpec] = {}
    for node in (n for n in nodes if n.key):
        if node.key in seen:
            problems.add(
                TAXONOMY_DUPLICATE_KEY.format(
                    line=node.line, key=node.key, first=seen[node.key].line
                )
            )
        seen[node.key] = node
    for node in (n for n in nodes if not n.key):
        key = path_key(node.path)
        if key in seen:  # two paths with the same slug ("A & B", "A-B"): disambiguate stably
            key = f"{key[:200]}-{hashlib.sha256(node.path.encode()).hexdigest()[:8]}"
        node.key = key
        seen[key] = node


def _version_create(
    *, name: str, publish: bool, created_by: AbstractBaseUser | None
) -> TaxonomyVersion:
    taxonomy, _ = Taxonomy.objects.get_or_create(name=name)
    taxonomy = Taxonomy.objects.select_for_update().get(pk=taxonomy.pk)  # serialise numbering
    current = taxonomy.versions.filter(is_current=True).first()
    if publish and current is not None:
        raise TaxonomyImportError(TAXONOMY_HAS_CURRENT.format(name=name, number=current.number))
    number = (taxonomy.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return TaxonomyVersion.objects.create(
        taxonomy=taxonomy,
        number=number,
        status=TaxonomyVersion.Status.PUBLISHED if publish else TaxonomyVersion.Status.DRAFT,
        is_current=publish,
        published_at=timezone.now() if publish else None,
        created_by=created_by,
        notes="imported",
    )


def _categories_write(version: TaxonomyVersion, nodes: list[NodeSpec]) -> None:
    by_depth: dict[int, list[NodeSpec]] = {}
    for node in nodes:
        by_depth.setdefault(len(node.names), []).append(node)
    parents_with_children = {node.names[:-1] for node in nodes}
    ids: dict[str, int] = {}
    for depth in sorted(by_depth):
        rows = [
            Category(
                version=version,
                key=node.key,
                parent_id=ids.get(SEPARATOR.join(node.names[:-1])),
                name=node.names[-1],
                description=node.description,
                synonyms=node.synonyms,
                path=node.path,
                depth=depth,
                is_leaf=node.names not in parents_with_children,
            )
            for node in by_depth[depth]
        ]
        created = Category.objects.bulk_create(rows, batch_size=1000)
        if any(c.pk is None for c in created):  # backends that cannot return ids from a bulk insert
            created = list(Category.objects.filter(version=version, depth=depth))
        ids.update({c.path: c.pk for c in created})
