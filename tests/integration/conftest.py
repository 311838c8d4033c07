"""Real services for integration tests: PostgreSQL (the test database), Redis as the Celery
broker, and a Celery worker in its own process reading the same database.

Without those services the tests skip with a message saying what to start; with
TAXOLOOP_REQUIRE_SERVICES=1 (set by .ci/run) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from labeling.services.learning import ml
from scripts.faults.stack import DrillError, PrivateRedis, wait_until
from taxoloop.celery import app as celery_app
from taxoloop.settings.base import REDIS_BROKER_TRANSPORT_OPTIONS
from tests.labeling.services.fake_encoders import FAKE_ENCODERS

REPO_ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TAXOLOOP_REDIS_URL", "redis://127.0.0.1:6379/14")
CELERY_WORKER = (sys.executable, "-m", "celery", "-A", "taxoloop", "worker")
# One process (solo pool): a SIGKILL leaves no orphaned children; no peers to meet on start.
WORKER_OPTIONS = ("-P", "solo", "-l", "info", "--without-mingle", "--without-gossip")
SITECUSTOMIZE = """
from tests.labeling.services.fake_encoders import register_fake_encoders
register_fake_encoders()
"""


def unavailable(reason: str) -> None:
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
        unavailable(f"Redis is not reachable at {REDIS_URL} ({exc}); start redis-server")
    return REDIS_URL


@pytest.fixture
def postgres(transactional_db) -> str:
    if connection.vendor != "postgresql":
        unavailable("integration tests need PostgreSQL: set DATABASE_URL=postgres://…")
    return _database_url()


@pytest.fixture
def broker_app(redis_broker: str) -> Iterator[object]:
    """The project's Celery app sending to Redis for real (not eagerly) during one test."""
    with sending_to(redis_broker) as app:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("celery")  # stale messages of an earlier run
        yield app


@contextmanager
def sending_to(broker_url: str) -> Iterator[Celery]:
    """Point the app at ``broker_url`` with the transport options a deployment on Redis gets
    (taxoloop/settings/base.py), then put the test settings back."""
    keys = ("broker_url", "task_always_eager", "broker_transport_options")
    saved = {k: celery_app.conf[k] for k in keys}
    celery_app.conf.update(
        broker_url=broker_url,
        task_always_eager=False,
        broker_transport_options=REDIS_BROKER_TRANSPORT_OPTIONS,
    )
    _forget_connections()  # pools an earlier test made for the test settings' broker
    try:
        yield celery_app
    finally:
        celery_app.conf.update(saved)
        _forget_connections()


def _forget_connections() -> None:
    """Drop the app's cached connection and producer pools: both are bound to the broker URL
    of the moment they were made, and would keep sending there after the URL changes."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def start_worker(broker_url: str, log_path: Path) -> subprocess.Popen:
    """A real `celery worker` process on ``broker_url`` and the test database (the worker
    reads and writes model files and images where the test process does)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "taxoloop.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    name = f"it-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    with log_path.open("a") as log:
        proc = subprocess.Popen(
            [*CELERY_WORKER, *WORKER_OPTIONS, "-n", name],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    proc.node_name = name  # type: ignore[attr-defined]  (wait_until_ready pings this one)
    return proc


def wait_until_ready(proc: subprocess.Popen, app: Celery, log_path: Path) -> None:
    """Block until *this* worker answers a ping (any worker answering is not enough: a second
    worker was taken for ready while the first answered, and missed the work); fail with its
    log when it exited instead."""
    only = [proc.node_name]  # type: ignore[attr-defined]
    wait_until(
        lambda: bool(app.control.ping(destination=only, timeout=0.5)) or proc.poll() is not None,
        90,
    )
    if proc.poll() is not None:
        pytest.fail(f"celery worker exited early:\n{log_path.read_text()[-3000:]}")


def stop_worker(proc: subprocess.Popen) -> None:
    """Warm shutdown, then a kill if it does not stop in 20 s (no-op when already dead)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def celery_worker_process(postgres: str, broker_app, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process on the Redis broker and the test database."""
    log_path = tmp_path / "worker.log"
    proc = start_worker(REDIS_URL, log_path)
    try:
        wait_until_ready(proc, broker_app, log_path)
        yield proc
    finally:
        stop_worker(proc)


@pytest.fixture
def worker_env(monkeypatch, tmp_path, settings):
    """Environment of the worker started next (and the same knobs in this process): fake
    encoders registered at start-up through a ``sitecustomize`` module, so no weights load."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    paths = [str(site), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    monkeypatch.setenv("TAXOLOOP_TEXT_ENCODER", FAKE_ENCODERS["TEXT_ENCODER"])
    monkeypatch.setenv("TAXOLOOP_IMAGE_ENCODER", FAKE_ENCODERS["IMAGE_ENCODER"])
    monkeypatch.setenv("TAXOLOOP_MIN_LABELS_TO_TRAIN", "10")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny tensors on a shared machine
    # These tests start every training themselves; the label counter would start extra ones
    # at moments of its own choosing (tests/labeling/services cover the counter).
    settings.TAXOLOOP = {
        **settings.TAXOLOOP,
        **FAKE_ENCODERS,
        "MIN_LABELS_TO_TRAIN": 10,
        "TRAIN_EVERY_N_LABELS": 10**9,
    }
    ml.clear_caches()
    return monkeypatch


@pytest.fixture
def slow_worker_env(worker_env):
    """Training that sleeps after each epoch: long enough to kill or to trigger again."""
    worker_env.setenv("TAXOLOOP_TRAIN_EPOCH_DELAY", "0.1")
    return worker_env


@pytest.fixture
def wait_for() -> Callable[..., bool]:
    """``wait_for(predicate, timeout)``: True once the predicate holds, False at the timeout."""
    return wait_until


# -- a private broker: its own redis-server, workers on it ------------------------------------


@pytest.fixture
def private_redis(postgres, tmp_path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own (no persistence): no other test's messages reach its
    workers, and stopping it stops no one else's broker."""
    try:
        server = PrivateRedis(tmp_path)
        server.start()
    except DrillError as error:
        unavailable(str(error))
    try:
        yield server
    finally:
        if server.is_up():
            server.stop()


@pytest.fixture
def app_on_private_redis(private_redis):
    with sending_to(private_redis.url) as app:
        yield app


@pytest.fixture
def workers(private_redis, app_on_private_redis, tmp_path):
    """Start workers on the private Redis with ``workers()``; all are stopped at the end."""
    started: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"

    def start() -> subprocess.Popen:
        proc = start_worker(private_redis.url, log_path)
        started.append(proc)
        wait_until_ready(proc, app_on_private_redis, log_path)
        return proc

    yield start
    for proc in started:
        stop_worker(proc)
