"""Label-to-active-model latency with a real ``celery worker -B`` (beat included) on Redis.

Used by bench_loop.py after its set-up and timed stages: one label is saved through the label
service at t0, and the bench polls the database until an active ModelVersion whose training
saw that label exists. The worker runs with the default loop settings (whatever the
environment sets, e.g. TAXOLOOP_TRAIN_MAX_LABEL_WAIT_SECONDS, passes through).

``BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/13) is the broker; its ``celery`` queue
is purged before the worker starts. Skips with a message when Redis is not reachable.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
TARGET_SECONDS = 300.0
GIVE_UP_SECONDS = 900.0
POLL_SECONDS = 1.0
# The settings' default, for the printed bound when the environment does not set it.
DEFAULT_WAIT_SECONDS = 120


@dataclass(frozen=True)
class Worker:
    proc: subprocess.Popen
    log: Path


def latency_measure(env: dict[str, str], root: Path, scratch: Path, version: Any) -> None:
    """Start the worker, save one label, wait for the model that saw it; print the figures."""
    broker = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    if not redis_answers(broker):
        print(f"latency: skipped (Redis not reachable at {broker})")
        return
    from taxoloop.celery import app

    # An explicit connection: this process's own broker (CELERY_BROKER_URL) is memory://.
    with app.connection_for_write(broker) as connection:
        app.control.purge(connection=connection)  # stale messages of an interrupted run
        # As deployed (docker-compose: concurrency 2), with beat inside.
        worker = celery_worker_start(
            ["-B", "-l", "info", "--concurrency", "2"],
            {**env, "CELERY_BROKER_URL": broker},
            root,
            scratch / "worker.log",
        )
        print(f"latency: worker -B started (pid {worker.proc.pid}), log {worker.log}", flush=True)
        try:
            worker_wait_ready(worker)
            label = _label_one(version)
            model = _wait_for_model(version, label, worker)
            _report(label, model)
            _wait_for_rescore(model, worker)
        finally:
            worker_stop(worker)


def redis_answers(broker: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(broker, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def celery_worker_start(options: list[str], env: dict[str, str], root: Path, log: Path) -> Worker:
    """``celery -A taxoloop worker <options>`` with its output in ``log``, in its own process
    group so that stopping it by its PID also stops its pool and beat children."""
    command = [sys.executable, "-m", "celery", "-A", "taxoloop", "worker", *options]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command,
            cwd=root,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(proc, log)


def worker_wait_ready(worker: Worker, timeout: float = 120) -> None:
    """Until the worker logs that it is ready (it consumes from then on; beat starts beside)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(worker)
        if " ready." in worker.log.read_text():
            return
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"the worker did not answer within {timeout:.0f} s:\n{_tail(worker)}")


def _label_one(version: Any) -> Any:
    """A label on an unlabelled item, through the service the review page calls. One label
    is below TRAIN_EVERY_N_LABELS, so the bounded wait (beat) is what trains on it."""
    from labeling.models import Category, Item
    from labeling.services.review.labels import label_create

    item = Item.objects.filter(current_label__isnull=True).order_by("pk").first()
    leaf = Category.objects.filter(version=version, is_leaf=True).order_by("pk").first()
    label = label_create(item=item, category=leaf, author=None, source="review")
    print(f"latency: label #{label.pk} saved at t0; waiting for an active model trained on it")
    return label


def _wait_for_model(version: Any, label: Any, worker: Worker) -> Any:
    from labeling.models import ModelVersion

    saw_it = ModelVersion.objects.filter(
        taxonomy_version=version, status="active", newest_label_at__gte=label.created_at
    )
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        _check_alive(worker)
        model = saw_it.first()
        if model is not None:
            return model
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"no active model saw the label in {GIVE_UP_SECONDS:.0f} s:\n{_tail(worker)}")


def _report(label: Any, model: Any) -> None:
    """Latency and its parts, from the rows' own timestamps (not the polling)."""
    run = model.training_runs.get()
    t0 = label.created_at
    total = (model.promoted_at - t0).total_seconds()
    timings = run.timings or {}
    promote = float(timings.get("deciding", 0.0))
    parts = {
        "wait": (run.created_at - t0).total_seconds(),
        "queue": (run.started_at - run.created_at).total_seconds(),
        "train": (run.finished_at - run.started_at).total_seconds() - promote,
        "promote": promote,
    }
    wait = int(os.environ.get("TAXOLOOP_TRAIN_MAX_LABEL_WAIT_SECONDS", DEFAULT_WAIT_SECONDS))
    verdict = "OK" if total < TARGET_SECONDS else "OVER TARGET"
    print(
        f"label-to-active-model latency {total:.0f} s (target < {TARGET_SECONDS:.0f} s: "
        f"{verdict}); run #{run.pk} trigger {run.trigger!r}"
    )
    print("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in parts.items()))
    print(
        f"  bound with these settings: wait {wait} s + up to 60 s to beat's next check "
        f"+ queue + train + promote ({wait + 60 + sum(list(parts.values())[1:]):.0f} s here); "
        f"run timings {timings}"
    )


def _wait_for_rescore(model: Any, worker: Worker) -> None:
    """Let the promotion's rescore finish, so the worker stops with nothing unacknowledged."""
    from labeling.models import Item, Prediction

    n = Item.objects.count()
    scored = Prediction.objects.filter(model_version=model)
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline and scored.count() < n:
        _check_alive(worker)
        time.sleep(2 * POLL_SECONDS)
    last = scored.order_by("-created_at").values_list("created_at", flat=True).first()
    since = (last - model.promoted_at).total_seconds() if last else float("nan")
    print(f"  then the worker rescored {scored.count():,}/{n:,} items: done {since:.0f} s later")


def _check_alive(worker: Worker) -> None:
    if worker.proc.poll() is not None:
        raise SystemExit(f"the worker exited ({worker.proc.returncode}):\n{_tail(worker)}")


def worker_stop(worker: Worker) -> None:
    """Warm shutdown of the worker's process group (by its PID), then a kill after 60 s."""
    if worker.proc.poll() is not None:
        return
    os.killpg(worker.proc.pid, signal.SIGTERM)
    try:
        worker.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(timeout=10)


def _tail(worker: Worker) -> str:
    return worker.log.read_text()[-3000:] if worker.log.exists() else "(no log)"
