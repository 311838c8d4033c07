"""A real Celery worker on Redis runs Taxoloop's tasks against PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import QueueEntry
from labeling.tasks import release_expired_leases_task
from tests.factories import ItemFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_worker_releases_expired_leases_through_the_redis_broker(
    celery_worker_process, wait_for
):
    reviewer = UserFactory(username="leaseholder")
    stale = QueueEntry.objects.create(
        item=ItemFactory(),
        priority=0.9,
        reason="uncertain",
        lease_holder=reviewer,
        lease_expires_at=timezone.now() - timedelta(minutes=1),
    )
    live = QueueEntry.objects.create(
        item=ItemFactory(),
        priority=0.8,
        reason="uncertain",
        lease_holder=reviewer,
        lease_expires_at=timezone.now() + timedelta(minutes=10),
    )
    release_expired_leases_task.delay()
    assert wait_for(lambda: QueueEntry.objects.get(pk=stale.pk).lease_holder_id is None, 30)
    assert QueueEntry.objects.get(pk=live.pk).lease_holder_id == reviewer.pk
