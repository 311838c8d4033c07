"""Checks on the demo taxonomy and catalog in scripts/demo_data (plain files, no database)."""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

DEMO_DATA = Path(__file__).resolve().parents[1] / "scripts" / "demo_data"
TAXONOMY_FILE = DEMO_DATA / "taxonomy.txt"
CATALOG_FILE = DEMO_DATA / "catalog.csv"
COLUMNS = ["id", "title", "description", "brand", "color", "material", "category_path"]


def read_taxonomy() -> list[tuple[int, str]]:
    """(id, path) per node line, in file order; '#' lines are comments as in Google's file."""
    nodes = []
    for line in TAXONOMY_FILE.read_text(encoding="ascii").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        node_id, sep, path = line.partition(" - ")
        assert sep, f"not an 'ID - Path' line: {line!r}"
        nodes.append((int(node_id), path))
    return nodes


def leaves(nodes: list[tuple[int, str]]) -> set[str]:
    parents = {path.rsplit(" > ", 1)[0] for _, path in nodes if " > " in path}
    return {path for _, path in nodes if path not in parents}


def read_catalog() -> list[dict[str, str]]:
    with CATALOG_FILE.open(newline="", encoding="ascii") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def generator():
    """The generator script, loaded from its file (scripts/demo_data is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "taxoloop_demo_generate", DEMO_DATA / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_every_label_is_a_leaf_of_the_taxonomy():
    leaf_paths = leaves(read_taxonomy())
    labels = {row["category_path"] for row in read_catalog() if row["category_path"]}
    assert labels
    assert labels <= leaf_paths, sorted(labels - leaf_paths)


def test_taxonomy_ids_and_paths_are_unique():
    nodes = read_taxonomy()
    ids = [node_id for node_id, _ in nodes]
    paths = [path for _, path in nodes]
    assert len(set(ids)) == len(ids)
    assert len(set(paths)) == len(paths)


def test_every_inner_node_appears_before_its_children():
    seen: set[str] = set()
    for _, path in read_taxonomy():
        if " > " in path:
            parent = path.rsplit(" > ", 1)[0]
            assert parent in seen, f"{path!r} comes before its parent"
        seen.add(path)


def test_taxonomy_is_three_levels_deep_with_25_to_40_leaves():
    leaf_paths = leaves(read_taxonomy())
    assert 25 <= len(leaf_paths) <= 40
    assert {path.count(" > ") for path in leaf_paths} == {2}


def test_names_are_plain_ascii_without_stray_whitespace():
    for _, path in read_taxonomy():
        for name in path.split(" > "):
            assert name == name.strip() and name and name.isascii(), path
    CATALOG_FILE.read_text(encoding="ascii")  # raises on any non-ASCII byte


def test_catalog_has_400_to_600_rows_with_unique_ids():
    rows = read_catalog()
    assert 400 <= len(rows) <= 600
    ids = [row["id"] for row in rows]
    assert all(ids)
    assert len(set(ids)) == len(ids)


def test_every_row_has_a_title_description_and_brand():
    for row in read_catalog():
        assert row["title"] and row["description"] and row["brand"], row["id"]


def test_between_30_and_40_percent_of_rows_are_labelled():
    rows = read_catalog()
    share = sum(1 for row in rows if row["category_path"]) / len(rows)
    assert 0.30 <= share <= 0.40


def test_every_leaf_has_at_least_one_labelled_product():
    labelled = Counter(row["category_path"] for row in read_catalog() if row["category_path"])
    assert set(labelled) == leaves(read_taxonomy())


def test_fewer_than_5_percent_of_titles_are_duplicates():
    titles = Counter(row["title"] for row in read_catalog())
    duplicates = sum(count - 1 for count in titles.values())
    assert duplicates / sum(titles.values()) < 0.05


def test_catalog_is_under_150_kb():
    assert CATALOG_FILE.stat().st_size < 150 * 1024


def test_generator_reproduces_both_files_exactly(generator):
    assert generator.taxonomy_text() == TAXONOMY_FILE.read_text(encoding="ascii")
    assert generator.catalog_text() == CATALOG_FILE.read_text(encoding="ascii")


def test_every_leaf_has_at_least_5_products_labelled_or_not(generator):
    # Unlabelled rows carry no path in the CSV; the generator knows which leaf each was made for.
    per_leaf = Counter(
        product.true_path for _, product, _ in generator.build_products() if product.true_path
    )
    leaf_paths = leaves(read_taxonomy())
    assert set(per_leaf) == leaf_paths
    assert min(per_leaf.values()) >= 5
    assert max(per_leaf.values()) >= 40  # a long tail, not a uniform spread


def test_ambiguous_and_out_of_taxonomy_products_are_left_unlabelled(generator):
    products = generator.build_products()
    special = [(p, labelled) for _, p, labelled in products if p.kind != "regular"]
    assert sum(1 for p, _ in special if p.kind == "ambiguous") >= 10
    assert sum(1 for p, _ in special if p.kind == "novel") >= 5
    assert not any(labelled for _, labelled in special)
    titles = {row["title"] for row in read_catalog()}
    assert {p.title for p, _ in special} <= titles
