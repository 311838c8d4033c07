"""New items reach the queue through one delayed refresh on a real worker (Redis, PostgreSQL):
the countdown survives the broker, and items scored back to back share one rebuild."""

from __future__ import annotations

import re

import pytest

from labeling.models import QueueEntry, TaxonomyVersion
from labeling.tasks import rescore_items_task
from tests.conftest import SMALL_TREE
from tests.factories import TaxonomyVersionFactory, make_tree
from tests.integration.test_rescore_two_workers import SEND_FOR_REAL
from tests.labeling.services.loop_data import clustered_items, leaves_of
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DELAY_SECONDS = 5
REBUILT = re.compile(r"queue_refresh_task\[[^]]+\] succeeded in [\d.]+s: \{")


@pytest.fixture
def refresh_soon(worker_env, tmp_path):
    """The worker started next sends the refresh to the broker (not eagerly, as the test
    settings would), to run DELAY_SECONDS (not 15) later."""
    worker_env.setenv("TAXOLOOP_QUEUE_REFRESH_DELAY_SECONDS", str(DELAY_SECONDS))
    site = tmp_path / "site" / "sitecustomize.py"
    site.write_text(site.read_text() + SEND_FOR_REAL)
    return worker_env


def test_items_scored_back_to_back_enter_the_queue_in_one_rebuild(
    refresh_soon, celery_worker_process, tmp_path, wait_for
):
    version = TaxonomyVersionFactory(taxonomy__name="Shop")
    make_tree(version, SMALL_TREE)
    truth = list(clustered_items(leaves_of(version), 4).items())
    model = fit_and_store(version, truth[::2])
    new = [item.pk for item, _ in truth[1::2][:3]]
    for pk in new:
        rescore_items_task.delay(model.pk, [pk])
    log = tmp_path / "worker.log"
    assert wait_for(lambda: REBUILT.search(log.read_text()), 60), log.read_text()[-3000:]
    assert QueueEntry.objects.filter(item_id__in=new).count() == len(new)
    assert TaxonomyVersion.objects.get(pk=version.pk).queue_stale_since is None
    assert len(REBUILT.findall(log.read_text())) == 1, log.read_text()[-3000:]
