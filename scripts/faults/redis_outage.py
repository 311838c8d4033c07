"""Fault drill, for real: stop Redis (the Celery broker) for a full minute under a running stack.

    .venv/bin/python scripts/faults/redis_outage.py [--outage-seconds 60] [--keep]

Starts a private stack on free ports (its own PostgreSQL cluster, its own redis-server,
gunicorn, one Celery worker and beat; scripts/faults/stack.py), nothing shared with the
machine's services. Then:

1. healthy: reviewers label items through the API; beat trains a model that sees them;
2. outage: redis-server is stopped for ``--outage-seconds``; meanwhile items are created and
   labels saved every few seconds, each must answer 201 within 2 s and be stored, and
   ``/health/`` must report the broker down (and the database up);
3. recovery: redis-server starts again, empty (what was queued is lost); without anyone
   touching the stack, the worker reconnects, beat re-sends the lost training, a new model
   that saw the outage's labels becomes active, and the outage's items get embedded and scored.

Prints every check with its measured figure; exits 1 when one fails. The loop's periods are
shortened (beat every minute, a label waits at most 10 s for a training) so the whole drill
takes about four minutes; the fake encoders of the tests stand in for the real ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.faults.stack import (  # noqa: E402
    AppStack,
    PrivatePostgres,
    PrivateRedis,
    query,
    seed,
    wait_until,
)

FAST_SECONDS = 2.0
LOOP_SETTINGS = {
    "TAXOLOOP_MIN_LABELS_TO_TRAIN": "6",
    "TAXOLOOP_TRAIN_EVERY_N_LABELS": "6",
    "TAXOLOOP_TRAIN_MAX_LABEL_WAIT_SECONDS": "10",
    "TAXOLOOP_TRAIN_EVERY_MINUTES": "1",
    "TAXOLOOP_PROMOTION_MARGIN": "1",  # the drill is about catching up, not model quality
}


@dataclass
class Report:
    failures: int = 0
    lines: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> bool:
        self.failures += not ok
        print(f"  [{'ok' if ok else 'FAILED'}] {what}", flush=True)
        return ok


def _active_model(stack: AppStack) -> tuple[int, Any] | None:
    rows = query(
        stack.database_url,
        "select id, newest_label_at from labeling_modelversion where status = 'active'",
    )
    return rows[0] if rows else None


def _newest_label_at(stack: AppStack) -> Any:
    return query(stack.database_url, "select max(created_at) from labeling_label")[0][0]


def _model_saw_every_label(stack: AppStack) -> bool:
    active, newest = _active_model(stack), _newest_label_at(stack)
    return active is not None and active[1] is not None and active[1] >= newest


def _label(stack: AppStack, token: str, item: int, category: int) -> tuple[int, float]:
    data = {"item": item, "category": category}
    answer = stack.request("POST", "/api/labels/", token=token, data=data)
    return answer.status, answer.seconds


def _create_item(stack: AppStack, token: str, external_id: str, title: str) -> tuple[int, float]:
    data = {"external_id": external_id, "title": title}
    answer = stack.request("POST", "/api/items/", token=token, data=data)
    return answer.status, answer.seconds


def _health(stack: AppStack) -> dict[str, str]:
    answer = stack.request("GET", "/health/")
    components: dict[str, str] = answer.json()["components"]
    return components


def embed_all(stack: AppStack, n_items: int, report: Report) -> None:
    """Send the embedding task once (seeded items were written without one)."""
    stack.shell("from labeling.tasks import embed_items_task; embed_items_task.delay(); print(1)")
    sql = "select count(distinct item_id) from labeling_embedding"
    done = wait_until(lambda: query(stack.database_url, sql)[0][0] == n_items, 120, interval=1)
    report.check(done, f"the worker embedded the {n_items} seeded items")


def healthy_phase(stack: AppStack, token: str, truth: list[tuple[int, int]], report: Report) -> int:
    print("1. healthy stack: 12 labels, beat trains on them", flush=True)
    answers = [_label(stack, token, item, leaf) for item, leaf in truth[:12]]
    report.check(all(s == 201 for s, _ in answers), f"12 labels saved: {[s for s, _ in answers]}")
    trained = wait_until(lambda: _model_saw_every_label(stack), 180, interval=2)
    report.check(trained, "an active model saw all 12 labels")
    active = _active_model(stack)
    return active[0] if active else 0


def outage_phase(
    stack: AppStack,
    redis: PrivateRedis,
    token: str,
    truth: list[tuple[int, int]],
    seconds: float,
    report: Report,
) -> tuple[list[str], int]:
    print(f"2. redis-server stopped for {seconds:.0f} s; the app keeps working", flush=True)
    redis.stop()
    stopped = time.monotonic()
    created, timings, statuses, health = [], [], [], []
    pending = list(truth[12:18])
    n = 0
    while time.monotonic() - stopped < seconds:
        n += 1
        if pending:
            status, took = _label(stack, token, *pending.pop(0))
            statuses.append(status)
            timings.append(took)
        status, took = _create_item(stack, token, f"OUTAGE-{n}", "Sneakers outage arrival")
        statuses.append(status)
        timings.append(took)
        created.append(f"OUTAGE-{n}")
        health.append(_health(stack))
        time.sleep(max(0.0, min(5.0, seconds - (time.monotonic() - stopped))))
    report.check(
        time.monotonic() - stopped >= seconds, f"broker down {time.monotonic() - stopped:.0f} s"
    )
    report.check(
        all(s == 201 for s in statuses),
        f"{len(statuses)} writes during the outage: {set(statuses)}",
    )
    report.check(
        max(timings) < FAST_SECONDS, f"slowest write {max(timings):.2f} s (< {FAST_SECONDS} s)"
    )
    report.check(
        all(h["broker"] == "down" and h["database"] == "ok" for h in health),
        f"/health/ every poll: broker down, database ok ({len(health)} polls)",
    )
    labels = query(stack.database_url, "select count(*) from labeling_label")[0][0]
    report.check(labels == 18, f"labels stored: {labels} (12 before + 6 during)")
    queued = query(
        stack.database_url, "select id from labeling_trainingrun where status = 'queued'"
    )
    report.check(
        len(queued) == 1, "the 6th outage label requested a training (queued, its message lost)"
    )
    redis.start()
    return created, queued[0][0] if queued else 0


def recovery_phase(
    stack: AppStack, before: int, created: list[str], lost_run: int, report: Report
) -> None:
    print("3. redis-server back, empty: the loop catches up by itself", flush=True)
    started = time.monotonic()
    workers_ok = wait_until(lambda: _health(stack).get("workers") == "ok", 120, interval=2)
    report.check(workers_ok, f"worker reconnected after {time.monotonic() - started:.0f} s")
    caught_up = wait_until(lambda: _model_saw_every_label(stack), 240, interval=2)
    active = _active_model(stack)
    report.check(
        caught_up and active is not None and active[0] != before,
        f"new active model #{active[0] if active else None} saw the outage's labels "
        f"after {time.monotonic() - started:.0f} s",
    )
    run = query(
        stack.database_url,
        "select status, model_version_id from labeling_trainingrun where id = %s",
        lost_run,
    )
    report.check(
        bool(active) and run == [("succeeded", active[0] if active else 0)],
        f"the model came from the lost run #{lost_run}, re-sent by beat: {run}",
    )
    sql = (
        "select count(*) from labeling_item i join labeling_prediction p on p.item_id = i.id"
        " where i.external_id = any(%s) and p.model_version_id = %s"
    )
    scored = wait_until(
        lambda: (
            query(stack.database_url, sql, created, active[0] if active else 0)[0][0]
            == len(created)
        ),
        180,
        interval=2,
    )
    report.check(scored, f"{len(created)} items created during the outage embedded and scored")
    report.check(all(v == "ok" for v in _health(stack).values()), f"/health/: {_health(stack)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-seconds", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep logs and folders; print where")
    args = parser.parse_args()
    report = Report()
    postgres = PrivatePostgres()
    folder = postgres.folder / "stack"
    folder.mkdir()
    redis = PrivateRedis(folder)
    stack = AppStack(postgres.url(), redis.url, folder, extra_env=LOOP_SETTINGS)
    print(f"private stack: PostgreSQL :{postgres.port}, Redis :{redis.port}, web :{stack.web_port}")
    try:
        postgres.init()
        postgres.start()
        postgres.create_database("taxoloop")
        redis.start()
        stack.manage("migrate", "--noinput", "-v0")
        data = seed(stack)
        stack.start_web()
        stack.start_worker()
        stack.start_beat()
        truth = list(data["items"].items())
        embed_all(stack, len(truth), report)
        before = healthy_phase(stack, data["token"], truth, report)
        created, lost_run = outage_phase(
            stack, redis, data["token"], truth, args.outage_seconds, report
        )
        recovery_phase(stack, before, created, lost_run, report)
    finally:
        stack.stop_all()
        if redis.is_up():
            redis.stop()
        if args.keep:
            postgres.stop()
            print(f"logs and the stopped cluster in {postgres.folder}")
        else:
            postgres.destroy()
    print("PASSED" if not report.failures else f"FAILED: {report.failures} check(s)")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
