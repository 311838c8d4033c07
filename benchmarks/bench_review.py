"""The review queue under load: 100,000 queue entries, 20 reviewers at once, real HTTP.

    python benchmarks/bench_review.py [--entries 100000] [--reviewers 20] [--decisions 40]
                                      [--think 0.3] [--workers 4] [--keep-db]

Builds a throwaway PostgreSQL database (``taxoloop_bench_review``: created, migrated, dropped
at the end) with a 7 x 5 x 4 taxonomy, ``--entries`` items each with a prediction and a queue
entry, and ``--reviewers`` users in the Reviewer group. Starts ``gunicorn`` (``--workers``
sync workers, production settings) and drives it with one thread per reviewer, each its own
HTTP session: log in through the login form, open the queue as htmx does, then
``--decisions`` times "decide (POST review/decide/ with the CSRF header) and get the next
item" with ``--think`` seconds between decisions (0 = as fast as possible).

Figures: server time of "decide and get the next item" from gunicorn's access log (``%(D)s``:
from reading the request to writing the response, without the time a request waits for a
free worker), p50/p95/max; the client's round trip beside it; throughput. Target: server p95
under 50 ms. Checks: no item was handed to two reviewers (nor twice to one), and no decision
was lost (every accepted POST is one label in the ledger, its item's entry is gone, and the
queue shrank by exactly that many). Skips with a message when PostgreSQL is not reachable.

Environment: ``BENCH_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/taxoloop_bench_review;
the database is dropped first).
"""

from __future__ import annotations

import argparse
import http.client
import http.cookies
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._pg import bench_env, django_setup, scratch_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_review"
TARGET_P95_MS = 50.0
SHAPE = (7, 5, 4)
CHUNK = 10_000
PASSWORD = "bench-password-123"  # noqa: S105
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"


def seed(n_entries: int, n_reviewers: int) -> list[str]:
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
    from labeling.services.labels import rows_insert
    from labeling.services.taxonomy_import import taxonomy_import_text

    a, b, c = SHAPE
    text = "\n".join(
        f"Dept {i} > Group {i}.{j} > Kind {i}.{j}.{k}"
        for i in range(a)
        for j in range(b)
        for k in range(c)
    )
    taxonomy_import_text(text=text, name="Bench", fmt="paths", publish=True)
    version = TaxonomyVersion.objects.get(is_current=True)
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
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return names


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


def gunicorn_start(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    exe = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [
        exe,
        "taxoloop.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "--access-logfile",
        str(log),
        "--access-logformat",
        ACCESS_FORMAT,
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start within 30 s")


# -- one reviewer -------------------------------------------------------------------------------


ITEM_RE = re.compile(r'data-item="(\d+)"')
SHOWN_RE = re.compile(r'name="shown" value="([^"]+)"')
TOP_RE = re.compile(r'name="category" value="(\d+)" class="candidate top"')
CSRF_FIELD_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Reviewer:
    name: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    shown_items: list[int] = field(default_factory=list)
    accepted: list[int] = field(default_factory=list)  # items whose decision got a 200
    round_trips: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def request(
        self, method: str, path: str, body: dict | None = None, htmx: bool = False
    ) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Referer": f"http://127.0.0.1:{self.port}/",
        }
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        if htmx:
            headers["HX-Request"] = "true"
        conn.request(method, path, data, headers)
        response = conn.getresponse()
        text = response.read().decode()
        for raw in response.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie(raw)
            self.cookies.update({k: m.value for k, m in cookie.items()})
        conn.close()
        return response.status, text

    def login(self) -> None:
        _, page = self.request("GET", "/login/")
        token = CSRF_FIELD_RE.search(page).group(1)
        status, _ = self.request(
            "POST",
            "/login/",
            {"username": self.name, "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        if status != 302:
            raise RuntimeError(f"{self.name}: login answered {status}")

    def run(self, decisions: int, think: float, start: threading.Barrier) -> None:
        try:
            self.login()
            start.wait()
            status, card = self.request("GET", "/review/", htmx=True)
            for _ in range(decisions):
                item = self._shown(card)
                if item is None:
                    break
                body = {
                    "shown": SHOWN_RE.search(card).group(1),
                    "category": TOP_RE.search(card).group(1),
                }
                t0 = time.perf_counter()
                status, card = self.request("POST", "/review/decide/", body, htmx=True)
                self.round_trips.append(time.perf_counter() - t0)
                if status != 200 or "notice error" in card:
                    self.errors.append(f"decide {item}: {status}")
                else:
                    self.accepted.append(item)
                if think:
                    time.sleep(think)
        except Exception as exc:  # noqa: BLE001 (reported with the figures)
            self.errors.append(repr(exc))

    def _shown(self, card: str) -> int | None:
        match = ITEM_RE.search(card)
        if match is None:
            return None
        item = int(match.group(1))
        self.shown_items.append(item)
        return item


# -- figures and checks ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def server_times_ms(log: Path) -> list[float]:
    out = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "POST" and parts[1] == "/review/decide/":
            out.append(int(parts[3]) / 1000.0)
    return out


def check(reviewers: list[Reviewer], n_entries: int) -> list[str]:
    from labeling.models import Label, QueueEntry

    problems = []
    handed = [i for r in reviewers for i in r.shown_items]
    if len(handed) != len(set(handed)):
        problems.append(f"{len(handed) - len(set(handed))} item(s) handed out twice")
    accepted = [i for r in reviewers for i in r.accepted]
    labels = list(Label.objects.filter(source="review").values_list("item_id", flat=True))
    if sorted(labels) != sorted(accepted):
        problems.append(f"{len(accepted)} decisions accepted but {len(labels)} labels written")
    if QueueEntry.objects.filter(item_id__in=accepted).exists():
        problems.append("a decided item is still in the queue")
    if QueueEntry.objects.count() != n_entries - len(accepted):
        problems.append(
            f"queue has {QueueEntry.objects.count()} entries, expected {n_entries - len(accepted)}"
        )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=40, help="per reviewer")
    parser.add_argument("--think", type=float, default=0.3, help="seconds between decisions")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    with scratch_database(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0
        scratch = Path(tempfile.mkdtemp(prefix="taxoloop-bench-review-"))
        env = bench_env(
            url,
            scratch,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CELERY_BROKER_URL="memory://",
            LOG_LEVEL="WARNING",
        )
        (scratch / "var" / "staticfiles").mkdir(parents=True)  # whitenoise warns when missing
        server = None
        try:
            t0 = time.perf_counter()
            django_setup(env)
            names = seed(args.entries, args.reviewers)
            print(
                f"seeded {args.entries:,} queue entries, {len(names)} reviewers "
                f"in {time.perf_counter() - t0:.1f} s"
            )
            from django.db import connections

            connections.close_all()
            log = scratch / "access.log"
            port = free_port()
            server = gunicorn_start(env, port, args.workers, log)
            reviewers = [Reviewer(n, port) for n in names]
            barrier = threading.Barrier(len(reviewers))
            threads = [
                threading.Thread(target=r.run, args=(args.decisions, args.think, barrier))
                for r in reviewers
            ]
            t1 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t1
            time.sleep(0.5)  # let gunicorn flush the access log
            return report(reviewers, server_times_ms(log), wall, args)
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            shutil.rmtree(scratch, ignore_errors=True)


def report(reviewers: list[Reviewer], server_ms: list[float], wall: float, args: Any) -> int:
    rtt = [s * 1000 for r in reviewers for s in r.round_trips]
    errors = [e for r in reviewers for e in r.errors]
    n = len(rtt)
    print(
        f"{len(reviewers)} reviewers x {args.decisions} decisions, think {args.think} s, "
        f"{args.workers} gunicorn workers: {n} decisions in {wall:.1f} s ({n / wall:.0f}/s)"
    )
    if server_ms:
        print(
            f"server time decide+next: p50 {statistics.median(server_ms):.1f} ms, "
            f"p95 {percentile(server_ms, 0.95):.1f} ms, max {max(server_ms):.1f} ms "
            f"({len(server_ms)} requests; target p95 < {TARGET_P95_MS:.0f} ms)"
        )
    if rtt:
        print(
            f"client round trip:       p50 {statistics.median(rtt):.1f} ms, "
            f"p95 {percentile(rtt, 0.95):.1f} ms, max {max(rtt):.1f} ms"
        )
    problems = check(reviewers, args.entries) + [f"error: {e}" for e in errors[:10]]
    handed = sum(len(r.shown_items) for r in reviewers)
    print(
        f"items handed out: {handed}, all distinct: {'yes' if not problems else 'see below'}; "
        f"decisions accepted: {sum(len(r.accepted) for r in reviewers)}"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    ok = not problems and bool(server_ms) and percentile(server_ms, 0.95) < TARGET_P95_MS
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
