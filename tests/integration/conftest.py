"""Real services for integration tests: PostgreSQL (the test database), Redis as the Celery
broker, and a Celery worker in its own process reading the same database.

Without those services the tests skip with a message saying what to start; with
TAXOLOOP_REQUIRE_SERVICES=1 (set by .ci/run) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from taxoloop.celery import app as celery_app

REPO_ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TAXOLOOP_REDIS_URL", "redis://127.0.0.1:6379/14")


def _unavailable(reason: str) -> None:
    if os.environ.get("TAXOLOOP_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def redis_broker() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable at {REDIS_URL} ({exc}); start redis-server")
    return REDIS_URL


@pytest.fixture
def postgres(transactional_db) -> str:
    if connection.vendor != "postgresql":
        _unavailable("integration tests need PostgreSQL: set DATABASE_URL=postgres://…")
    return _database_url()


@pytest.fixture
def broker_app(redis_broker: str) -> Iterator[object]:
    """The project's Celery app sending to Redis for real (not eagerly) during one test."""
    saved = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=redis_broker, task_always_eager=False)
    _forget_connections()  # pools an earlier test made for the test settings' broker
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")  # stale messages of an earlier run
    yield celery_app
    celery_app.conf.update(saved)
    _forget_connections()


def _forget_connections() -> None:
    """Drop the app's cached connection and producer pools: both are bound to the broker URL
    of the moment they were made, and would keep sending there after the URL changes."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def celery_worker_process(postgres: str, broker_app, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process on the Redis broker and the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "taxoloop.settings.test",
        "DATABASE_URL": postgres,
        "CELERY_BROKER_URL": REDIS_URL,
        # The worker reads and writes model files and images where the test process does.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    name = f"it-{uuid.uuid4().hex[:8]}@%h"
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "taxoloop", "worker", "-P", "solo", "-l", "info",
         "-n", name, "--without-mingle", "--without-gossip"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(lambda: bool(broker_app.control.ping(timeout=0.5)) or proc.poll() is not None, 90)
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited early:\n{(tmp_path / 'worker.log').read_text()[-3000:]}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@pytest.fixture
def wait_for() -> Callable[..., bool]:
    return _wait_for
