"""labeling.services.learning.scoring.rescore: one prediction per item, chunk by chunk."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.models import ModelVersion, Prediction
from labeling.services.learning import ml, prediction_writes, scoring
from tests.factories import CategoryFactory, ItemFactory, TaxonomyVersionFactory
from tests.labeling.services.loop_data import (
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
)
from tests.labeling.services.scoring_data import fit_and_store, leaf_proba

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches")


@pytest.fixture
def truth(tree, version):
    """Six leaves, eight clustered items each; every item has a text embedding."""
    return clustered_items(leaves_of(version), 8, seed=1)


@pytest.fixture
def model_version(version, truth):
    return fit_and_store(version, list(truth.items())[::2])


def test_rescore_stores_the_models_top_k_for_every_embedded_item(version, truth, model_version):
    bare = ItemFactory(title="never encoded")
    assert scoring.rescore(model_version) == len(truth)
    items = list(truth)
    proba = leaf_proba(model_version, items)
    vt = ml.version_tree(version)
    leaf_cats = vt.category_ids[vt.tree.leaves]
    preds = {p.item_id: p for p in Prediction.objects.all()}
    assert bare.pk not in preds and len(preds) == len(truth)
    for item, row in zip(items, proba, strict=True):
        pred = preds[item.pk]
        order = np.argsort(-row, kind="stable")
        assert pred.model_version_id == model_version.pk
        assert pred.top_category_id == leaf_cats[order[0]]
        assert [c["category"] for c in pred.candidates] == list(leaf_cats[order[:5]])
        assert pred.confidence == pytest.approx(row[order[0]], abs=1e-5)
        assert pred.margin == pytest.approx(row[order[0]] - row[order[1]], abs=1e-5)
        assert pred.entropy == pytest.approx(-(row * np.log(row)).sum(), abs=1e-4)


def test_rescore_predicts_the_right_leaf_for_most_clustered_items(truth, model_version):
    scoring.rescore(model_version)
    right = sum(
        Prediction.objects.get(item=i).top_category_id == leaf.pk for i, leaf in truth.items()
    )
    assert right / len(truth) >= 0.9


def test_the_decided_category_is_the_models_roll_up_or_abstain(version, truth, model_version):
    scoring.rescore(model_version)
    items = list(truth)
    model = ml.load_model(model_version)
    decided = model.decide(leaf_proba(model_version, items))
    cats = ml.version_tree(version).category_ids
    for item, node in zip(items, decided, strict=True):
        expected = int(cats[node]) if node >= 0 else None
        assert Prediction.objects.get(item=item).decided_category_id == expected


def test_rescore_stores_committee_disagreement_and_novelty(truth, model_version):
    scoring.rescore(model_version)
    items = list(truth)
    model = ml.load_model(model_version)
    novelty = model.novelty(ml.item_features([i.pk for i in items]))
    for item, expected in zip(items, novelty, strict=True):
        pred = Prediction.objects.get(item=item)
        assert pred.novelty == pytest.approx(float(expected), abs=1e-5)
        assert pred.disagreement >= 0.0
    # Items with text and image embeddings have three heads that can disagree.
    assert Prediction.objects.filter(disagreement__gt=0).exists()


def test_a_new_model_records_the_old_top_only_where_the_top_changed(
    version, tree, truth, model_version
):
    scoring.rescore(model_version)
    before = dict(Prediction.objects.values_list("item_id", "top_category_id"))
    # A model trained on wrong labels (all "Watches") moves most tops.
    watches = tree["Accessories > Watches"]
    shirts = tree["Apparel > Topwear > Shirts"]
    wrong = [(i, watches if n % 3 else shirts) for n, i in enumerate(truth)]
    newer = fit_and_store(version, wrong, status=ModelVersion.Status.CANDIDATE)
    scoring.rescore(newer)
    moved = 0
    for pred in Prediction.objects.all():
        assert pred.model_version_id == newer.pk
        if pred.top_category_id != before[pred.item_id]:
            moved += 1
            assert pred.previous_top_category_id == before[pred.item_id]
        else:
            assert pred.previous_top_category_id is None
    assert moved > len(truth) // 2


def test_an_unchanged_top_keeps_the_previous_top_of_the_last_change(truth, model_version, tree):
    scoring.rescore(model_version)
    item = next(iter(truth))
    pred = Prediction.objects.get(item=item)
    pred.previous_top_category = tree["Apparel > Bottomwear > Jeans"]
    pred.save()
    scoring.rescore(model_version)
    pred.refresh_from_db()
    assert pred.previous_top_category_id == tree["Apparel > Bottomwear > Jeans"].pk


def test_rescore_reports_progress_after_each_chunk(truth, model_version):
    calls: list[tuple[int, int]] = []
    scoring.rescore(model_version, chunk_size=20, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(20, 48), (40, 48), (48, 48)]


def test_a_crash_mid_rescore_leaves_each_item_with_a_whole_old_or_new_prediction(
    version, truth, model_version, monkeypatch
):
    scoring.rescore(model_version)
    old = {p.item_id: p.confidence for p in Prediction.objects.all()}
    newer = fit_and_store(
        version, list(truth.items())[1::2], status=ModelVersion.Status.CANDIDATE, seed=7
    )
    real = prediction_writes._write_chunk
    calls = {"n": 0}

    def killed_after_writing_the_second_chunk(*args):
        real(*args)  # the rows are written inside the chunk's transaction ...
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")  # ... which dies before it commits

    monkeypatch.setattr(prediction_writes, "_write_chunk", killed_after_writing_the_second_chunk)
    with pytest.raises(RuntimeError, match="worker killed"):
        scoring.rescore(newer, chunk_size=20)
    # Chunk 1 (20 items) is new; chunk 2 was written and rolled back.
    new_conf = leaf_proba(newer, list(truth)).max(axis=1)
    ids = [i.pk for i in truth]
    for pos, pred in enumerate(Prediction.objects.order_by("item_id")):
        if pos < 20:
            assert pred.model_version_id == newer.pk
            assert pred.confidence == pytest.approx(new_conf[ids.index(pred.item_id)], abs=1e-5)
        else:
            assert pred.model_version_id == model_version.pk
            assert pred.confidence == old[pred.item_id]


def test_rescore_refuses_a_model_trained_on_another_tree(version, truth, model_version):
    other = TaxonomyVersionFactory(is_current=False, taxonomy=version.taxonomy)
    CategoryFactory(version=other, name="Only")
    stray = ModelVersion.objects.create(
        taxonomy_version=other, artifact=model_version.artifact.name
    )
    with pytest.raises(scoring.ScoringError) as err:
        scoring.rescore(stray)
    assert str(err.value) == scoring.TREE_MISMATCH.format(
        pk=stray.pk, version=other.pk, model_nodes=12, version_nodes=1
    )
    assert not Prediction.objects.exists()


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_rescore_refuses_a_chunk_size_that_is_not_a_positive_integer(model_version, bad):
    with pytest.raises(scoring.ScoringError) as err:
        scoring.rescore(model_version, chunk_size=bad)
    assert str(err.value) == scoring.BAD_CHUNK_SIZE.format(value=bad)


def test_rescore_of_a_model_without_artifact_says_so(version, tree):
    mv = ModelVersion.objects.create(taxonomy_version=version)
    with pytest.raises(ml.MLError) as err:
        scoring.rescore(mv)
    assert str(err.value) == ml.NO_ARTIFACT.format(pk=mv.pk, status="training")


def test_rescore_of_given_items_scores_only_those(truth, model_version):
    some = [item.pk for item in list(truth)[:5]]
    assert scoring.rescore(model_version, item_ids=some + some[:2], chunk_size=2) == 5
    assert sorted(Prediction.objects.values_list("item_id", flat=True)) == sorted(some)
