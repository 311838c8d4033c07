"""``manage.py rescore``: predictions for every item, then a fresh queue."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Prediction, QueueEntry
from labeling.services.review.labels import label_create
from tests.labeling.services.loop_data import (
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
)
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches")


def _call(*args):
    out, err = StringIO(), StringIO()
    call_command("rescore", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_rescore_scores_every_item_and_rebuilds_the_queue(settings, alice, tree, version, capsys):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_SIZE": 12}
    truth = clustered_items(leaves_of(version), 5)
    model = fit_and_store(version, truth.items())
    first = next(iter(truth))
    label_create(item=first, category=truth[first], author=alice, source="review")
    out, _ = _call("--chunk-size", "7")
    assert Prediction.objects.filter(model_version=model).count() == 30
    assert f"model #{model.pk}: 30 predictions written" in out
    assert "queue: 12 new entries (uncertain" in out
    assert QueueEntry.objects.count() == 12
    assert not QueueEntry.objects.filter(item=first).exclude(reason="re-review").exists()
    assert "30/30" in capsys.readouterr().err  # the progress bar reached the end
    # Certified first (no audit label yet: nothing certified), and the catalog counted after.
    assert "auto-accept at precision 0.99: 0 of 1 units certified on 0 audit labels" in out
    assert "catalog: 1 labelled, 0 auto-accepted, 29 need review" in out
    assert model.__class__.objects.get(pk=model.pk).metrics["auto_accept"]["n_audit"] == 0


def test_rescore_says_when_auto_accept_is_off(tree, version):
    version.target_precision = None
    version.save(update_fields=["target_precision"])
    truth = clustered_items(leaves_of(version), 2)
    fit_and_store(version, truth.items())
    out, _ = _call("--no-queue", "--quiet")
    assert "auto-accept: off" in out


def test_rescore_without_the_queue_leaves_it_alone(tree, version):
    truth = clustered_items(leaves_of(version), 2)
    fit_and_store(version, truth.items())
    out, _ = _call("--no-queue", "--quiet")
    assert "12 predictions written" in out and "queue" not in out
    assert not QueueEntry.objects.exists()


def test_rescore_without_an_active_model_says_to_train_first(tree, version):
    with pytest.raises(CommandError, match="has no active model yet: run `manage.py train`"):
        _call("--quiet")


def test_rescore_refuses_a_bad_chunk_size_and_an_unknown_taxonomy(tree, version):
    with pytest.raises(CommandError, match="--chunk-size must be at least 1"):
        _call("--chunk-size", "0")
    with pytest.raises(CommandError, match="There is no current version of taxonomy 'Nope'"):
        _call("--taxonomy", "Nope")
