"""The queue's re-review: suspected label errors once a version is scanned, the in-sample rule
before, and a publish's split entries left as they are (issue 17)."""

from __future__ import annotations

import pytest

from labeling.models import (
    Item,
    LabelErrorScan,
    Prediction,
    QueueEntry,
    SuspectedLabelError,
)
from labeling.services.learning import scoring
from labeling.services.review import queue_build
from labeling.services.review.labels import label_create
from labeling.services.review.queue_re_review import suspected_detail
from tests.labeling.services.loop_data import (
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
)

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches", "one_torch_thread")
WATCHES = "Accessories > Watches"
SHIRTS = "Apparel > Topwear > Shirts"


@pytest.fixture
def scored(settings, alice, tree, truth, model_version):
    """The pool scored, six items labelled with their true leaf, quotas re-review + uncertain."""
    scoring.rescore(model_version)
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_QUOTAS": {"re-review": 0.5, "uncertain": 0.5}}
    labelled = list(truth.items())[:6]
    for item, leaf in labelled:
        label_create(item=item, category=leaf, author=alice, source="review")
    return [Item.objects.get(pk=item.pk) for item, _ in labelled]


def flag(version, item, suggested, *, rank, p_given=0.05, p_suggested=0.9):
    """A stored suspicion of ``item``'s current label (one scan per version)."""
    scan = LabelErrorScan.objects.filter(taxonomy_version=version).first()
    scan = scan or LabelErrorScan.objects.create(taxonomy_version=version, label_count=6)
    label = item.current_label
    return SuspectedLabelError.objects.create(
        scan=scan,
        taxonomy_version=version,
        item=item,
        label=label,
        given=label.category,
        suggested=suggested,
        p_given=p_given,
        p_suggested=p_suggested,
        score=p_given,
        rank=rank,
    )


def re_review():
    return list(QueueEntry.objects.filter(reason="re-review").order_by("-priority"))


def test_suspected_label_errors_go_to_re_review_most_suspect_first(version, tree, scored):
    first = flag(version, scored[1], tree[WATCHES], rank=0, p_given=0.04, p_suggested=0.81)
    flag(version, scored[0], tree[SHIRTS], rank=1, p_given=0.2)
    counts = queue_build.rebuild_queue(version, size=10)
    assert counts["re-review"] == 2
    entries = re_review()
    assert [e.item_id for e in entries] == [scored[1].pk, scored[0].pk]
    assert entries[0].detail == {
        "suspected": True,
        "label": first.given_id,
        "suggested": tree[WATCHES].pk,
        "p_given": 0.04,
        "p_suggested": 0.81,
    }


def test_the_quota_still_caps_the_suspects(version, tree, scored):
    for rank, item in enumerate(scored):
        flag(version, item, tree[WATCHES], rank=rank)
    counts = queue_build.rebuild_queue(version, size=4)
    assert counts == {"re-review": 2, "uncertain": 2}
    assert [e.item_id for e in re_review()] == [scored[0].pk, scored[1].pk]


def test_a_relabelled_item_is_no_longer_suspected(alice, version, tree, scored):
    flag(version, scored[0], tree[WATCHES], rank=0)
    label_create(item=scored[0], category=tree[WATCHES], author=alice, source="review")
    assert queue_build.rebuild_queue(version, size=10)["re-review"] == 0


def test_a_scan_that_flagged_nothing_sends_no_contradicted_label(
    alice, version, tree, scored, settings
):
    pred = Prediction.objects.get(item=scored[0])
    Prediction.objects.filter(pk=pred.pk).update(confidence=0.99)
    wrong = tree[WATCHES] if pred.top_category_id != tree[WATCHES].pk else tree[SHIRTS]
    label_create(item=scored[0], category=wrong, author=alice, source="review")
    assert queue_build.rebuild_queue(version, size=10)["re-review"] == 1  # the fallback rule
    assert re_review()[0].detail["model_says"] == pred.top_category_id
    LabelErrorScan.objects.create(taxonomy_version=version, label_count=6)
    assert queue_build.rebuild_queue(version, size=10)["re-review"] == 0


def test_a_publish_split_entry_keeps_its_place_and_detail(version, tree, scored):
    flag(version, scored[0], tree[WATCHES], rank=0)
    flag(version, scored[1], tree[WATCHES], rank=1)
    split = {"publish": version.pk, "split": tree[SHIRTS].pk}
    QueueEntry.objects.create(item=scored[0], reason="re-review", priority=1.5, detail=split)
    queue_build.rebuild_queue(version, size=10)
    kept = QueueEntry.objects.get(item=scored[0])
    assert kept.detail.items() >= split.items() and "suspected" not in kept.detail
    assert QueueEntry.objects.get(item=scored[1]).detail == suspected_detail(
        given=scored[1].current_label.category_id,
        suggested=tree[WATCHES].pk,
        p_given=0.05,
        p_suggested=0.9,
    )
