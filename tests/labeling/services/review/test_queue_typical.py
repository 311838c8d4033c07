"""The queue's typical reason: coverage of unlabelled regions, its share, its settings."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.acquisition import apportion
from labeling.models import Prediction, QueueEntry
from labeling.selectors.review_reason import reason_in_words
from labeling.services.learning import scoring
from labeling.services.review import queue_build, queue_settings
from labeling.services.review.labels import label_create
from tests.labeling.services.loop_data import (
    TEXT_DIM,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    item_with_text,
)

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches")


@pytest.fixture
def one_label_per_leaf(alice, version, truth):
    """The first item of each leaf labelled: every leaf's region is covered."""
    firsts = {}
    for item, leaf in truth.items():
        firsts.setdefault(leaf.pk, (item, leaf))
    for item, leaf in firsts.values():
        label_create(item=item, category=leaf, author=alice, source="review")
    return firsts


def _settings(settings, share, **quotas):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_QUOTAS": quotas, "QUEUE_TYPICAL": share}


def test_the_first_typical_pick_is_the_centre_of_the_largest_unlabelled_region(
    settings, version, one_label_per_leaf, model_version
):
    direction = np.where(np.arange(TEXT_DIM) % 2, 10.0, -10.0)
    rng = np.random.default_rng(0)
    centre = item_with_text(direction, title="new kind 0")
    for i in range(1, 12):  # 12 items in a region far from every leaf, none labelled
        item_with_text(direction + rng.normal(scale=0.3, size=TEXT_DIM), title=f"new kind {i}")
    scoring.rescore(model_version)
    _settings(settings, 1.0, uncertain=1.0)  # the whole ranked part goes to typical

    counts = queue_build.rebuild_queue(version, size=1)

    entry = QueueEntry.objects.get()
    # 6 labels + 1 wanted = 7 regions: the 6 leaves (each holding its label) and the new one.
    assert counts["typical"] == 1
    assert entry.reason == "typical" and entry.item_id == centre.pk
    assert entry.detail == {"region": 12}
    assert reason_in_words("typical", entry.detail) == (
        "typical of about 12 similar items no one has labelled yet"
    )


def test_auto_gives_typical_the_models_expected_error_of_the_ranked_part(
    settings, version, one_label_per_leaf, model_version
):
    scoring.rescore(model_version)
    _settings(settings, "auto", uncertain=0.8, audit=0.2)
    labelled = {item.pk for item, _ in one_label_per_leaf.values()}
    # The stored confidences are what the rebuild reads: unlabelled items right 60 % of the
    # time by the model's own account (a labelled item's does not count).
    Prediction.objects.exclude(item_id__in=labelled).update(confidence=0.6)
    Prediction.objects.filter(item_id__in=labelled).update(confidence=0.01)
    share = 0.4

    counts = queue_build.rebuild_queue(version, size=20)

    expected = apportion(20, {"uncertain": 0.8 * (1 - share), "audit": 0.2, "typical": 0.8 * share})
    assert 0 < expected["typical"] < 20
    assert counts == {"uncertain": expected["uncertain"], "audit": expected["audit"],
                      "typical": expected["typical"]}  # fmt: skip
    typical = QueueEntry.objects.filter(reason="typical")
    assert typical.count() == expected["typical"]
    assert not typical.filter(item_id__in=labelled).exists()
    assert all(e.detail["region"] >= 1 for e in typical)


def test_a_share_of_zero_turns_typical_off(settings, version, one_label_per_leaf, model_version):
    scoring.rescore(model_version)
    _settings(settings, 0, uncertain=1.0)

    counts = queue_build.rebuild_queue(version, size=10)

    assert counts == {"uncertain": 10}
    assert not QueueEntry.objects.filter(reason="typical").exists()


@pytest.mark.parametrize("bad", ["often", 1.5, -0.1, True, None])
def test_a_bad_typical_share_is_refused(settings, version, bad):
    _settings(settings, bad, uncertain=1.0)
    with pytest.raises(queue_settings.QueueBuildError) as err:
        queue_build.rebuild_queue(version)
    assert str(err.value) == queue_settings.BAD_TYPICAL.format(value=bad)


def test_typical_in_the_quotas_is_refused_with_the_setting_to_use(settings, version):
    _settings(settings, "auto", uncertain=0.5, typical=0.5)
    with pytest.raises(queue_settings.QueueBuildError) as err:
        queue_build.rebuild_queue(version)
    assert str(err.value) == queue_settings.TYPICAL_IN_QUOTAS
    assert "QUEUE_TYPICAL" in str(err.value)
