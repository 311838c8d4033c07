"""The model across taxonomy versions: a published version's first model warm-starts from the
model of the version it was published from, with sources read from the publish's mapping."""

from __future__ import annotations

import pytest

from labeling.models import Category, ModelVersion
from labeling.services.learning import ml
from labeling.services.learning import training as svc
from labeling.services.learning import warm_start as training_warm_start
from labeling.services.review import labels as label_svc
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.labeling.conftest import small_models_settings
from tests.labeling.services.loop_data import clustered_items, leaves_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop", "sent")]

SANDALS, SNEAKERS = "footwear/shoes/sandals", "footwear/shoes/sneakers"
WATCHES = "accessories/watches"
ANALOG, DIGITAL = f"{WATCHES}/analog", f"{WATCHES}/digital"
# By hand: the merge target takes both old leaves, each split child the old watches leaf,
# the added category none; every other leaf is its own old key (left out of the record).
EXPECTED_RECORD = {
    SANDALS: [SANDALS, SNEAKERS],
    ANALOG: [WATCHES],
    DIGITAL: [WATCHES],
    "beauty": [],
}


@pytest.fixture
def truth(tree, version):
    """60 clustered items with correct labels on the old version, every 4th through audit."""
    items = clustered_items(leaves_of(version), 10, seed=0)
    for i, (item, leaf) in enumerate(items.items()):
        label_svc.label_create(
            item=item, category=leaf, author=None, source="review", is_audit=i % 4 == 0
        )
    return items


@pytest.fixture
def old_model(version, truth):
    run = svc.training_request(version, trigger="manual", enqueue=False)
    return svc.training_run(run.pk).model_version


@pytest.fixture
def published(version, old_model, bob):
    """v2: sneakers merged into sandals, watches split in two, a new top-level category."""
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_merge(draft=draft, source_keys=[SNEAKERS], target_key=SANDALS, author=bob)
    drafts.category_split(draft=draft, key=WATCHES, names=["Analog", "Digital"], author=bob)
    drafts.category_add(draft=draft, parent_key=None, name="Beauty", author=bob)
    return taxonomy_publish(draft=draft, author=bob)


def test_the_sources_map_follows_the_merge_the_split_and_the_added_category(published, old_model):
    new = ml.version_tree(published.version).tree
    sources = training_warm_start.warm_start_sources(
        published.version, new, ml.load_model(old_model).tree
    )
    identity = {k: [k] for k in ("apparel/topwear/shirts", "apparel/topwear/tshirts")}
    assert sources == {
        **identity,
        "apparel/bottomwear/jeans": ["apparel/bottomwear/jeans"],
        **EXPECTED_RECORD,
    }


def test_the_first_training_of_a_published_version_is_warm_started_and_says_so(
    published, old_model, version
):
    run = svc.training_run(published.training_run.pk)
    model = run.model_version
    assert model.status == "active" and model.taxonomy_version == published.version
    assert model.config["warm_start"] == {
        "model": old_model.pk,
        "taxonomy_version": version.pk,
        "sources": EXPECTED_RECORD,
    }
    assert model.metrics["warm_start"] == {
        "model": old_model.pk,
        "taxonomy_version": version.pk,
        "inherited": 6,
        "cold": 1,
    }
    assert run.outcome.endswith(svc.WARM_STARTED.format(pk=old_model.pk))
    assert ml.load_model(model).warm_started_


def test_a_second_training_of_the_version_starts_from_its_own_data(published):
    svc.training_run(published.training_run.pk)
    again = svc.training_run(
        svc.training_request(published.version, trigger="manual", enqueue=False).pk
    )
    assert "warm_start" not in again.model_version.config
    assert again.model_version.metrics["warm_start"] is None
    assert not ml.load_model(again.model_version).warm_started_


def test_with_too_few_labels_the_cold_start_carries_the_old_model_over(
    settings, published, truth, old_model
):
    small_models_settings(settings, MIN_LABELS_TO_TRAIN=1000)
    run = svc.training_run(published.training_run.pk)
    cold = ml.active_model_version(published.version)
    assert cold.config["kind"] == "cold_start" and run.model_version is None
    assert cold.config["warm_start"]["sources"] == EXPECTED_RECORD
    # Before any label on v2, items land where the publish mapped their old category:
    # sneakers on sandals, watches on one of its new children.
    vt = ml.version_tree(published.version)
    proba = ml.load_model(cold).predict_proba(ml.item_features([i.pk for i in truth]))
    predicted = vt.tree.leaves[proba.argmax(axis=1)]
    new_key = {SNEAKERS: SANDALS}
    expected = [vt.tree.index_of(new_key.get(leaf.key, leaf.key)) for leaf in truth.values()]
    under = vt.tree.ancestors[expected, predicted]
    assert under.mean() >= 0.95  # 1.0 here; 0.12 when the same run starts without it


def test_a_predecessor_with_only_a_cold_start_model_gives_no_warm_start(version, truth, bob):
    svc.cold_start_model(version)
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_merge(draft=draft, source_keys=[SNEAKERS], target_key=SANDALS, author=bob)
    result = taxonomy_publish(draft=draft, author=bob)
    model = svc.training_run(result.training_run.pk).model_version
    assert "warm_start" not in model.config and model.metrics["warm_start"] is None


def test_a_predecessor_model_that_does_not_fit_is_logged_and_the_run_trains_cold(
    monkeypatch, published, caplog
):
    def broken(model_version: ModelVersion) -> None:
        raise ValueError("unreadable artifact")

    monkeypatch.setattr(training_warm_start, "load_model", broken)
    run = svc.training_run(published.training_run.pk)
    assert run.status == "succeeded" and run.model_version.status == "active"
    assert run.model_version.metrics["warm_start"] is None
    assert "cannot warm-start" in caplog.text


def test_deprecated_leaves_start_cold(version, old_model, bob):
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_deprecate(draft=draft, key=SNEAKERS, author=bob)
    result = taxonomy_publish(draft=draft, author=bob)
    new = ml.version_tree(result.version).tree
    sources = training_warm_start.warm_start_sources(
        result.version, new, ml.load_model(old_model).tree
    )
    assert sources[SNEAKERS] == [] and sources[SANDALS] == [SANDALS]
    # Still a leaf of the new tree (old labels name it), but retired: no head is carried over.
    assert new.is_leaf(new.index_of(SNEAKERS))
    assert Category.objects.get(version=result.version, key=SNEAKERS).deprecated


def test_once_the_new_model_has_scored_the_catalog_it_ranks_the_split_re_review(published):
    from labeling.models import QueueEntry
    from labeling.services.learning.scoring import rescore
    from labeling.services.review.queue_build import rebuild_queue

    model = svc.training_run(published.training_run.pk).model_version
    entries = QueueEntry.objects.filter(reason="re-review", detail__publish=published.version.pk)
    assert entries.count() == published.re_review > 0
    rescore(model)
    rebuild_queue(published.version)
    ranked = list(entries.values_list("priority", "detail"))
    assert len(ranked) == published.re_review
    for priority, detail in ranked:
        assert detail["ranked_by_model"] == model.pk
        assert priority == pytest.approx(2.0 - detail["child_margin"], abs=1e-4)
