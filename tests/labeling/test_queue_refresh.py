"""The debounced queue refresh (labeling/services/review/queue_refresh.py): items scored one by one
share one delayed rebuild; beat sends a lost refresh again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling import tasks
from labeling.models import Prediction, QueueEntry, TaxonomyVersion
from labeling.services import dispatch
from labeling.services.review import queue_build, queue_candidates, queue_refresh
from tests.factories import TaxonomyVersionFactory
from tests.labeling.services.loop_data import clustered_items, leaves_of
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]


@pytest.fixture
def truth(tree, version):
    """Six leaves, four clustered items each, not scored yet."""
    return clustered_items(leaves_of(version), 4, seed=3)


@pytest.fixture
def model(version, truth):
    return fit_and_store(version, list(truth.items())[::2])


@pytest.fixture
def new_items(truth):
    return list(truth)[1::2]


@pytest.fixture
def sent(monkeypatch):
    """Tasks sent through dispatch, as (name, args, countdown), recorded instead of sent."""
    calls: list[tuple[str, tuple, float | None]] = []

    def record(name, *args, countdown=None):
        calls.append((name, args, countdown))
        return True

    monkeypatch.setattr(dispatch, "enqueue_now", record)
    return calls


def _stale_since(version) -> object:
    return TaxonomyVersion.objects.get(pk=version.pk).queue_stale_since


def _refresh(sent) -> None:
    """Run the refresh tasks sent so far, as the worker would once their countdown is over."""
    pending = [args for name, args, _ in sent if name == "queue_refresh_task"]
    sent.clear()
    for args in pending:
        tasks.queue_refresh_task(*args)


def test_items_scored_in_a_row_send_one_delayed_refresh(
    settings, version, model, new_items, sent, rebuilds
):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_REFRESH_DELAY_SECONDS": 15}
    for item in new_items[:3]:
        assert tasks.rescore_items_task(model.pk, [item.pk]) == 1
    assert sent == [("queue_refresh_task", (version.pk,), 15)]
    assert rebuilds == [] and _stale_since(version) is not None
    assert Prediction.objects.filter(model_version=model, item__in=new_items[:3]).count() == 3


def test_the_refresh_clears_the_flag_and_puts_the_new_item_in_the_queue(
    version, model, new_items, sent, rebuilds
):
    item = new_items[0]
    tasks.rescore_items_task(model.pk, [item.pk])
    assert not QueueEntry.objects.filter(item=item).exists()
    _refresh(sent)
    assert rebuilds == [version.pk] and _stale_since(version) is None
    assert QueueEntry.objects.filter(item=item, model_version=model).exists()


def test_a_refresh_after_a_full_rebuild_does_nothing(version, model, new_items, sent, rebuilds):
    tasks.rescore_items_task(model.pk, [new_items[0].pk])
    queue_build.rebuild_queue(version)  # e.g. the last shard of a rescore job
    assert _stale_since(version) is None
    _refresh(sent)
    assert rebuilds == [version.pk]


def test_an_item_scored_during_a_rebuild_gets_one_more_refresh(
    version, model, new_items, sent, rebuilds, monkeypatch
):
    first, late = new_items[:2]
    load_pool = queue_candidates.load_pool

    def late_item_scored_once_the_pool_is_read(*args):
        pool = load_pool(*args)
        monkeypatch.setattr(queue_candidates, "load_pool", load_pool)
        tasks.rescore_items_task(model.pk, [late.pk])  # another worker, meanwhile
        return pool

    monkeypatch.setattr(queue_candidates, "load_pool", late_item_scored_once_the_pool_is_read)
    tasks.rescore_items_task(model.pk, [first.pk])
    _refresh(sent)
    assert not QueueEntry.objects.filter(item=late).exists()
    assert [name for name, _, _ in sent] == ["queue_refresh_task"]
    _refresh(sent)
    assert rebuilds == [version.pk, version.pk] and _stale_since(version) is None
    assert QueueEntry.objects.filter(item=late).exists()


def test_beat_sends_a_refresh_again_once_the_flag_is_five_minutes_old(version, sent):
    recent = TaxonomyVersionFactory(is_current=False)
    for flagged, minutes_ago in ((version, 6), (recent, 1)):
        since = timezone.now() - timedelta(minutes=minutes_ago)
        TaxonomyVersion.objects.filter(pk=flagged.pk).update(queue_stale_since=since)
    assert tasks.release_expired_leases_task() == 0
    assert sent == [("queue_refresh_task", (version.pk,), None)]


def test_a_redelivered_refresh_rebuilds_though_its_flag_was_claimed(version, model, rebuilds):
    assert tasks.queue_refresh_task(version.pk) is None  # no flag: nothing to do
    tasks.queue_refresh_task.push_request(delivery_info={"redelivered": True})
    try:
        assert tasks.queue_refresh_task(version.pk) is not None
    finally:
        tasks.queue_refresh_task.pop_request()
    assert rebuilds == [version.pk]


def test_a_failed_rebuild_flags_the_queue_again(version, monkeypatch):
    queue_refresh.queue_refresh_mark(version)

    def broken(version, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(queue_build, "rebuild_queue", broken)
    with pytest.raises(RuntimeError):
        tasks.queue_refresh_task(version.pk)
    assert _stale_since(version) is not None


def test_with_eager_celery_a_new_item_is_queued_at_once(version, model, new_items):
    tasks.rescore_items_task.delay(model.pk, [new_items[0].pk]).get()
    assert QueueEntry.objects.filter(item=new_items[0]).exists()
    assert _stale_since(version) is None
