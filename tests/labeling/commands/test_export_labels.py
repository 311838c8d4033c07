from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Label
from labeling.services.review.labels import label_create, label_retract
from tests.factories import ItemFactory
from tests.labeling.migration_chain_data import two_publishes


@pytest.fixture
def labelled(tree, alice):
    a, b = ItemFactory(external_id="A"), ItemFactory(external_id="B")
    label_create(item=a, category=tree["Accessories > Watches"], author=alice, source="review")
    wrong = label_create(item=b, category=tree["Footwear > Shoes"], author=alice, source="inline")
    label_retract(label=wrong, author=alice)
    return tree


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_labels", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_writes_current_labels_as_csv_to_a_file(labelled, tmp_path):
    target = tmp_path / "labels.csv"
    out, err = run("--output", target)
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    label = Label.objects.get(item__external_id="A")
    assert [
        (r["external_id"], r["category_path"], r["source"], r["author"], r["created_at"])
        for r in rows
    ] == [("A", "Accessories > Watches", "review", "alice", label.created_at.isoformat())]
    assert (out, err) == ("", f"Exported 1 rows to {target}.\n")


def test_the_ledger_goes_to_standard_output_as_json_lines(labelled):
    out, err = run("--ledger", "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["label_id"], r["kind"]) for r in rows] == list(
        Label.objects.order_by("id").values_list("id", "kind")
    )
    assert [r["kind"] for r in rows] == ["label", "label", "retraction"]
    assert err == ""


def test_an_unwritable_output_fails_with_a_message(labelled, tmp_path):
    with pytest.raises(CommandError, match="No such file or directory"):
        run("--output", tmp_path / "missing" / "labels.csv")


def test_labels_carried_over_by_two_publishes_show_who_decided_them(version, tree, alice, bob):
    chain = two_publishes(version, tree, alice, bob)
    out, _ = run()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["external_id"], r["author"], r["source"], r["migrated_from"]) for r in rows] == [
        ("A", "alice", "review", str(chain.originals["A"].pk)),
        ("B", "", "import", str(chain.originals["B"].pk)),
        ("C", "bob", "inline", str(chain.originals["C"].pk)),
    ]
    assert "migration" not in {r["source"] for r in rows}
