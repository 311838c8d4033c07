"""A full rescore shared by Celery workers (issue 8): one worker, then two, on PostgreSQL + Redis.

    python benchmarks/bench_rescore_workers.py [--items 200000] [--labels 5000]
        [--image-share 1.0] [--workers 1 2] [--shards 4] [--threads 1] [--keep-db]

Builds a throwaway database (``taxoloop_bench_rescore``: created, migrated, dropped at the
end) with bench_loop.py's synthetic catalog (140 leaves, cached clustered embeddings inserted
directly, labels), trains and promotes a model in this process, then for each worker count:
empties the predictions and the queue, starts that many real ``celery worker`` processes
(``--concurrency 1`` each) on Redis, sends ``rescore_task`` once and waits until its job is
done (every shard scored and the queue rebuilt by the last one). Prints the wall time from
sending to done, items/s, the shards each worker took, the load average, and the speed-up.

``--threads`` is each worker's torch/BLAS thread count (OMP_NUM_THREADS, default 1: one core
per worker, so the comparison says what one more worker, e.g. one more machine, gives; 0 keeps
torch's default of every core, where two workers on a small machine fight over the cores).

Environment: ``BENCH_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/taxoloop_bench_rescore;
the database is dropped first), ``BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/11; its
``celery`` queue is purged). Skips with a message when PostgreSQL or Redis is not reachable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._loop_latency import (  # noqa: E402
    Worker,
    celery_worker_start,
    redis_answers,
    worker_stop,
    worker_wait_ready,
)
from benchmarks._pg import bench_env, django_setup, scratch_database  # noqa: E402
from benchmarks.bench_loop import catalog_create, labels_create, taxonomy_create  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_rescore"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
GIVE_UP_SECONDS = 1800.0
POLL_SECONDS = 0.25


def model_train(version: Any) -> Any:
    """Train and promote a model on the labels, as the loop does (not timed)."""
    from labeling.models import TrainingRun
    from labeling.services.learning.ml import active_model_version
    from labeling.services.learning.training import training_request, training_run

    run = training_request(version, trigger="manual", enqueue=False) or (
        TrainingRun.objects.get(taxonomy_version=version, status=TrainingRun.Status.QUEUED)
    )
    run = training_run(run.pk)
    model = active_model_version(version)
    if model is None:
        raise SystemExit(f"training did not promote a model: {run.status} {run.outcome}")
    return model


def predictions_clear() -> None:
    """Every timed rescore inserts all its rows (an update of existing rows costs more)."""
    from django.db import connection

    from labeling.models import Prediction, QueueEntry

    with connection.cursor() as cursor:
        tables = (QueueEntry._meta.db_table, Prediction._meta.db_table)
        cursor.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables))
        cursor.execute("VACUUM ANALYZE " + connection.ops.quote_name(Prediction._meta.db_table))


def workers_start(n: int, env: dict[str, str], logs: Path) -> list[Worker]:
    """``n`` workers, one process each, ready to consume."""
    workers: list[Worker] = []
    try:
        for i in range(n):
            name = f"bench{i}-{uuid.uuid4().hex[:6]}@%h"
            options = ["-n", name, "--concurrency", "1", "-l", "info"]
            options += ["--without-mingle", "--without-gossip"]
            # Warm workers, as deployed ones are: torch and the scorer imported before "ready".
            options += ["--include", "labeling.services.learning.scoring"]
            workers.append(celery_worker_start(options, env, ROOT, logs / f"worker{i}.log"))
        for worker in workers:
            worker_wait_ready(worker, timeout=180)
    except BaseException:
        workers_stop(workers)
        raise
    return workers


def workers_stop(workers: list[Worker]) -> None:
    for worker in workers:
        worker_stop(worker)


def rescore_timed(model: Any, broker: str) -> tuple[float, Any]:
    """Send ``rescore_task`` once; seconds until its job is done (queue rebuilt), and the job."""
    from labeling.models import RescoreJob
    from labeling.tasks import rescore_task

    before = set(RescoreJob.objects.values_list("pk", flat=True))
    t0 = time.perf_counter()
    with rescore_task.app.connection_for_write(broker) as connection:
        rescore_task.apply_async(args=(model.pk,), connection=connection)
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        job = RescoreJob.objects.exclude(pk__in=before).first()
        if job is not None and job.status != RescoreJob.Status.RUNNING:
            return time.perf_counter() - t0, job
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"the rescore did not finish in {GIVE_UP_SECONDS:.0f} s")


def run_with(n: int, model: Any, env: dict[str, str], broker: str, logs: Path) -> float:
    from labeling.models import Item, Prediction

    predictions_clear()
    workers = workers_start(n, env, logs)
    try:
        load = os.getloadavg()
        seconds, job = rescore_timed(model, broker)
    finally:
        workers_stop(workers)
    items = Item.objects.count()
    scored = Prediction.objects.filter(model_version=model).count()
    assert job.status == "done" and scored == items, (job.status, scored, items)
    print(
        f"  {n} worker(s): {seconds:7.1f} s  ({items / seconds:,.0f} items/s; "
        f"{job.shard_count} shards; load before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})",
        flush=True,
    )
    shards = list(job.shards.order_by("number"))
    for shard in shards:
        took = (shard.finished_at - shard.started_at).total_seconds()
        print(f"      shard {shard.number}: {shard.written:,} items, {took:.1f} s, {shard.worker}")
    first = min(s.started_at for s in shards)
    last = max(s.finished_at for s in shards)
    print(
        f"      planning {(first - job.created_at).total_seconds():.1f} s, shards "
        f"{(last - first).total_seconds():.1f} s, queue rebuild "
        f"{(job.finished_at - last).total_seconds():.1f} s (from the rows' timestamps)"
    )
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--labels", type=int, default=5_000)
    parser.add_argument("--image-share", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shards", type=int, default=4, help="TAXOLOOP_RESCORE_SHARDS")
    parser.add_argument("--threads", type=int, default=1, help="per worker; 0: torch's default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    broker = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    if not redis_answers(broker):
        print(f"skipped: Redis not reachable at {broker}")
        return 0
    with scratch_database(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0
        with tempfile.TemporaryDirectory(prefix="taxoloop-bench-rescore-") as scratch:
            env = bench_env(url, Path(scratch))
            # This process sends nothing by itself (the promotion's rescore goes to memory://).
            django_setup({**env, "CELERY_BROKER_URL": "memory://"})
            t0 = time.perf_counter()
            version = taxonomy_create()
            ids, truth = catalog_create(version, args.items, args.image_share, args.seed)
            labels_create(version, ids, truth, args.labels, args.seed)
            model = model_train(version)
            print(
                f"setup (not timed): {args.items:,} items, {args.labels:,} labels, image share "
                f"{args.image_share:.0%}, model #{model.pk}, in {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
            from taxoloop.celery import app

            with app.connection_for_write(broker) as connection:
                app.control.purge(connection=connection)  # stale messages of an interrupted run
            worker_env = {**env, "CELERY_BROKER_URL": broker}
            worker_env["TAXOLOOP_RESCORE_SHARDS"] = str(args.shards)
            if args.threads:
                worker_env["OMP_NUM_THREADS"] = worker_env["MKL_NUM_THREADS"] = str(args.threads)
            threads = args.threads or "torch default"
            print(f"full rescore, {args.shards} shards, {threads} thread(s) per worker:")
            times = {n: run_with(n, model, worker_env, broker, Path(scratch)) for n in args.workers}
            base = times[min(times)]
            for n, seconds in times.items():
                if n != min(times):
                    print(f"speed-up {min(times)} → {n} workers: {base / seconds:.2f}x")
            print(f"cores: {os.cpu_count()}; load average now {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
