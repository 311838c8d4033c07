"""Issue 8 for real: two `celery worker` processes share one rescore (PostgreSQL, Redis).

The broker is a private ``redis-server`` (the ``private_redis`` fixtures of conftest.py), so
no other test's messages reach these workers and none of theirs reach anyone else.
"""

from __future__ import annotations

import re

import pytest

from labeling.models import Item, ModelVersion, Prediction, QueueEntry, RescoreJob
from labeling.tasks import rescore_task
from tests.integration.test_broker_outage import _shop
from tests.labeling.services.loop_data import clustered_items, leaves_of
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SHARDS = 4
# The test settings make Celery eager, so a worker would run the shard tasks it sends itself;
# these workers send them to the broker, as a deployment's do (appended to the sitecustomize
# module that worker_env gives the workers).
SEND_FOR_REAL = """
from celery.signals import celeryd_init


@celeryd_init.connect
def _send_for_real(conf=None, **kwargs):
    conf.task_always_eager = False
"""


def test_two_workers_share_the_shards_and_the_last_one_rebuilds_the_queue_once(
    worker_env,
    workers,  # noqa: F811  (the fixture imported above)
    tmp_path,
    wait_for,
):
    # 48 items, chunks of 4, 4 shards of 12 items; each chunk sleeps so both workers get some.
    worker_env.setenv("TAXOLOOP_RESCORE_CHUNK_SIZE", "4")
    worker_env.setenv("TAXOLOOP_RESCORE_SHARDS", str(SHARDS))
    worker_env.setenv("TAXOLOOP_RESCORE_CHUNK_DELAY", "0.3")
    site = tmp_path / "site" / "sitecustomize.py"
    site.write_text(site.read_text() + SEND_FOR_REAL)
    version = _shop()
    truth = clustered_items(leaves_of(version), 8)
    model = fit_and_store(version, list(truth.items())[::2], status=ModelVersion.Status.ACTIVE)
    first, second = workers(), workers()
    assert first.poll() is None and second.poll() is None

    rescore_task.delay(model.pk)
    jobs = RescoreJob.objects.filter(model_version=model)
    # The job is marked done before the last shard rebuilds the queue (outside the marking
    # transaction, so reviewers never wait on it); its queue counts are written after.
    rebuilt = jobs.filter(status="done").exclude(queue={})
    assert wait_for(lambda: rebuilt.exists(), 120), _state(tmp_path)

    job = jobs.get()
    shards = list(job.shards.all())
    assert (job.shard_count, job.shards_finished) == (SHARDS, SHARDS)
    assert [(s.status, s.written) for s in shards] == [("done", 12)] * SHARDS
    assert len({s.worker for s in shards}) == 2, [s.worker for s in shards]
    scored = Prediction.objects.filter(model_version=model)
    assert scored.count() == Prediction.objects.count() == Item.objects.count() == len(truth)
    assert QueueEntry.objects.exists()
    assert not QueueEntry.objects.exclude(model_version=model).exists()
    log = (tmp_path / "worker.log").read_text()
    assert len(re.findall(rf"rescore job #{job.pk} done", log)) == 1
    assert sum(job.queue.values()) == QueueEntry.objects.count()


def _state(tmp_path) -> str:
    jobs = list(RescoreJob.objects.values("status", "shards_finished", "shard_count"))
    return f"jobs {jobs}\n{(tmp_path / 'worker.log').read_text()[-3000:]}"
