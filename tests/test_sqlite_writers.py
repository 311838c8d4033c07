"""The embedded default (SQLite) with a web process and a worker writing at once loses nothing.

The trial of issue 14 lost a review decision to ``database is locked`` while the worker
promoted a model: a transaction that reads and then writes (every service does) cannot wait for
another process's commit in between, whatever the busy timeout. Two real processes here, with
the project's own database settings on a file in WAL mode: a "worker" holding short write
transactions in a loop, and a "web" process making read-then-write decisions meanwhile. Every
decision must land. (Runs whatever ``DATABASE_URL`` the suite has: it makes its own file.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SETUP = """
import os, sys, time, json
import django
django.setup()
from django.db import OperationalError, connection, transaction
"""

MAKE_TABLE = """
with connection.cursor() as c:
    c.execute("CREATE TABLE counter (id integer primary key, n integer not null)")
    c.execute("INSERT INTO counter VALUES (1, 0), (2, 0)")
"""

# The worker: write transactions of ~20 ms back to back (a rescore writing chunks).
WORKER = """
deadline = time.monotonic() + float(sys.argv[1])
done = 0
while time.monotonic() < deadline:
    with transaction.atomic():
        with connection.cursor() as c:
            c.execute("UPDATE counter SET n = n + 1 WHERE id = 2")
            time.sleep(0.02)
    done += 1
    time.sleep(0.002)
print(json.dumps({"done": done}))
"""

# The web process: decisions that read, then write (a label after reading the item and queue).
WEB = """
errors, done = [], 0
for _ in range(int(sys.argv[1])):
    try:
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute("SELECT n FROM counter WHERE id = 1")
                n = c.fetchone()[0]
                time.sleep(0.005)
                c.execute("UPDATE counter SET n = %s WHERE id = 1", [n + 1])
        done += 1
    except OperationalError as exc:
        errors.append(str(exc))
with connection.cursor() as c:
    c.execute("SELECT n FROM counter WHERE id = 1")
    print(json.dumps({"done": done, "errors": errors[:3], "failed": len(errors), "n": c.fetchone()[0]}))
"""


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE")}
    env |= {
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_SETTINGS_MODULE": "taxoloop.settings.test",
        "PYTHONPATH": str(REPO_ROOT),
    }
    return env


def _script(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(SETUP) + textwrap.dedent(body)]


def test_a_web_process_and_a_worker_write_at_once_and_no_decision_is_lost(tmp_path):
    db = tmp_path / "taxoloop.sqlite3"
    env = _env(db)
    subprocess.run(_script(MAKE_TABLE), env=env, check=True, cwd=REPO_ROOT, timeout=120)
    decisions = 150
    worker = subprocess.Popen(
        [*_script(WORKER), "6"], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        web = subprocess.run(
            [*_script(WEB), str(decisions)],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        worker_out, _ = worker.communicate(timeout=120)
    assert web.returncode == 0, web.stderr[-2000:]
    result = json.loads(web.stdout.strip().splitlines()[-1])
    assert json.loads(worker_out.strip().splitlines()[-1])["done"] > 0
    assert (result["failed"], result["errors"]) == (0, [])
    assert (result["done"], result["n"]) == (decisions, decisions)


def test_the_embedded_default_uses_wal_a_busy_timeout_and_immediate_transactions(tmp_path):
    probe = """
    from django.conf import settings
    with connection.cursor() as c:
        c.execute("PRAGMA journal_mode")
        mode = c.fetchone()[0]
    options = settings.DATABASES["default"]["OPTIONS"]
    print(json.dumps({"mode": mode, "timeout": options["timeout"],
                      "transaction_mode": options["transaction_mode"]}))
    """
    out = subprocess.run(
        _script(probe),
        env=_env(tmp_path / "probe.sqlite3"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["mode"] == "wal"
    assert found["transaction_mode"] == "IMMEDIATE"
    assert found["timeout"] >= 20
