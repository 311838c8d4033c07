"""Import a taxonomy file as a new TaxonomyVersion.

The file is read by one of the parsers in ``import_formats``; the ``NodeSpec`` rows they yield
are checked here as a tree (duplicate paths and keys, names and paths too long, text no column
can hold), parents a file left out are added, keyless nodes get a key from their path, and the
tree is written with one ``bulk_create`` per depth level (the Google taxonomy's 5,595 nodes
take about a second).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from labeling.models import Category, Taxonomy, TaxonomyVersion
from labeling.services.storable import unstorable
from labeling.services.taxonomy.import_formats import (
    FORMATS,
    KEY_MAX,
    PARSERS,
    SEPARATOR,
    TAXONOMY_DUPLICATE_KEY,
    NodeSpec,
    Problems,
    TaxonomyImportError,
    decode_text,
    taxonomy_format,
)

TAXONOMY_UNKNOWN_FORMAT = "Unknown taxonomy format {fmt!r}; expected one of {choices}."
TAXONOMY_HAS_CURRENT = (
    "The taxonomy {name!r} already has a current version (v{number}); publishing another one "
    "must migrate its labels, which this import does not do. Import it with --draft instead."
)
TAXONOMY_EMPTY = "line {line}: the file defines no categories"
TAXONOMY_NAME_TOO_LONG = "line {line}: the name {name!r} is longer than 255 characters"
TAXONOMY_NAME_SEPARATOR = "line {line}: the name {name!r} contains '>', the path separator"
TAXONOMY_PATH_TOO_LONG = "line {line}: the path is longer than 1000 characters"
TAXONOMY_DUPLICATE_PATH = "line {line}: the path {path!r} already appears on line {first}"
TAXONOMY_KEY_TOO_LONG = "line {line}: the key {key!r} is longer than {limit} characters"
TAXONOMY_UNSTORABLE_TEXT = "line {line}: the {field} contains {problem}, which cannot be stored"


@dataclass(frozen=True)
class TaxonomyImportResult:
    version: TaxonomyVersion
    categories: int
    implied_parents: int
    max_depth: int


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
    nodes, implied = tree_from_text(text=text, fmt=fmt)
    with transaction.atomic():
        version = _version_create(name=name, publish=publish, created_by=created_by)
        _categories_write(version, nodes)
    depth = max(len(n.names) for n in nodes)
    return TaxonomyImportResult(
        version=version, categories=len(nodes), implied_parents=implied, max_depth=depth
    )


def tree_from_text(*, text: str, fmt: str) -> tuple[list[NodeSpec], int]:
    """The checked, complete tree of a file in ``fmt``: (every node, sorted by names, with a
    key; how many parents the file left out). Refuses the file (``TaxonomyImportError``)
    with every problem the parser or the tree check found."""
    problems = Problems()
    specs = list(PARSERS[fmt](text, problems))
    problems.raise_if_any()
    nodes, implied = complete_tree(specs, problems)
    problems.raise_if_any()
    return nodes, implied


def path_key(path: str) -> str:
    """A stable key for a category without an id: the slugs of its names, joined by '/'."""
    slug = "/".join(slugify(part, allow_unicode=True) or "_" for part in path.split(SEPARATOR))
    if len(slug) > 200 or set(slug.split("/")) == {"_"}:
        slug = slug[:180] + "-" + hashlib.sha256(path.encode()).hexdigest()[:12]
    return slug


# -- checking --------------------------------------------------------------------------------


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


# -- writing ---------------------------------------------------------------------------------


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
