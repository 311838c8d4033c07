"""manage.py export_catalog: every item's status and final category (issue 17)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Prediction
from labeling.selectors import catalog as catalog_sel
from labeling.services.catalog import catalog_export as service
from labeling.services.catalog.catalog_export import CATALOG_COLUMNS, catalog_export
from labeling.services.catalog.exports import ExportError
from tests.factories import ItemFactory
from tests.labeling import catalog_data
from tests.labeling.catalog_data import JEANS, SHIRTS, SNEAKERS, TOPWEAR, TSHIRTS, WATCHES
from tests.labeling.rules_data import make_rule


@pytest.fixture
def cat(version, tree, alice):
    return catalog_data.build(version, tree, alice)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_catalog", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_every_item_is_one_csv_row_with_its_status_and_final_category(cat):
    out, err = run()
    assert out.splitlines()[0] == ",".join(CATALOG_COLUMNS)
    rows = {r["external_id"]: r for r in csv_rows(out)}
    assert list(rows) == ["SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E", "SKU-F"]
    assert err == ""  # no progress bar when standard error is not a terminal
    m, a = str(cat.model.pk), cat.labels["A"]
    assert rows["SKU-A"] == {
        "external_id": "SKU-A", "title": "Item A", "status": "labelled",
        "category_key": a.category.key, "category_path": SHIRTS, "depth": "3", "confidence": "",
        "model_version": m, "predicted_key": a.category.key, "predicted_path": SHIRTS,
        "decided_key": "apparel/topwear", "decided_path": TOPWEAR,
        "label_id": str(a.pk), "label_author": "alice", "label_source": "review", "rule": "",
    }  # fmt: skip
    assert rows["SKU-B"] == {
        "external_id": "SKU-B", "title": "Item B", "status": "auto_accepted",
        "category_key": "apparel/topwear", "category_path": TOPWEAR, "depth": "2",
        "confidence": "0.995", "model_version": m,
        "predicted_key": "apparel/topwear/tshirts", "predicted_path": TSHIRTS,
        "decided_key": "apparel/topwear/tshirts", "decided_path": TSHIRTS,
        "label_id": "", "label_author": "", "label_source": "", "rule": "",
    }  # fmt: skip


def test_an_item_that_needs_review_shows_the_models_opinion_beside_an_empty_category(cat):
    rows = {r["external_id"]: r for r in csv_rows(run()[0])}
    c = rows["SKU-C"]
    assert (c["status"], c["category_path"], c["depth"], c["confidence"]) == (
        "needs_review", "", "", "0.4",
    )  # fmt: skip
    assert (c["predicted_path"], c["decided_path"]) == (JEANS, "")  # the model abstained


def test_items_without_a_prediction_have_empty_model_columns(cat):
    rows = {r["external_id"]: r for r in csv_rows(run()[0])}
    model_columns = ("confidence", "model_version", "predicted_path", "decided_path")
    assert rows["SKU-D"]["status"] == "needs_review"
    assert [rows["SKU-D"][c] for c in model_columns] == ["", "", "", ""]
    e = rows["SKU-E"]  # labelled by an import before any model: final all the same
    assert (e["status"], e["category_path"], e["depth"], e["label_source"]) == (
        "labelled", WATCHES, "2", "import",
    )  # fmt: skip
    assert e["label_author"] == "" and [e[c] for c in model_columns] == ["", "", "", ""]


def test_the_rule_column_names_the_rule_that_decided_the_prediction(cat, version):
    rule = make_rule(version, name="topwear by title", category=TOPWEAR)
    Prediction.objects.filter(item__external_id="SKU-B").update(rule=rule)
    rows = {r["external_id"]: r for r in csv_rows(run()[0])}
    assert [rows[s]["rule"] for s in ("SKU-B", "SKU-C", "SKU-D")] == ["topwear by title", "", ""]
    jsonl = [json.loads(line) for line in run("--format", "jsonl")[0].splitlines()]
    assert [r["rule"] for r in jsonl[1:3]] == ["topwear by title", None]


def test_status_filters_repeat_and_jsonl_keeps_types(cat):
    out, _ = run("--status", "auto_accepted", "--status", "labelled", "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["external_id"], r["status"]) for r in rows] == [
        ("SKU-A", "labelled"), ("SKU-B", "auto_accepted"), ("SKU-E", "labelled"),
        ("SKU-F", "auto_accepted"),
    ]  # fmt: skip
    assert list(rows[0]) == list(CATALOG_COLUMNS)
    f = rows[3]
    assert (f["category_path"], f["depth"], f["confidence"]) == (SNEAKERS, 3, 0.97)
    assert (f["model_version"], f["label_id"], rows[2]["confidence"]) == (cat.model.pk, None, None)


def test_needs_review_alone_and_a_file_output(cat, tmp_path):
    target = tmp_path / "catalog.csv"
    out, err = run("--status", "needs_review", "--output", target)
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["external_id"] for r in rows] == ["SKU-C", "SKU-D"]
    assert (out, err) == ("", f"Exported 2 rows to {target}.\n")


def test_a_status_follows_the_label_written_after_the_rescore(cat, tree, alice):
    from labeling.services.review.labels import label_create

    label_create(item=cat.items["B"], category=tree[TSHIRTS], author=alice, source="inline")
    b = next(r for r in csv_rows(run()[0]) if r["external_id"] == "SKU-B")
    assert (b["status"], b["category_path"], b["confidence"], b["label_source"]) == (
        "labelled", TSHIRTS, "", "inline",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--status", "auto-accepted"], "invalid choice: 'auto-accepted'"),
    ],
)
def test_a_bad_format_or_status_fails_with_a_message(cat, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_the_service_refuses_them_too(cat):
    with pytest.raises(ExportError, match="Unknown export format 'xml'"):
        catalog_export(stream=io.StringIO(), version=cat.model.taxonomy_version, fmt="xml")
    with pytest.raises(ExportError, match="Unknown status 'done'"):
        catalog_export(stream=io.StringIO(), version=cat.model.taxonomy_version, statuses=["done"])


def test_without_a_current_version_it_says_so(db):
    with pytest.raises(CommandError, match="no current taxonomy version"):
        run()


def test_an_unwritable_output_fails_with_a_message(cat, tmp_path):
    with pytest.raises(CommandError, match="No such file or directory"):
        run("--output", tmp_path / "missing" / "catalog.csv")


def test_it_streams_in_chunks_with_a_few_queries_each(
    version, tree, alice, django_assert_max_num_queries
):
    cat = catalog_data.build(version, tree, alice)
    for _ in range(40):  # 46 items: 10 chunks of 5
        catalog_data.predict(cat.model, ItemFactory(), tree[SHIRTS], 0.5)
    done = []
    stream = io.StringIO()
    # One SELECT streamed in chunks, and the categories when they first appear: none per row.
    with django_assert_max_num_queries(4):
        n = catalog_export(stream=stream, version=version, chunk_size=5, progress=done.append)
    assert n == 46 == len(stream.getvalue().splitlines()) - 1
    assert done == [5, 10, 15, 20, 25, 30, 35, 40, 45, 46]
    assert service.CHUNK_SIZE == 2000
    assert Prediction.objects.count() == 44


def test_the_statuses_are_the_models():
    assert catalog_sel.STATUSES == (
        catalog_sel.LABELLED, catalog_sel.AUTO_ACCEPTED, catalog_sel.NEEDS_REVIEW,
    ) == tuple(Prediction.Status.values)  # fmt: skip


def test_an_older_versions_predictions_are_given_in_the_current_versions_terms(av):
    # v1's model accepted G at Tshirts; v2 merged Tshirts into Shirts and renamed Jeans Denim.
    Prediction.objects.filter(item=av.items["G"]).update(
        accepted_category=av.old[TSHIRTS], accepted_confidence=0.99, status="auto_accepted"
    )
    rows = {r["external_id"]: r for r in csv_rows(run()[0])}
    g = rows["SKU-G"]
    assert (g["status"], g["category_path"], g["category_key"], g["confidence"]) == (
        "auto_accepted", SHIRTS, av.new[SHIRTS].key, "0.99",
    )  # fmt: skip
    assert g["predicted_path"] == SHIRTS
    assert (rows["SKU-C"]["status"], rows["SKU-C"]["predicted_path"]) == (
        "needs_review", "Apparel > Bottomwear > Denim",
    )  # fmt: skip
    h = rows["SKU-H"]  # relabelled on v2's new Slides after the publish
    assert (h["status"], h["category_path"], h["depth"]) == (
        "labelled", "Footwear > Shoes > Sandals > Slides", "4",
    )  # fmt: skip
    assert rows["SKU-A"]["label_author"] == "alice"  # the label carried over is still hers
