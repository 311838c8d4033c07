"""The review queue under load: 100,000 queue entries, 20 reviewers at once, real HTTP (Locust).

    python benchmarks/bench_review.py [--entries 100000] [--reviewers 20] [--decisions 30]
                                      [--think 2 0.5] [--workers 4] [--overlap 0.1] [--keep-db]
    python benchmarks/bench_review.py --reviewers 50 --duration 600 --think 2   # sustained

Builds a throwaway PostgreSQL database (``taxoloop_bench_review``: created, migrated, dropped
at the end) with a 7 x 5 x 4 taxonomy, ``--entries`` items each with a prediction and a queue
entry, and ``--reviewers`` users in the Reviewer group. Starts ``gunicorn`` (``--workers``
sync workers, production-like settings plus ``labeling.server_timing``) and runs Locust
headless (``benchmarks/locust_review.py``) once per ``--think`` value: one Locust user per
reviewer logs in, opens the queue as htmx does, then ``--decisions`` times "decide and get
the next item" (POST review/decide/, CSRF token in the header) plus the figures refresh the
page makes on its timer (the session's own figures come with each card), thinking
``--think`` seconds in between. The default runs
a realistic pace (2 s per item: reviewers read the item) and then a stress pace (0.5 s).
With ``--duration S`` each reviewer instead goes on for S seconds (counted from the moment
every reviewer has logged in), however many decisions that makes: the sustained-load run.
``--overlap`` (default 0.1, the product's default share) sends that share of the entries to
two reviewers each, blind (issue 16): their first answer puts the entry back in the pool, the
second resolves it (the bench always picks the top candidate, so they agree).

Figures per run: server time of "decide and get the next item" as the server measured it
(the ``Server-Timing`` header's ``app`` duration: the application's time, without waiting
for a free worker or the wire), p50/p95/p99/max; the client's round trip beside it; the
figures refresh; throughput. Target: server p95 under 50 ms. Checks per run: no item was
handed to two reviewers (nor twice to one; an overlap item to at most two, never twice to
one), and no decision was lost (every accepted POST is one label of its reviewer in the
ledger, its item's entry is gone once all its answers are in, and the queue shrank by
exactly that many). Skips with a message when PostgreSQL is not reachable or Locust is not installed
(``pip install -e '.[bench]'``).

Environment: ``BENCH_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/taxoloop_bench_review;
the database is dropped first).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._pg import bench_env, django_setup, scratch_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_review"
TARGET_P95_MS = 50.0
SHAPE = (7, 5, 4)
CHUNK = 10_000
PASSWORD = "bench-password-123"  # noqa: S105
LOCUSTFILE = ROOT / "benchmarks" / "locust_review.py"
# Production-like settings with the Server-Timing middleware first (until settings carry it).
SETTINGS = "taxoloop.settings.bench_review"


def seed(n_entries: int, n_reviewers: int, overlap_share: float) -> list[str]:
    """Taxonomy, items, predictions, queue entries (COPY) and reviewers; their usernames."""
    import random

    from django.contrib.auth.models import Group, User

    from labeling.models import (
        Category,
        Item,
        ModelVersion,
        Prediction,
        QueueEntry,
        TaxonomyVersion,
    )
    from labeling.roles import REVIEWER
    from labeling.services.review.labels import rows_insert
    from labeling.services.review.overlap import answers_needed
    from labeling.services.taxonomy.imports import taxonomy_import_text

    a, b, c = SHAPE
    text = "\n".join(
        f"Dept {i} > Group {i}.{j} > Kind {i}.{j}.{k}"
        for i in range(a)
        for j in range(b)
        for k in range(c)
    )
    taxonomy_import_text(text=text, name="Bench", fmt="paths", publish=True)
    version = TaxonomyVersion.objects.get(is_current=True)
    version.overlap_share = overlap_share
    version.save(update_fields=["overlap_share"])
    leaves = list(
        Category.objects.filter(version=version, is_leaf=True).values_list("pk", flat=True)
    )
    mv = ModelVersion.objects.create(taxonomy_version=version, status="active")
    rng = random.Random(0)
    for start in range(0, n_entries, CHUNK):
        rows_insert(objects=[_item(i) for i in range(start, min(start + CHUNK, n_entries))])
    ids = list(Item.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), CHUNK):
        block = ids[start : start + CHUNK]
        preds, entries = [], []
        for n, item_id in enumerate(block):
            top = rng.sample(leaves, 3)
            cands = [
                {"category": top[0], "p": 0.5},
                {"category": top[1], "p": 0.3},
                {"category": top[2], "p": 0.2},
            ]
            preds.append(
                Prediction(
                    item_id=item_id,
                    model_version=mv,
                    top_category_id=top[0],
                    candidates=cands,
                    confidence=0.5,
                    margin=0.2,
                )
            )
            entries.append(
                QueueEntry(
                    item_id=item_id,
                    priority=1.0 - (start + n) / len(ids),
                    reason="uncertain",
                    model_version=mv,
                    detail={"between": top[:2], "margin": 0.2},
                    answers_needed=answers_needed(
                        item_id=item_id, version=version, reason="uncertain"
                    ),
                )
            )
        Prediction.objects.bulk_create(preds, batch_size=2000)
        QueueEntry.objects.bulk_create(entries, batch_size=2000)
    group, _ = Group.objects.get_or_create(name=REVIEWER)
    names = []
    for r in range(n_reviewers):
        user = User.objects.create_user(f"reviewer{r:02d}", password=PASSWORD)
        user.groups.add(group)
        names.append(user.username)
    settle()
    return names


def settle() -> None:
    """Leave the freshly loaded database as a long-running one is: statistics, visibility map
    and hint bits set (VACUUM), dirty pages written (CHECKPOINT), so the measured requests do
    not pay for the bulk load's aftermath."""
    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError:  # needs superuser or pg_checkpoint; the figures are then noisier
            print("note: no CHECKPOINT permission; the first requests may pay for the bulk load")


def _item(i: int) -> Any:
    from labeling.models import Item

    return Item(
        external_id=f"BENCH-{i:07d}",
        title=f"Bench product {i}",
        description="A product to review",
        attributes={"colour": "blue"},
        content_hash=f"{i:064d}",
    )


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_start(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    exe = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [
        exe,
        "benchmarks.review_wsgi",
        "--preload",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
    ]
    proc = subprocess.Popen(
        [*cmd, "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start within 30 s")


# -- one Locust run -------------------------------------------------------------------------------


@dataclass
class Run:
    """What the reviewers of one Locust run saw (read from the users' JSON files)."""

    think: float
    wall: float
    load: tuple[float, float]  # the machine's 1-minute load average before and after
    users: list[dict[str, Any]]

    def values(self, key: str) -> list[float]:
        return [v for u in self.users for v in u[key] if v is not None]


def locust_run(
    port: int, names: list[str], think: float, decisions: int, out: Path, duration: float = 0
) -> Run:
    """Run Locust headless, one user per reviewer, until each has made ``decisions`` (or,
    with ``duration``, for that many seconds)."""
    out.mkdir(parents=True)
    env = {
        **os.environ,
        "BENCH_USERS": ",".join(names),
        "BENCH_PASSWORD": PASSWORD,
        "BENCH_THINK": str(think),
        "BENCH_DECISIONS": str(decisions),
        "BENCH_DURATION": str(duration),
        "BENCH_OUT": str(out),
        "BENCH_FIGURES_EVERY": str(_figures_every()),
    }
    # A backstop; the last user to finish ends the run.
    limit = int(duration + 120) if duration else int(decisions * (think + 2) + 60)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    cmd += ["-u", str(len(names)), "-r", str(len(names)), "-H", f"http://127.0.0.1:{port}"]
    cmd += ["--run-time", f"{limit}s", "--only-summary", "--loglevel", "WARNING"]
    started, load = time.perf_counter(), os.getloadavg()[0]
    done = subprocess.run(cmd, cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    wall = time.perf_counter() - started
    users = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    if done.returncode not in (0, 1) or len(users) < len(names):  # 1: some request failed
        print(f"locust exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return Run(think, wall, (load, os.getloadavg()[0]), users)


def _figures_every() -> int:
    from labeling.views.review import QUEUE_REFRESH_SECONDS

    return QUEUE_REFRESH_SECONDS


# -- figures and checks ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def spread(values: list[float]) -> str:
    if not values:
        return "no requests"
    return (
        f"p50 {percentile(values, 0.5):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
        f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms ({len(values)} requests)"
    )


def check(run: Run, n_entries: int, done_before: int) -> list[str]:
    """Problems of one run: items handed out twice (an overlap item: more than its answers,
    or twice to one reviewer), decisions missing from the ledger."""
    from labeling.models import Label, OverlapAnswer, QueueEntry

    problems = []
    needed = dict(QueueEntry.objects.values_list("item_id", "answers_needed"))
    overlapped = set(OverlapAnswer.objects.values_list("item_id", flat=True))
    for user in run.users:
        if len(user["shown"]) != len(set(user["shown"])):
            problems.append(f"{user['user']} was handed an item twice")
        counts = user.get("session_counts", [])
        if counts != list(range(1, len(counts) + 1)):
            problems.append(f"{user['user']}'s session count did not follow the decisions")
    handed: dict[int, int] = {}
    for i in (i for u in run.users for i in set(u["shown"])):
        handed[i] = handed.get(i, 0) + 1
    twice = [i for i, n in handed.items() if n > (2 if i in overlapped else 1)]
    if twice:
        problems.append(f"{len(twice)} item(s) handed out to more reviewers than they need")
    accepted = [(u["user"], i) for u in run.users for i in u["accepted"]]
    answers = Label.objects.filter(source="review", item_id__in=[i for _, i in accepted])
    written = set(answers.exclude(context="agreed").values_list("author__username", "item_id"))
    if written != set(accepted) or len(set(accepted)) != len(accepted):
        problems.append(f"{len(accepted)} decisions accepted but {len(written)} labels written")
    open_items = set(
        OverlapAnswer.objects.filter(overlap__status="open").values_list("item_id", flat=True)
    )
    decided = {i for _, i in accepted} - open_items
    if QueueEntry.objects.filter(item_id__in=decided).exists():
        problems.append("a decided item is still in the queue")
    still = sum(1 for i in open_items if needed.get(i, 0) > 1)
    expected = n_entries - done_before - len(decided)
    if QueueEntry.objects.count() != expected:
        problems.append(
            f"queue has {QueueEntry.objects.count()} entries, expected {expected} "
            f"({still} overlap items waiting for their second answer)"
        )
    return problems + [f"error: {e}" for u in run.users for e in u["errors"]][:10]


def report(run: Run, problems: list[str], args: Any) -> bool:
    server = run.values("decide_server_ms")
    n = len(run.values("decide_client_ms"))
    errors = sum(len(u["errors"]) for u in run.users)
    pace = f"for {args.duration:.0f} s" if args.duration else f"x {args.decisions} decisions"
    print(
        f"\n{len(run.users)} reviewers {pace}, think {run.think} s, "
        f"{args.workers} gunicorn workers: {n} decisions in {run.wall:.1f} s ({n / run.wall:.1f}/s); "
        f"load average before/after {run.load[0]:.1f}/{run.load[1]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"server time decide+next: {spread(server)}; target p95 < {TARGET_P95_MS:.0f} ms")
    print(f"  of which database:     {spread(run.values('decide_db_ms'))}")
    print(f"client round trip:       {spread(run.values('decide_client_ms'))}")
    print(f"figures refresh, server: {spread(run.values('figures_server_ms'))}")
    handed = sum(len(u["shown"]) for u in run.users)
    print(f"errors: {errors} of {n} decisions (error rate {errors / max(n, 1):.2%})")
    print(
        f"items handed out: {handed}; decisions accepted: "
        f"{sum(len(u['accepted']) for u in run.users)}; checks: {'ok' if not problems else 'FAILED'}"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    ok = not problems and bool(server) and percentile(server, 0.95) < TARGET_P95_MS
    print("PASS" if ok else "FAIL")
    return ok


def _overlap_figures() -> None:
    from django.db.models import Count

    from labeling.models import Overlap, OverlapAnswer

    by_status = dict(Overlap.objects.values_list("status").annotate(n=Count("id")))
    print(f"overlap: {OverlapAnswer.objects.count()} answers so far; items by status {by_status}")


def _queue_size() -> int:
    from labeling.models import QueueEntry

    return QueueEntry.objects.count()


def release_leases() -> None:
    """Between runs: every lease ends, as if the reviewers had gone home."""
    from labeling.models import QueueEntry

    QueueEntry.objects.filter(lease_holder__isnull=False).update(
        lease_holder=None, lease_expires_at=None
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=30, help="per reviewer and run")
    parser.add_argument(
        "--think", type=float, nargs="+", default=[2.0, 0.5], help="seconds per item; one run each"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--duration", type=float, default=0, help="seconds per run instead of --decisions"
    )
    parser.add_argument(
        "--overlap", type=float, default=0.1, help="share of entries answered by two reviewers"
    )
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if importlib.util.find_spec("locust") is None:
        print("skipped: Locust is not installed (pip install -e '.[bench]')")
        return 0

    with scratch_database(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0
        scratch = Path(tempfile.mkdtemp(prefix="taxoloop-bench-review-"))
        env = bench_env(
            url,
            scratch,
            DJANGO_SETTINGS_MODULE=SETTINGS,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CELERY_BROKER_URL="memory://",
            LOG_LEVEL="WARNING",
        )
        (scratch / "var" / "staticfiles").mkdir(parents=True)  # whitenoise warns when missing
        server = None
        try:
            t0 = time.perf_counter()
            django_setup(env)
            names = seed(args.entries, args.reviewers, args.overlap)
            print(
                f"seeded {args.entries:,} queue entries, {len(names)} reviewers "
                f"in {time.perf_counter() - t0:.1f} s"
            )
            from django.db import connections

            connections.close_all()
            port = free_port()
            server = gunicorn_start(env, port, args.workers)
            ok, accepted = True, 0
            for n, think in enumerate(args.think):
                release_leases()
                decisions = 10**9 if args.duration else args.decisions
                run = locust_run(port, names, think, decisions, scratch / f"run{n}", args.duration)
                ok = report(run, check(run, args.entries, accepted), args) and ok
                _overlap_figures()
                accepted = args.entries - _queue_size()
            return 0 if ok else 1
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
