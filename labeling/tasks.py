"""Celery tasks: take ids, load rows, call one service (CONVENTIONS.md)."""

from __future__ import annotations

import logging

from celery import shared_task

from labeling.services.queue import queue_release_expired_leases

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def release_expired_leases_task() -> int:
    released = queue_release_expired_leases()
    if released:
        log.info("released %d expired queue leases", released)
    return released
