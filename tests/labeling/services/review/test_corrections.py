"""Report corrections (services.review.corrections): the rows they write, who may undo them,
the one bulk path, and the one shape of ``prediction_shown`` shared with the review card."""

from __future__ import annotations

import re

import pytest

from labeling.models import Item, Label, Prediction
from labeling.selectors.report_pairs import item_ledger
from labeling.services.learning import triggers
from labeling.services.review import corrections, decisions, leases
from labeling.services.review.labels import label_create
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, candidates_of, make_queue

SHOWN_KEYS = {"candidates", "model_version", "top_category", "confidence", "reason", "detail"}


@pytest.fixture
def entries(version, tree):
    """Three queued items, each predicted Shirts (0.55) by the active model."""
    return make_queue(version, tree, n=3)


def correct(user, item, category, version, report="catalog"):
    return corrections.correction_save(
        author=user, item_id=item.pk, category_id=str(category.pk), report=report, version=version
    )


def test_an_inline_correction_writes_one_inline_label_and_makes_it_current(
    alice, version, tree, entries
):
    item = entries[0].item
    label = correct(alice, item, tree[JEANS], version, report="low-confidence")
    row = Label.objects.get()
    assert (row.pk, row.item_id, row.category, row.author) == (
        label.pk,
        item.pk,
        tree[JEANS],
        alice,
    )
    assert (row.source, row.context, row.kind) == ("inline", "low-confidence", "label")
    assert row.model_version_id == entries[0].model_version_id
    assert Item.objects.get(pk=item.pk).current_label == row
    assert Prediction.objects.get(item=item).label_disagrees is True


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", corrections.CATEGORY_MISSING),
        ("abc", corrections.CATEGORY_UNKNOWN.format(pk="abc")),
        ("999999", corrections.CATEGORY_UNKNOWN.format(pk="999999")),
    ],
)
def test_a_missing_or_unknown_category_is_refused_and_nothing_saved(
    alice, version, entries, raw, message
):
    with pytest.raises(corrections.CorrectionError, match=re.escape(message)):
        corrections.correction_save(
            author=alice,
            item_id=entries[0].item_id,
            category_id=raw,
            report="catalog",
            version=version,
        )
    assert not Label.objects.exists()


def test_an_unknown_item_is_refused(alice, version, tree):
    with pytest.raises(corrections.CorrectionError) as error:
        corrections.correction_save(
            author=alice,
            item_id=10**9,
            category_id=tree[JEANS].pk,
            report="catalog",
            version=version,
        )
    assert str(error.value) == corrections.ITEM_UNKNOWN.format(pk=10**9)


def test_the_author_undoes_their_correction_and_the_item_is_unlabelled(
    alice, version, tree, entries
):
    label = correct(alice, entries[0].item, tree[JEANS], version)
    assert corrections.correction_undo(author=alice, label_ids=[label.pk]) == 1
    retraction = Label.objects.get(kind="retraction")
    assert (retraction.retracts, retraction.author, retraction.source) == (label, alice, "inline")
    assert retraction.note == corrections.UNDO_NOTE
    assert Item.objects.get(pk=entries[0].item_id).current_label is None


def test_nobody_undoes_someone_elses_label(alice, bob, version, tree, entries):
    label = correct(bob, entries[0].item, tree[JEANS], version)
    with pytest.raises(corrections.CorrectionError) as error:
        corrections.correction_undo(author=alice, label_ids=[label.pk])
    assert str(error.value) == corrections.NOT_YOURS.format(pk=label.pk)
    assert not Label.objects.filter(kind="retraction").exists()
    assert Item.objects.get(pk=entries[0].item_id).current_label == label


def test_one_foreign_label_refuses_the_whole_undo(alice, bob, version, tree, entries):
    own = correct(alice, entries[0].item, tree[JEANS], version)
    other = correct(bob, entries[1].item, tree[JEANS], version)
    with pytest.raises(corrections.CorrectionError):
        corrections.correction_undo(author=alice, label_ids=[own.pk, other.pk])
    assert not Label.objects.filter(kind="retraction").exists()


def test_undo_without_labels_is_refused(alice):
    with pytest.raises(corrections.CorrectionError, match=re.escape(corrections.NOTHING_TO_UNDO)):
        corrections.correction_undo(author=alice, label_ids=[])


def test_bulk_writes_one_label_per_item_through_one_bulk_insert(
    alice, version, tree, entries, monkeypatch, django_capture_on_commit_callbacks
):
    before = correct(alice, entries[0].item, tree[TSHIRTS], version)
    bulk_calls, loop = [], []
    real = corrections.label_bulk_create
    monkeypatch.setattr(
        corrections, "label_bulk_create", lambda **kw: bulk_calls.append(kw) or real(**kw)
    )
    monkeypatch.setattr(corrections, "label_create", None)  # a per-item write would fail
    monkeypatch.setattr(triggers, "labels_added", lambda version: loop.append(version.pk))
    ids = [entries[2].item_id, entries[0].item_id, entries[0].item_id]
    with django_capture_on_commit_callbacks(execute=True):
        labels = corrections.correction_bulk_save(
            author=alice,
            item_ids=ids,
            category_id=tree[JEANS].pk,
            report="catalog",
            version=version,
        )
    assert len(bulk_calls) == 1 and loop == [version.pk]
    rows = list(Label.objects.filter(source="bulk").order_by("item_id"))
    assert labels == rows and [r.item_id for r in rows] == sorted(set(ids))
    for row in rows:
        assert (row.category, row.author, row.context) == (tree[JEANS], alice, "catalog")
        assert row.model_version_id == entries[0].model_version_id
        assert set(row.prediction_shown) == SHOWN_KEYS
        assert Item.objects.get(pk=row.item_id).current_label == row
    assert rows[0].supersedes == before and rows[1].supersedes is None
    assert set(Prediction.objects.filter(label_disagrees=True).values_list("item", flat=True)) == {
        r.item_id for r in rows
    }


def test_bulk_with_an_unknown_item_or_no_rows_saves_nothing(alice, version, tree, entries):
    with pytest.raises(corrections.CorrectionError) as error:
        corrections.correction_bulk_save(
            author=alice,
            item_ids=[entries[0].item_id, 10**9],
            category_id=tree[JEANS].pk,
            report="catalog",
            version=version,
        )
    assert str(error.value) == corrections.ITEM_UNKNOWN.format(pk=10**9)
    with pytest.raises(corrections.CorrectionError) as error:
        corrections.correction_bulk_save(
            author=alice,
            item_ids=[],
            category_id=tree[JEANS].pk,
            report="catalog",
            version=version,
        )
    assert str(error.value) == corrections.NO_ROWS_SELECTED
    assert not Label.objects.exists()


def test_review_and_corrections_record_the_prediction_in_one_shape(alice, version, tree, entries):
    entry = leases.review_lease(reviewer=alice, count=1)[0]
    reviewed = decisions.review_decide(
        reviewer=alice, shown=decisions.ShownCard.of(entry), category=tree[TSHIRTS]
    ).label.prediction_shown
    other = next(e for e in entries if e.pk != entry.pk)
    corrected = correct(alice, other.item, tree[TSHIRTS], version).prediction_shown
    bulk = corrections.correction_bulk_save(
        author=alice,
        item_ids=[entries[2].item_id],
        category_id=tree[JEANS].pk,
        report="catalog",
        version=version,
    )[0].prediction_shown
    assert set(reviewed) == set(corrected) == set(bulk) == SHOWN_KEYS
    same = {k: reviewed[k] for k in ("candidates", "model_version", "top_category", "confidence")}
    assert same == {
        "candidates": candidates_of(tree),
        "model_version": entry.model_version_id,
        "top_category": tree[SHIRTS].pk,
        "confidence": 0.55,
    }
    assert {k: corrected[k] for k in same} == {k: bulk[k] for k in same} == same
    assert (reviewed["reason"], corrected["reason"], corrected["detail"]) == ("uncertain", "", {})


def test_the_ledger_reads_the_shown_top_of_rows_in_the_old_shapes(alice, tree, entries):
    old_review = {"candidates": candidates_of(tree), "model_version": 1, "reason": "uncertain"}
    old_report = {"candidates": candidates_of(tree), "top_category": tree[SHIRTS].pk}
    item = entries[0].item
    for shown in (old_review, old_report, {}):
        label_create(
            item=item, category=tree[JEANS], author=alice, source="inline", prediction_shown=shown
        )
    ledger = item_ledger(item_id=item.pk)
    assert ledger is not None
    assert [line.shown_top for line in ledger.lines] == [tree[SHIRTS], tree[SHIRTS], None]
