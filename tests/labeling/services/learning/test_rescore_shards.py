"""Rescore jobs (labeling.services.learning.rescore_jobs): shards, idempotence, the one queue rebuild,
the stop for a retired model; and scoring's previous top across taxonomy versions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling import tasks
from labeling.models import (
    CategoryMapping,
    Item,
    ModelVersion,
    Prediction,
    QueueEntry,
    RescoreJob,
    RescoreShard,
    TaxonomyVersion,
)
from labeling.services.learning import rescore_jobs, scoring
from tests.conftest import SMALL_TREE
from tests.factories import ItemFactory, TaxonomyVersionFactory, make_tree
from tests.labeling.services.loop_data import (
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
)
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches")

SHIRTS, TSHIRTS = "Apparel > Topwear > Shirts", "Apparel > Topwear > Tshirts"
JEANS, SNEAKERS = "Apparel > Bottomwear > Jeans", "Footwear > Shoes > Sneakers"
WATCHES = "Accessories > Watches"


@pytest.fixture
def truth(tree, version):
    """Six leaves, eight clustered items each (48 items, ids ascending)."""
    return clustered_items(leaves_of(version), 8, seed=1)


@pytest.fixture
def model_version(version, truth):
    return fit_and_store(version, list(truth.items())[::2])


@pytest.fixture
def four_shards(settings):
    """Chunks of 4 items and up to 4 shards: the 48 items make 4 shards of 12."""
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RESCORE_CHUNK_SIZE": 4, "RESCORE_SHARDS": 4}


# -- the plan ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "chunk", "wanted", "expected"),
    [(100, 10, 4, 4), (100, 10, 8, 5), (39, 10, 4, 1), (40, 10, 4, 2), (0, 10, 4, 1)],
)
def test_a_shard_is_at_least_two_chunks_and_there_are_at_most_the_wanted_shards(
    items, chunk, wanted, expected
):
    assert rescore_jobs.shard_count(items=items, chunk_size=chunk, wanted=wanted) == expected


def test_shard_ranges_are_contiguous_and_open_at_both_ends():
    assert rescore_jobs.shard_ranges([5, 9]) == [(None, 5), (5, 9), (9, None)]
    assert rescore_jobs.shard_ranges([]) == [(None, None)]


def test_the_plan_cuts_equal_item_counts_whatever_gaps_the_ids_have(db, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RESCORE_CHUNK_SIZE": 2, "RESCORE_SHARDS": 3}
    items = [ItemFactory() for _ in range(16)]
    for gone in items[1:5]:
        gone.delete()  # 12 items left: ids 0, 5, 6, ..., 15 of the list
    mv = ModelVersion.objects.create(taxonomy_version=TaxonomyVersionFactory(), status="active")
    job = rescore_jobs.rescore_job_plan(model_version=mv)
    ids = [i.pk for i in items[:1] + items[5:]]
    bounds = list(job.shards.values_list("number", "first_item_id", "stop_item_id"))
    assert (job.shard_count, job.item_count) == (3, 12)
    assert bounds == [(0, None, ids[4]), (1, ids[4], ids[8]), (2, ids[8], None)]


def test_a_redelivered_planner_finds_its_job_instead_of_planning_a_second(db, settings):
    mv = ModelVersion.objects.create(taxonomy_version=TaxonomyVersionFactory(), status="active")
    first = rescore_jobs.rescore_job_plan(model_version=mv, task_id="task-1")
    assert rescore_jobs.rescore_job_plan(model_version=mv, task_id="task-1") == first
    assert RescoreJob.objects.count() == 1


def test_planning_deletes_finished_jobs_older_than_a_week(db):
    mv = ModelVersion.objects.create(taxonomy_version=TaxonomyVersionFactory(), status="active")
    now = timezone.now()
    old, unfinished, recent = (
        rescore_jobs.rescore_job_plan(model_version=mv, task_id=f"t{n}") for n in range(3)
    )
    RescoreJob.objects.filter(pk__in=[old.pk, unfinished.pk]).update(
        created_at=now - timedelta(days=8)
    )
    RescoreJob.objects.filter(pk__in=[old.pk, recent.pk]).update(finished_at=now)
    rescore_jobs.rescore_job_plan(model_version=mv)
    assert set(RescoreJob.objects.values_list("task_id", flat=True)) == {"t1", "t2", None}
    assert not RescoreShard.objects.filter(job_id=old.pk).exists()


def test_a_bad_shard_setting_says_what_is_wrong(db, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RESCORE_SHARDS": 0}
    mv = ModelVersion.objects.create(taxonomy_version=TaxonomyVersionFactory(), status="active")
    with pytest.raises(rescore_jobs.RescoreJobError) as err:
        rescore_jobs.rescore_job_plan(model_version=mv)
    assert str(err.value) == rescore_jobs.BAD_SHARDS.format(value=0)


# -- running ----------------------------------------------------------------------------------


def test_the_task_scores_every_item_once_in_four_shards_and_rebuilds_the_queue_once(
    version, truth, model_version, four_shards, rebuilds
):
    tasks.rescore_task.delay(model_version.pk)  # eager: the shard tasks run inside
    job = RescoreJob.objects.get()
    assert (job.status, job.shard_count, job.shards_finished) == ("done", 4, 4)
    shards = list(job.shards.all())
    assert [(s.status, s.items_done, s.written, s.attempts) for s in shards] == [
        ("done", 12, 12, 1)
    ] * 4
    preds = Prediction.objects.filter(model_version=model_version)
    assert sorted(preds.values_list("item_id", flat=True)) == sorted(i.pk for i in truth)
    assert rebuilds == [version.pk]
    assert sum(job.queue.values()) == QueueEntry.objects.count() > 0
    progress = rescore_jobs.rescore_job_progress(job)
    assert (progress.items_done, progress.item_count, progress.fraction) == (48, 48, 1.0)


def test_only_the_last_shard_to_finish_rebuilds_the_queue_whatever_the_order(
    version, truth, model_version, four_shards, rebuilds, sent
):
    assert tasks.rescore_task.delay(model_version.pk).get() == 0  # all four sent, none run
    job = RescoreJob.objects.get()
    shard_ids = [args[0] for name, args in sent]
    assert shard_ids == list(job.shards.values_list("pk", flat=True))
    assert {name for name, _ in sent} == {"rescore_shard_task"}
    for n, pk in enumerate(reversed(shard_ids), start=1):
        outcome = rescore_jobs.rescore_shard_run(shard_id=pk, worker=f"w{n % 2}")
        assert (outcome.status, outcome.written) == ("done", 12)
        assert (outcome.queue is not None, rebuilds) == (n == 4, [version.pk] if n == 4 else [])
        progress = rescore_jobs.rescore_job_progress(job)  # every shard counts, chunk by chunk
        assert (progress.shards_finished, progress.items_done) == (n, 12 * n)
        assert progress.fraction == (1.0 if n == 4 else 12 * n / 48)
    assert set(job.shards.values_list("worker", flat=True)) == {"w0", "w1"}


def test_a_shard_delivered_again_after_it_is_done_does_nothing(
    version, truth, model_version, four_shards, rebuilds
):
    tasks.rescore_task.delay(model_version.pk)
    shard = RescoreShard.objects.get(number=2)
    written_at = dict(Prediction.objects.values_list("item_id", "created_at"))
    assert tasks.rescore_shard_task.delay(shard.pk).get() == 0
    assert dict(Prediction.objects.values_list("item_id", "created_at")) == written_at
    assert RescoreShard.objects.get(pk=shard.pk).attempts == 1
    assert RescoreJob.objects.get().shards_finished == 4 and rebuilds == [version.pk]


def test_a_shard_whose_worker_died_is_scored_again_and_counted_once(
    version, truth, model_version, four_shards, rebuilds, sent
):
    tasks.rescore_task.delay(model_version.pk)
    first, *others = RescoreShard.objects.order_by("number")
    # Its worker was killed mid-way: running, some of its items scored.
    RescoreShard.objects.filter(pk=first.pk).update(status="running", attempts=1, items_done=4)
    for shard in others:
        rescore_jobs.rescore_shard_run(shard_id=shard.pk)
    assert rebuilds == []
    outcome = rescore_jobs.rescore_shard_run(shard_id=first.pk, worker="w2")
    first.refresh_from_db()
    assert (first.status, first.attempts, first.items_done, first.worker) == ("done", 2, 12, "w2")
    assert outcome.queue is not None and rebuilds == [version.pk]
    assert Prediction.objects.filter(model_version=model_version).count() == len(truth)


def test_beat_sends_again_a_shard_silent_for_the_stale_limit_once_per_limit(
    version, truth, model_version, four_shards, rebuilds, sent, settings
):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "STALE_SHARD_SECONDS": 600}
    tasks.rescore_task.delay(model_version.pk)  # the four shards are sent, none runs
    sent.clear()
    dead, slow, *_ = RescoreShard.objects.order_by("number")
    now = timezone.now()
    # ``dead``'s worker was killed 11 minutes after its last chunk; ``slow`` finished a chunk
    # 9 minutes ago; the other two were never claimed (no progress time): all left alone but
    # the first.
    RescoreShard.objects.filter(pk=dead.pk).update(
        status="running", progress_at=now - timedelta(minutes=11)
    )
    RescoreShard.objects.filter(pk=slow.pk).update(
        status="running", progress_at=now - timedelta(minutes=9)
    )
    assert rescore_jobs.rescore_shards_resend_stale(now=now) == [dead.pk]
    assert sent == [("rescore_shard_task", (dead.pk,))]
    dead.refresh_from_db()
    assert (dead.status, dead.progress_at) == ("pending", now)  # its clock restarted
    # A minute later its new message may still be on the way: not sent again; ``slow`` is
    # now 10 minutes silent, one second short of the limit... and then past it.
    assert rescore_jobs.rescore_shards_resend_stale(now=now + timedelta(minutes=1)) == []
    later = now + timedelta(minutes=1, seconds=1)
    assert rescore_jobs.rescore_shards_resend_stale(now=later) == [slow.pk]
    # That message was lost too (broker down): one limit after the resend, it goes again.
    assert rescore_jobs.rescore_shards_resend_stale(now=now + timedelta(minutes=10, seconds=1)) == [
        dead.pk
    ]
    for shard in RescoreShard.objects.order_by("number"):
        assert rescore_jobs.rescore_shard_run(shard_id=shard.pk).status == "done"
    assert RescoreJob.objects.get().shards_finished == 4 and rebuilds == [version.pk]
    assert Prediction.objects.filter(model_version=model_version).count() == len(truth)
    # Done shards and a finished job are never sent again.
    assert rescore_jobs.rescore_shards_resend_stale(now=now + timedelta(hours=2)) == []


def test_the_stale_shard_beat_runs_with_the_training_reaper(db, monkeypatch):
    calls = []
    monkeypatch.setattr(rescore_jobs, "rescore_shards_resend_stale", lambda: calls.append(1) or [])
    assert tasks.reap_stale_runs_task.delay().get() == 0
    assert calls == [1]


def test_a_small_catalog_is_one_shard_scored_in_the_planning_task(
    version, truth, model_version, settings, sent, rebuilds
):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "RESCORE_CHUNK_SIZE": 25, "RESCORE_SHARDS": 4}
    assert tasks.rescore_task.delay(model_version.pk).get() == len(truth)
    assert sent == [] and rebuilds == [version.pk]
    assert RescoreJob.objects.get().shard_count == 1


# -- a model that is no longer active ---------------------------------------------------------


def _retire(model: ModelVersion) -> None:
    ModelVersion.objects.filter(pk=model.pk).update(status=ModelVersion.Status.RETIRED)


def test_a_rescore_stops_at_the_next_chunk_once_its_model_is_retired(truth, model_version):
    def retire_after_the_first_chunk(done: int, total: int) -> None:
        if done == 4:
            _retire(model_version)

    written = scoring.rescore(model_version, chunk_size=4, progress=retire_after_the_first_chunk)
    assert written == 4
    first = sorted(i.pk for i in truth)[:4]
    assert sorted(Prediction.objects.values_list("item_id", flat=True)) == first


def test_a_rescore_of_a_model_that_was_never_active_is_not_stopped(version, truth):
    candidate = fit_and_store(version, list(truth.items())[::2], status="candidate")
    assert scoring.rescore(candidate, chunk_size=4) == len(truth)


def test_a_shard_of_a_retired_model_stops_its_job_and_leaves_the_queue_alone(
    version, truth, model_version, four_shards, rebuilds, sent, monkeypatch
):
    tasks.rescore_task.delay(model_version.pk)
    first, second, third, _ = RescoreShard.objects.order_by("number")
    rescore_jobs.rescore_shard_run(shard_id=first.pk)
    real = scoring.rescore

    def promoted_meanwhile(model, **kwargs):
        def retire_after_one_chunk(done: int, total: int) -> None:
            kwargs["progress"](done, total)
            _retire(model)

        return real(model, **{**kwargs, "progress": retire_after_one_chunk})

    monkeypatch.setattr(scoring, "rescore", promoted_meanwhile)
    outcome = rescore_jobs.rescore_shard_run(shard_id=second.pk)
    assert (outcome.status, outcome.written) == ("stopped", 4)
    assert RescoreJob.objects.get().status == "stopped" and rebuilds == []
    assert Prediction.objects.count() == 12 + 4
    # The shards still queued do nothing (their model is retired), and never rebuild.
    assert rescore_jobs.rescore_shard_run(shard_id=third.pk).written == 0
    assert rebuilds == [] and Prediction.objects.count() == 16


# -- previous top across taxonomy versions ----------------------------------------------------


def _publish(old: TaxonomyVersion, old_tree: dict, moved: dict[str, str], unmapped: set[str]):
    """A new current version with the same tree; every old category maps to the category of
    the same path, or of ``moved[path]``; the ``unmapped`` ones to nothing."""
    TaxonomyVersion.objects.filter(pk=old.pk).update(is_current=False)
    new = TaxonomyVersionFactory(taxonomy=old.taxonomy, based_on=old)
    new_tree = make_tree(new, SMALL_TREE)
    CategoryMapping.objects.bulk_create(
        CategoryMapping(
            new_version=new,
            old_category=cat,
            new_category=new_tree[moved.get(path, path)],
            kind="merged" if path in moved else "same",
        )
        for path, cat in old_tree.items()
        if path not in unmapped
    )
    return new, new_tree


def test_an_old_versions_top_is_compared_as_the_category_it_maps_to(
    version, tree, truth, model_version
):
    scoring.rescore(model_version)
    old_tops = dict(Prediction.objects.values_list("item_id", "top_category_id"))
    old_path = {cat.pk: path for path, cat in tree.items()}
    # Two publishes: Shirts merged into T-shirts, then Jeans sent to Sneakers and Watches
    # dropped without a mapping.
    v2, tree2 = _publish(version, tree, {SHIRTS: TSHIRTS}, set())
    v3, tree3 = _publish(v2, tree2, {JEANS: SNEAKERS}, {WATCHES})
    through = {SHIRTS: TSHIRTS, JEANS: SNEAKERS}
    # The new model learnt the merge: shirts are T-shirts now; jeans are still jeans.
    labels = [
        (item, tree3[TSHIRTS if truth[item].path == SHIRTS else truth[item].path]) for item in truth
    ]
    newer = fit_and_store(v3, labels)
    scoring.rescore(newer)
    seen = {"same": 0, "changed": 0, "unmapped": 0}
    for pred in Prediction.objects.all():
        path = old_path[old_tops[pred.item_id]]
        mapped = None if path == WATCHES else tree3[through.get(path, path)].pk
        expected = None if mapped in (None, pred.top_category_id) else mapped
        assert pred.previous_top_category_id == expected, (path, pred.top_category.path)
        seen["unmapped" if mapped is None else "same" if expected is None else "changed"] += 1
    assert seen["changed"] >= 6 and seen["unmapped"] >= 6 and seen["same"] >= 24, seen
    stale = Prediction.objects.filter(previous_top_category__version__in=[version, v2])
    assert not stale.exists()
    assert Item.objects.count() == Prediction.objects.count() == len(truth)


def test_manage_py_rescore_says_it_stopped_and_leaves_the_queue_to_the_newer_model(
    truth, model_version, monkeypatch
):
    from io import StringIO

    from django.core.management import call_command

    from labeling.management.commands import rescore as command

    def retired_meanwhile(model, **kwargs):
        _retire(model)
        return scoring.rescore(model, **kwargs)

    monkeypatch.setattr(command, "rescore", retired_meanwhile)
    out = StringIO()
    call_command("rescore", "--quiet", stdout=out)
    # The certification line first (manage.py rescore certifies, as a job does), then the stop.
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("auto-accept at precision 0.99")
    assert lines[1:] == [command.STOPPED.format(pk=model_version.pk, written=0)]
    assert not Prediction.objects.exists() and not QueueEntry.objects.exists()


def test_the_last_shard_rebuilds_the_queue_outside_its_transaction(
    version, truth, model_version, four_shards, sent, monkeypatch
):
    """A rebuild inside the job's transaction held the write lock for seconds; on SQLite (one
    writer) a reviewer's decision waited on it (issue 14)."""
    from django.db import connection

    from labeling.services.review import queue_build

    seen: list[tuple[bool, bool]] = []

    def rebuild(version, **kwargs):
        flagged = TaxonomyVersion.objects.get(pk=version.pk).queue_stale_since is not None
        seen.append((len(connection.atomic_blocks), flagged))
        return {}

    monkeypatch.setattr(queue_build, "rebuild_queue", rebuild)
    tasks.rescore_task.delay(model_version.pk)
    outside = len(connection.atomic_blocks)  # the test's own transaction
    for _, (pk,) in sent:
        rescore_jobs.rescore_shard_run(shard_id=pk)
    assert seen == [(outside, True)]


def test_a_worker_lost_during_the_last_rebuild_leaves_the_queue_flagged_for_beat(
    version, truth, model_version, four_shards, sent, monkeypatch
):
    from labeling.services.review import queue_build, queue_refresh

    def crash(version, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(queue_build, "rebuild_queue", crash)
    tasks.rescore_task.delay(model_version.pk)
    with pytest.raises(RuntimeError):
        for _, (pk,) in sent:
            rescore_jobs.rescore_shard_run(shard_id=pk)
    assert RescoreJob.objects.get().status == RescoreJob.Status.DONE
    version.refresh_from_db()
    assert version.queue_stale_since is not None
    sent.clear()
    later = timezone.now() + queue_refresh.STALE_AFTER + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert queue_refresh.queue_refresh_resend_stale() == [version.pk]
    assert sent == [("queue_refresh_task", (version.pk,))]
