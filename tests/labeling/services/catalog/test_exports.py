from __future__ import annotations

import csv
import io
import json

import pytest

from labeling.models import Label
from labeling.services.catalog import exports as svc
from labeling.services.review.labels import label_create, label_retract
from tests.factories import ItemFactory
from tests.labeling.migration_chain_data import two_publishes

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
WATCHES = "Accessories > Watches"


@pytest.fixture
def ledger(tree, alice, bob):
    """A: relabelled (review, then inline); B: imported without author; C: labelled then
    retracted (no current label); D: never labelled."""
    a, b, c, _ = (ItemFactory(external_id=x, title=f"Title {x}") for x in "ABCD")
    label_create(item=a, category=tree[SHIRTS], author=alice, source="review")
    label_create(item=a, category=tree[TSHIRTS], author=bob, source="inline")
    label_create(item=b, category=tree[WATCHES], author=None, source="import")
    wrong = label_create(item=c, category=tree[SHIRTS], author=alice, source="review")
    label_retract(label=wrong, author=alice, note="misclick")
    return tree


def export(fmt, ledger=False):
    stream = io.StringIO()
    count = svc.labels_export(stream=stream, fmt=fmt, ledger=ledger)
    text = stream.getvalue()
    if fmt == "csv":
        return count, list(csv.DictReader(io.StringIO(text)))
    return count, [json.loads(line) for line in text.splitlines()]


def current_expected(label, blank=""):
    return {
        "external_id": label.item.external_id,
        "title": label.item.title,
        "category_key": label.category.key,
        "category_path": label.category.path,
        "source": label.source,
        "author": label.author.username if label.author else blank,
        "created_at": label.created_at.isoformat(),
        "taxonomy_version": label.taxonomy_version.number,
        "migrated_from": blank,
    }


def current_labels():
    return [
        label
        for label in Label.objects.order_by("item_id")
        if label.item.current_label_id == label.pk
    ]


def test_the_csv_export_has_each_current_label_with_its_full_path(ledger):
    count, rows = export("csv")
    expected = [
        {**current_expected(label), "taxonomy_version": str(label.taxonomy_version.number)}
        for label in current_labels()
    ]
    assert rows == expected
    assert count == 2
    assert [(r["external_id"], r["category_path"], r["source"], r["author"]) for r in rows] == [
        ("A", TSHIRTS, "inline", "bob"),
        ("B", WATCHES, "import", ""),
    ]


def test_the_jsonl_export_has_the_same_rows_with_nulls_kept(ledger):
    count, rows = export("jsonl")
    assert rows == [current_expected(label, blank=None) for label in current_labels()]
    assert count == 2


def test_the_ledger_export_has_every_row_retractions_included(ledger):
    count, rows = export("jsonl", ledger=True)
    labels = list(Label.objects.order_by("id"))
    assert count == len(labels) == 5
    assert [row["label_id"] for row in rows] == [label.pk for label in labels]
    retraction = rows[-1]
    assert (retraction["kind"], retraction["retracts_id"], retraction["category_path"]) == (
        "retraction",
        labels[3].pk,
        None,
    )
    assert (retraction["external_id"], retraction["author"], retraction["note"]) == (
        "C",
        "alice",
        "misclick",
    )
    assert rows[1]["supersedes_id"] == labels[0].pk
    assert [row["created_at"] for row in rows] == [label.created_at.isoformat() for label in labels]


def test_the_ledger_csv_leaves_missing_values_blank(ledger):
    count, rows = export("csv", ledger=True)
    assert count == 5
    assert list(rows[0]) == list(svc.LEDGER_COLUMNS)
    assert (rows[-1]["kind"], rows[-1]["category_key"], rows[-1]["supersedes_id"]) == (
        "retraction",
        "",
        "",
    )
    assert (rows[2]["author"], rows[2]["category_path"], rows[2]["is_audit"]) == (
        "",
        WATCHES,
        "False",
    )


def test_an_empty_database_exports_only_the_header(db):
    count, rows = export("csv")
    assert (count, rows) == (0, [])


def test_an_unknown_format_is_refused(db):
    with pytest.raises(
        svc.ExportError, match=r"Unknown export format 'xml'; expected one of csv, jsonl\."
    ):
        svc.labels_export(stream=io.StringIO(), fmt="xml")


# -- labels carried over by taxonomy publishes ------------------------------------------------


def test_migrated_current_labels_keep_their_original_author_and_source(version, tree, alice, bob):
    chain = two_publishes(version, tree, alice, bob)
    count, rows = export("csv")
    assert count == 3
    assert {r["taxonomy_version"] for r in rows} == {str(chain.v3.number)}
    assert [(r["external_id"], r["source"], r["author"], r["migrated_from"]) for r in rows] == [
        ("A", "review", "alice", str(chain.originals["A"].pk)),
        ("B", "import", "", str(chain.originals["B"].pk)),
        ("C", "inline", "bob", str(chain.originals["C"].pk)),
    ]
    assert rows[0]["category_path"] == "Apparel > Topwear > Blouses"


def test_the_ledger_shows_each_migration_row_with_the_decision_it_carries(
    version, tree, alice, bob
):
    chain = two_publishes(version, tree, alice, bob)
    _, rows = export("jsonl", ledger=True)
    by_id = {row["label_id"]: row for row in rows}
    a_rows = [row for row in rows if row["external_id"] == "A"]
    assert [(r["source"], r["author"], r["migrated_from"]) for r in a_rows] == [
        ("review", "alice", None),  # the decision itself
        ("review", "alice", chain.originals["A"].pk),  # carried into v2
        ("review", "alice", chain.originals["A"].pk),  # and into v3
    ]
    assert by_id[chain.current["C"].pk]["migrated_from"] == chain.originals["C"].pk
    assert by_id[chain.current["B"].pk]["author"] is None


def test_origins_cost_one_query_per_publish_not_per_row(
    version, tree, alice, bob, django_assert_num_queries
):
    two_publishes(version, tree, alice, bob)
    # one for the rows, then the chains: v3 row -> v2 row -> the original
    with django_assert_num_queries(3):
        export("csv")
