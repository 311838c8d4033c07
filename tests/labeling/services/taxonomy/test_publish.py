from __future__ import annotations

import pytest

from labeling.models import CategoryMapping, Item, Label, ModelVersion, QueueEntry, TrainingRun
from labeling.services import dispatch
from labeling.services.learning import training
from labeling.services.review.labels import label_bulk_create, label_create, label_retract
from labeling.services.taxonomy import drafts, publish_mapping, rollback
from labeling.services.taxonomy import publish as svc
from labeling.services.taxonomy.publish_mapping import TaxonomyPublishError
from tests.factories import ItemFactory
from tests.labeling.services.loop_data import clustered_items, leaves_of
from tests.labeling.taxonomy_admin_data import current_paths, keys, label_items, ledger_size

COUNTS = {
    "Apparel > Topwear > Shirts": 3,
    "Apparel > Bottomwear > Jeans": 2,
    "Footwear > Shoes > Sandals": 2,
    "Footwear > Shoes > Sneakers": 1,
    "Accessories > Watches": 4,
}


@pytest.fixture
def items(tree):
    return label_items(tree, COUNTS)


@pytest.fixture
def draft(version, items, bob):
    return drafts.draft_start(taxonomy=version.taxonomy, author=bob)


def test_the_diff_lists_each_change_with_the_labels_it_touches(draft, bob):
    drafts.category_rename(
        draft=draft, key="apparel/topwear/shirts", name="Shirts & Blouses", author=bob
    )
    drafts.category_merge(
        draft=draft,
        source_keys=["footwear/shoes/sneakers"],
        target_key="footwear/shoes/sandals",
        author=bob,
    )
    drafts.category_split(
        draft=draft, key="accessories/watches", names=["Analog", "Digital"], author=bob
    )
    drafts.category_add(draft=draft, parent_key=None, name="Beauty", author=bob)
    rows = {(r.kind, r.key): r for r in publish_mapping.draft_diff(draft=draft)}
    assert rows.keys() == {
        ("renamed", "apparel/topwear/shirts"),
        ("merged", "footwear/shoes/sneakers"),
        ("split", "accessories/watches"),
        ("added", "beauty"),
    }
    assert rows["renamed", "apparel/topwear/shirts"].labels == 3
    assert rows["merged", "footwear/shoes/sneakers"].path == "Footwear > Shoes > Sandals"
    assert rows["merged", "footwear/shoes/sneakers"].labels == 1
    assert rows["split", "accessories/watches"].detail == "into Analog, Digital"
    assert rows["split", "accessories/watches"].labels == 4


def test_publish_maps_rename_move_and_merge_directly_and_loses_nothing(draft, version, bob):
    drafts.category_rename(
        draft=draft, key="apparel/topwear/shirts", name="Shirts & Blouses", author=bob
    )
    drafts.category_move(draft=draft, key="apparel/bottomwear", parent_key="footwear", author=bob)
    drafts.category_merge(
        draft=draft,
        source_keys=["footwear/shoes/sneakers"],
        target_key="footwear/shoes/sandals",
        author=bob,
    )
    before = ledger_size()
    result = svc.taxonomy_publish(draft=draft, author=bob)
    assert (result.migrated, result.re_review, result.mappings) == (12, 0, 12)
    assert current_paths(draft) == {
        "Apparel > Topwear > Shirts & Blouses": 3,
        "Footwear > Bottomwear > Jeans": 2,
        "Footwear > Shoes > Sandals": 3,
        "Accessories > Watches": 4,
    }
    assert ledger_size() == before + 12
    assert current_paths(version) == {}


def test_migrated_labels_point_back_at_the_old_ones_which_stay(draft, version, items, bob):
    old = {item.pk: item.current_label_id for item in Item.objects.all()}
    svc.taxonomy_publish(draft=draft, author=bob)
    for item in Item.objects.select_related("current_label"):
        new = item.current_label
        assert (new.source, new.migrated_from_id, new.supersedes_id) == (
            "migration",
            old[item.pk],
            old[item.pk],
        )
        assert new.taxonomy_version == draft
    assert Label.objects.filter(taxonomy_version=version).count() == 12


def test_publish_switches_the_current_version_and_requests_a_training(draft, version, bob):
    result = svc.taxonomy_publish(draft=draft, author=bob)
    version.refresh_from_db()
    assert (version.is_current, version.status) == (False, "retired")
    assert (draft.is_current, draft.status) == (True, "published")
    run = TrainingRun.objects.get(taxonomy_version=draft)
    assert (run.trigger, run.status, result.training_run) == ("publish", "queued", run)


def test_deprecated_labels_roll_up_to_the_parent(draft, bob):
    drafts.category_deprecate(draft=draft, key="footwear/shoes/sandals", author=bob)
    before = ledger_size()
    svc.taxonomy_publish(draft=draft, author=bob)
    paths = current_paths(draft)
    assert paths["Footwear > Shoes"] == 2 and paths["Footwear > Shoes > Sneakers"] == 1
    assert sum(paths.values()) == 12 and ledger_size() == before + 12
    kind = CategoryMapping.objects.get(
        new_version=draft, old_category__key="footwear/shoes/sandals"
    ).kind
    assert kind == "deprecated"


def test_a_split_sends_exactly_its_items_to_re_review(draft, items, tree, bob):
    drafts.category_split(
        draft=draft, key="accessories/watches", names=["Analog", "Digital"], author=bob
    )
    watches = {i.pk for i in items if i.current_label.category == tree["Accessories > Watches"]}
    result = svc.taxonomy_publish(draft=draft, author=bob)
    entries = QueueEntry.objects.filter(reason="re-review")
    assert result.re_review == 4 and set(entries.values_list("item_id", flat=True)) == watches
    assert current_paths(draft)["Accessories > Watches"] == 4
    assert sum(current_paths(draft).values()) == 12


def test_re_review_ranks_the_most_uncertain_items_first(draft, items, tree, bob):
    from labeling.models import ModelVersion, Prediction

    drafts.category_split(
        draft=draft, key="accessories/watches", names=["Analog", "Digital"], author=bob
    )
    watches = [i for i in items if i.current_label.category == tree["Accessories > Watches"]]
    mv = ModelVersion.objects.create(taxonomy_version=tree["Accessories"].version, status="active")
    for item, conf in zip(watches[:2], (0.9, 0.3), strict=True):
        Prediction.objects.create(
            item=item, model_version=mv, top_category=tree["Accessories > Watches"], confidence=conf
        )
    svc.taxonomy_publish(draft=draft, author=bob)
    priority = dict(QueueEntry.objects.values_list("item_id", "priority"))
    assert priority[watches[0].pk] == pytest.approx(1.1)
    assert priority[watches[1].pk] == pytest.approx(1.7)
    assert priority[watches[2].pk] == pytest.approx(2.0)


def test_only_items_current_labels_migrate_and_retracted_items_stay_unlabelled(
    draft, version, items, bob, tree
):
    label_retract(label=items[0].current_label, author=bob)
    svc.taxonomy_publish(draft=draft, author=bob)
    items[0].refresh_from_db()
    assert items[0].current_label is None
    assert sum(current_paths(draft).values()) == 11


def test_a_draft_of_a_version_that_is_no_longer_current_cannot_be_published(draft, version, bob):
    svc.taxonomy_publish(draft=draft, author=bob)
    with pytest.raises(TaxonomyPublishError, match="only a draft can be published"):
        svc.taxonomy_publish(draft=draft, author=bob)


def test_rollback_restores_the_previous_version_and_every_label(draft, version, bob):
    drafts.category_merge(
        draft=draft,
        source_keys=["footwear/shoes/sneakers"],
        target_key="footwear/shoes/sandals",
        author=bob,
    )
    drafts.category_split(
        draft=draft, key="accessories/watches", names=["Analog", "Digital"], author=bob
    )
    before_paths, before = current_paths(version), ledger_size()
    svc.taxonomy_publish(draft=draft, author=bob)
    result = rollback.taxonomy_rollback(version=draft, author=bob)
    assert (result.retracted, result.restored, result.dropped_from_queue) == (12, 12, 4)
    assert current_paths(version) == before_paths == COUNTS
    assert ledger_size() == before + 24
    version.refresh_from_db()
    assert version.is_current and not draft.is_current and draft.status == "retired"
    assert not QueueEntry.objects.exists()


def test_rollback_is_refused_once_a_new_label_arrived(draft, version, bob, alice):
    svc.taxonomy_publish(draft=draft, author=bob)
    label_create(
        item=ItemFactory(),
        category=keys(draft)["accessories/watches"],
        author=alice,
        source="review",
    )
    with pytest.raises(TaxonomyPublishError, match="already has 1 new ledger row"):
        rollback.taxonomy_rollback(version=draft, author=bob)
    draft.refresh_from_db()
    assert draft.is_current


def test_rollback_is_refused_for_a_version_that_was_never_published_from_another(version, bob):
    with pytest.raises(TaxonomyPublishError, match="nothing to go back to"):
        rollback.taxonomy_rollback(version=version, author=bob)


# -- trainings of a rolled-back version ------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    """Tasks that would have gone to the broker, as (name, args)."""
    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(dispatch, "enqueue_now", lambda name, *args: calls.append((name, args)))
    return calls


def test_rollback_cancels_the_queued_training_of_the_rolled_back_version(draft, version, bob):
    run = svc.taxonomy_publish(draft=draft, author=bob).training_run
    result = rollback.taxonomy_rollback(version=draft, author=bob)
    run.refresh_from_db()
    assert result.cancelled_trainings == 1
    assert (run.status, run.error) == (
        "failed",
        f"cancelled: v{draft.number} was rolled back to v{version.number}",
    )
    assert training.training_run(run.pk).status == "failed"  # a late worker does nothing
    assert not ModelVersion.objects.filter(taxonomy_version=draft).exists()


def test_a_training_running_during_the_rollback_cannot_promote(small_loop, version, tree, bob):
    truth = clustered_items(leaves_of(version), per_leaf=4)
    label_bulk_create(pairs=list(truth.items()), author=None, source="import")
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    run = svc.taxonomy_publish(draft=draft, author=bob).training_run

    def roll_back_before_promotion(fraction, stage):
        if stage == "deciding":
            rollback.taxonomy_rollback(version=draft, author=bob)

    result = training.training_run(run.pk, progress=roll_back_before_promotion)
    assert (result.status, result.error.startswith("cancelled: ")) == ("failed", True)
    assert result.model_version.status == "rejected"
    assert not ModelVersion.objects.filter(taxonomy_version=draft, status="active").exists()
    version.refresh_from_db()
    assert version.is_current


def test_rollback_retires_a_promoted_model_and_rescores_with_the_previous_one(
    draft, version, bob, sent, django_capture_on_commit_callbacks
):
    old = ModelVersion.objects.create(taxonomy_version=version, status="active")
    svc.taxonomy_publish(draft=draft, author=bob)
    TrainingRun.objects.filter(taxonomy_version=draft).update(status="succeeded")
    new = ModelVersion.objects.create(taxonomy_version=draft, status="active")
    with django_capture_on_commit_callbacks(execute=True):
        result = rollback.taxonomy_rollback(version=draft, author=bob)
    new.refresh_from_db()
    old.refresh_from_db()
    assert result.cancelled_trainings == 0
    assert (new.status, old.status) == ("retired", "active")
    assert sent == [("rescore_task", (old.pk,))]
