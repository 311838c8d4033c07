"""labeling.services.review.queue_build.rebuild_queue: reasons by quota from the stored predictions."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from classifier.acquisition import RandomSampling, apportion
from classifier.acquisition.queue_reasons import DISAGREEMENT_FLOOR
from labeling.models import ModelVersion, Prediction, QueueEntry, TaxonomyVersion
from labeling.services.learning import ml, scoring
from labeling.services.review import queue_build, queue_settings
from labeling.services.review.labels import label_create
from tests.factories import ItemFactory, TaxonomyVersionFactory
from tests.labeling.services.loop_data import (
    TEXT_DIM,
    centres,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    item_with_text,
    leaves_of,
)
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches")


def _quotas(settings, **shares):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_QUOTAS": shares}


def test_the_queue_is_filled_by_quota_with_the_counts_returned(
    settings, version, truth, model_version
):
    scoring.rescore(model_version)
    counts = queue_build.rebuild_queue(version, size=20)
    quotas = settings.TAXOLOOP["QUEUE_QUOTAS"]
    expected = apportion(20, {r: q for r, q in quotas.items() if r != "re-review"})
    # No label contradicts the model, so re-review has nothing and its share goes elsewhere.
    assert counts["re-review"] == 0
    assert counts["audit"] == expected["audit"]
    assert sum(counts.values()) == QueueEntry.objects.count() == 20
    for reason, n in counts.items():
        assert QueueEntry.objects.filter(reason=reason, model_version=model_version).count() == n


def test_the_top_of_the_queue_already_mixes_the_reasons(version, truth, model_version):
    scoring.rescore(model_version)
    queue_build.rebuild_queue(version, size=30)
    top = list(QueueEntry.objects.order_by("-priority")[:6].values_list("reason", flat=True))
    assert len(set(top)) >= 4
    priorities = list(QueueEntry.objects.order_by("-priority").values_list("priority", flat=True))
    assert len(set(priorities)) == 30


def test_labelled_items_are_left_out(settings, alice, version, truth, model_version):
    scoring.rescore(model_version)
    labelled = list(truth.items())[:40]
    for item, leaf in labelled:
        label_create(item=item, category=leaf, author=alice, source="review")
    _quotas(settings, uncertain=0.5, audit=0.5)
    counts = queue_build.rebuild_queue(version, size=60)
    assert counts == {"uncertain": 10, "audit": 10}
    queued = set(QueueEntry.objects.values_list("item_id", flat=True))
    assert queued == {item.pk for item in list(truth)[40:]}


def test_a_confidently_contradicted_label_is_sent_for_re_review(
    settings, alice, version, tree, truth, model_version
):
    scoring.rescore(model_version)
    preds = list(Prediction.objects.order_by("item_id")[:4])
    # The queue reads the stored numbers: make the model sure (or not) about four items.
    for pred, p in zip(preds, [0.97, 0.95, 0.85, 0.99], strict=True):
        Prediction.objects.filter(pk=pred.pk).update(confidence=p)
    watches, shirts = tree["Accessories > Watches"], tree["Apparel > Topwear > Shirts"]
    contradicting = [watches if p.top_category_id != watches.pk else shirts for p in preds]
    for pred, wrong in zip(preds[:3], contradicting[:3], strict=True):
        label_create(item=pred.item, category=wrong, author=alice, source="review")
    # A label on the parent of the model's own top agrees with it.
    label_create(
        item=preds[3].item, category=preds[3].top_category.parent, author=alice, source="review"
    )
    _quotas(settings, **{"re-review": 0.5, "uncertain": 0.5})
    counts = queue_build.rebuild_queue(version, size=10)
    assert counts == {"re-review": 2, "uncertain": 8}
    entries = QueueEntry.objects.filter(reason="re-review").order_by("-priority")
    assert [e.item_id for e in entries] == [preds[0].item_id, preds[1].item_id]
    assert entries[0].detail == {
        "label": contradicting[0].pk,
        "model_says": preds[0].top_category_id,
        "p": 0.97,
    }
    labelled = {p.item_id for p in preds}
    assert not QueueEntry.objects.filter(reason="uncertain", item_id__in=labelled).exists()


def test_uncertain_items_come_lowest_margin_first_and_name_the_two_candidates(
    settings, version, truth, model_version
):
    scoring.rescore(model_version)
    _quotas(settings, uncertain=1)
    queue_build.rebuild_queue(version, size=5)
    by_margin = list(Prediction.objects.order_by("margin", "item_id"))
    allowed = {p.item_id for p in by_margin[:15]}  # DiverseBatch looks at the best 3 x n
    entries = list(QueueEntry.objects.order_by("-priority"))
    assert entries[0].item_id == by_margin[0].item_id
    for entry in entries:
        pred = Prediction.objects.get(item_id=entry.item_id)
        assert entry.item_id in allowed
        assert entry.detail == {
            "between": [c["category"] for c in pred.candidates[:2]],
            "margin": round(pred.margin, 4),
        }


def test_near_duplicates_do_not_fill_the_batch(settings, version, truth, model_version):
    c = centres(leaves_of(version), TEXT_DIM)
    vector = next(iter(c.values()))
    copies = [item_with_text(vector, f"copy {i}").pk for i in range(6)]
    scoring.rescore(model_version)
    # Make the six identical items the most uncertain of all.
    Prediction.objects.filter(item_id__in=copies).update(margin=0.0)
    _quotas(settings, uncertain=1)
    queue_build.rebuild_queue(version, size=6)
    queued = set(QueueEntry.objects.values_list("item_id", flat=True))
    assert len(queued) == 6 and len(queued & set(copies)) == 1


def test_boundary_entries_name_two_sibling_categories(settings, version, truth, model_version):
    scoring.rescore(model_version)
    _quotas(settings, boundary=1)
    counts = queue_build.rebuild_queue(version, size=8)
    assert counts == {"boundary": 8}
    vt = ml.version_tree(version)
    for entry in QueueEntry.objects.all():
        a, b = entry.detail["between"]
        na, nb = vt.node_of(a), vt.node_of(b)
        assert a != b and vt.tree.parents[na] == vt.tree.parents[nb]
        assert 0.0 <= entry.detail["margin"] <= 1.0


def test_disagreement_entries_say_what_each_modality_head_votes(
    settings, version, truth, model_version
):
    scoring.rescore(model_version)
    _quotas(settings, disagreement=1)
    queue_build.rebuild_queue(version, size=6)
    entries = list(QueueEntry.objects.order_by("-priority"))
    assert entries
    model = ml.load_model(model_version)
    vt = ml.version_tree(version)
    leaf_cats = vt.category_ids[vt.tree.leaves]
    for entry in entries:
        feats = ml.item_features([entry.item_id])
        votes = dict(
            zip(model.members_, model.predict_committee(feats).argmax(axis=2)[:, 0], strict=True)
        )
        pred = Prediction.objects.get(item_id=entry.item_id)
        assert pred.disagreement >= DISAGREEMENT_FLOOR
        assert entry.detail["text_says"] == leaf_cats[votes["text"]]
        has_image = np.isfinite(feats["image"]).all()
        assert ("image_says" in entry.detail) == bool(has_image)
        if has_image:
            assert entry.detail["image_says"] == leaf_cats[votes["image"]]


def test_an_item_far_from_every_category_is_the_first_novel_one(
    settings, version, truth, model_version
):
    outlier = item_with_text(np.full(TEXT_DIM, 30.0) * np.sign(np.arange(TEXT_DIM) % 2 - 0.5))
    scoring.rescore(model_version)
    _quotas(settings, novel=1)
    queue_build.rebuild_queue(version, size=4)
    first = QueueEntry.objects.order_by("-priority").first()
    pred = Prediction.objects.get(item=outlier)
    assert first.item_id == outlier.pk and first.reason == "novel"
    assert first.detail == {"novelty": round(pred.novelty, 4), "nearest": pred.top_category_id}


def test_the_audit_slice_is_random_and_not_censored_by_the_other_reasons(
    settings, version, truth, model_version
):
    scoring.rescore(model_version)
    ids = np.array(sorted(item.pk for item in truth))
    hardest = set(
        Prediction.objects.order_by("margin", "item_id")[:10].values_list("item_id", flat=True)
    )
    _quotas(settings, uncertain=0.5, audit=0.5)
    hits = 0
    for seed in range(10):
        queue_build.rebuild_queue(version, size=20, seed=seed)
        audit = QueueEntry.objects.filter(reason="audit")
        assert all(e.detail == {"audit": True} for e in audit)
        # A uniform draw of 10 over all 60 open items, whatever "uncertain" wants.
        expected = set(ids[RandomSampling(seed).select(None, np.arange(60), 10)].tolist())
        assert set(audit.values_list("item_id", flat=True)) == expected
        hits += len(expected & hardest)
    # The 10 items "uncertain" wants most still reach the audit slice (about 17 times in 10).
    assert hits > 0


def test_the_same_seed_gives_the_same_queue(version, truth, model_version):
    scoring.rescore(model_version)
    queue_build.rebuild_queue(version, size=15, seed=3)
    first = list(QueueEntry.objects.order_by("-priority").values_list("item_id", "reason"))
    queue_build.rebuild_queue(version, size=15, seed=3)
    again = list(QueueEntry.objects.order_by("-priority").values_list("item_id", "reason"))
    assert first == again


def test_leased_entries_are_kept_untouched_and_expired_ones_replaced(
    alice, version, truth, model_version
):
    scoring.rescore(model_version)
    items = list(truth)
    now = timezone.now()
    held = QueueEntry.objects.create(
        item=items[0],
        priority=-5.0,
        reason="novel",
        detail={"x": 1},
        lease_holder=alice,
        lease_expires_at=now + timedelta(minutes=5),
    )
    expired = QueueEntry.objects.create(
        item=items[1],
        priority=-6.0,
        reason="novel",
        lease_holder=alice,
        lease_expires_at=now - timedelta(minutes=1),
    )
    counts = queue_build.rebuild_queue(version, size=12)
    assert sum(counts.values()) == 11  # the leased entry counts toward the size
    kept = QueueEntry.objects.get(pk=held.pk)
    assert (kept.priority, kept.reason, kept.detail, kept.lease_holder) == (
        -5.0,
        "novel",
        {"x": 1},
        alice,
    )
    assert QueueEntry.objects.filter(item=items[0]).count() == 1
    assert not QueueEntry.objects.filter(pk=expired.pk).exists()


def test_without_an_active_model_the_queue_stays_as_it_is(version, truth, model_version):
    ModelVersion.objects.filter(pk=model_version.pk).update(status="retired")
    entry = QueueEntry.objects.create(item=next(iter(truth)), priority=1.0, reason="audit")
    counts = queue_build.rebuild_queue(version, size=10)
    assert set(counts.values()) == {0}
    assert list(QueueEntry.objects.all()) == [entry]


def test_predictions_of_an_older_model_are_not_queued(version, truth, model_version):
    scoring.rescore(model_version)
    ModelVersion.objects.filter(pk=model_version.pk).update(status="retired")
    fit_and_store(version, list(truth.items())[1::3])  # active, but nothing rescored yet
    counts = queue_build.rebuild_queue(version, size=10)
    assert sum(counts.values()) == 0 and not QueueEntry.objects.exists()


def test_an_unknown_reason_in_the_quotas_is_refused(settings, version, model_version):
    _quotas(settings, uncertain=0.5, hunch=0.5)
    with pytest.raises(queue_settings.QueueBuildError) as err:
        queue_build.rebuild_queue(version)
    known = [r.value for r in QueueEntry.Reason]
    assert str(err.value) == queue_settings.UNKNOWN_REASONS.format(names=["hunch"], known=known)


def test_a_negative_quota_is_refused(settings, version, model_version):
    _quotas(settings, uncertain=-1)
    with pytest.raises(queue_settings.QueueBuildError) as err:
        queue_build.rebuild_queue(version)
    assert str(err.value) == queue_settings.BAD_QUOTA.format(reason="uncertain", value=-1)


@pytest.mark.parametrize("bad", [-1, 2.5, "10"])
def test_a_bad_size_is_refused(version, model_version, bad):
    with pytest.raises(queue_settings.QueueBuildError) as err:
        queue_build.rebuild_queue(version, size=bad)
    assert str(err.value) == queue_settings.BAD_SIZE.format(value=bad)


def test_the_reason_names_are_the_queue_entry_reasons():
    names = [
        queue_build.AUDIT,
        queue_build.RE_REVIEW,
        queue_build.RULE,  # a review rule's items (issue 17)
        *queue_build.MIXED_REASONS,
    ]
    assert sorted(names) == sorted(QueueEntry.Reason.values)


def test_re_review_entries_made_by_a_taxonomy_publish_survive_a_rebuild(version):
    from labeling.models import QueueEntry
    from labeling.services.review import queue_build

    item = ItemFactory(title="split me")
    kept = QueueEntry.objects.create(
        item=item, priority=2.0, reason="re-review", detail={"publish": version.pk, "split": 1}
    )
    stale = QueueEntry.objects.create(item=ItemFactory(), priority=0.5, reason="uncertain")
    model = ModelVersion.objects.create(taxonomy_version=version, status="active")
    queue_build._replace([], model, timezone.now())
    assert list(QueueEntry.objects.all()) == [kept]
    assert not QueueEntry.objects.filter(pk=stale.pk).exists()


# -- after a taxonomy publish ---------------------------------------------------------------


def _published_from_another(version):
    """Make ``version`` look published from an earlier version of its taxonomy."""
    old = TaxonomyVersionFactory(taxonomy=version.taxonomy, is_current=False, status="retired")
    TaxonomyVersion.objects.filter(pk=version.pk).update(based_on=old)
    version.refresh_from_db()
    return old


def test_after_a_publish_novel_items_get_a_larger_share_and_lead_the_queue(
    settings, version, truth, model_version
):
    scoring.rescore(model_version)
    _quotas(settings, uncertain=0.75, novel=0.25)
    assert queue_build.rebuild_queue(version, size=20) == {"uncertain": 15, "novel": 5}
    _published_from_another(version)
    # novel: 0.25 x 3 = 0.75 against 0.75, so half the queue, all within its first third
    # (keys (i + 0.5) / 10 / 3 < 0.32, where only 3 uncertain keys (0.05, 0.15, 0.25) lie).
    assert queue_build.rebuild_queue(version, size=20) == {"uncertain": 10, "novel": 10}
    reasons = list(QueueEntry.objects.order_by("-priority").values_list("reason", flat=True))
    assert reasons[:13].count("novel") == 10 and reasons[13:] == ["uncertain"] * 7


def test_the_novel_boost_ends_once_a_second_trained_model_of_the_version_was_promoted(
    settings, version, truth, model_version
):
    scoring.rescore(model_version)
    _quotas(settings, uncertain=0.75, novel=0.25)
    _published_from_another(version)
    ModelVersion.objects.create(
        taxonomy_version=version, status="retired", config={"kind": "cold_start"}
    )
    assert queue_settings.settling_after_publish(version, model_version)
    ModelVersion.objects.create(
        taxonomy_version=version, status="retired", config={"kind": "trained"}
    )
    assert not queue_settings.settling_after_publish(version, model_version)
    assert queue_build.rebuild_queue(version, size=20) == {"uncertain": 15, "novel": 5}


def test_a_bad_novel_boost_is_refused(settings, version, model_version):
    _published_from_another(version)
    settings.TAXOLOOP = {**settings.TAXOLOOP, "NOVEL_BOOST_AFTER_PUBLISH": 0}
    with pytest.raises(queue_settings.QueueBuildError) as err:
        queue_build.rebuild_queue(version)
    assert str(err.value) == queue_settings.BAD_BOOST.format(value=0)


def test_entries_of_the_previous_version_are_replaced_and_other_taxonomies_kept(
    version, truth, model_version
):
    old_model = ModelVersion.objects.create(
        taxonomy_version=_published_from_another(version), status="active"
    )
    other_model = ModelVersion.objects.create(taxonomy_version=TaxonomyVersionFactory())
    first, second = list(truth)[:2]
    stale = QueueEntry.objects.create(
        item=first, priority=5.0, reason="uncertain", model_version=old_model
    )
    foreign = QueueEntry.objects.create(
        item=second, priority=5.0, reason="uncertain", model_version=other_model
    )
    scoring.rescore(model_version)
    queue_build.rebuild_queue(version, size=60)
    assert not QueueEntry.objects.filter(pk=stale.pk).exists()
    assert QueueEntry.objects.get(item=first).model_version == model_version
    assert QueueEntry.objects.get(item=second) == foreign
