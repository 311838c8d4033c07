"""A private Taxoloop stack for fault drills: its own PostgreSQL cluster, its own redis-server,
gunicorn, a Celery worker and beat, all on free ports and temporary folders.

Nothing here touches the system PostgreSQL (5432) or Redis (6379): the drills stop and restart
their own services, so they can run beside other work. Used by the fault tests
(tests/integration/test_faults_*.py) and by the drill scripts in this folder.

The web and Celery processes run the production settings with the fake encoders of the
tests (no weights to load: a drill is about the plumbing, not the model) unless
``real_encoders`` is set.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(REPO_ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable
SITECUSTOMIZE = """
from tests.labeling.services.fake_encoders import register_fake_encoders
register_fake_encoders()
"""


class DrillError(RuntimeError):
    """A drill could not set up its stack (a service missing, a process that did not start)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# -- PostgreSQL --------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps initdb off the PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


class PrivatePostgres:
    """A throw-away cluster: ``initdb`` into a temporary folder, trust auth, one port.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
    user (and its folder lives outside pytest's root-only temporary folders).
    """

    def __init__(self, port: int | None = None) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise DrillError("PostgreSQL's initdb is not installed (apt-get install postgresql)")
        self.bin = bin_dir
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="taxoloop-drill-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, user="postgres", group="postgres")
            os.chmod(self.folder, 0o755)

    def url(self, database: str = "taxoloop") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise DrillError(f"{' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}")
        return result

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")

    def _options(self) -> str:
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log),
                  "-o", self._options())  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back at once."""
        self._run("pg_ctl", "restart", "-w", "-m", "fast", "-D", str(self.data),
                  "-l", str(self.log), "-o", self._options())  # fmt: skip

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def is_up(self) -> bool:
        return _listening(self.port)

    def destroy(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data), check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


# -- Redis -------------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server without persistence on its own port: a restart loses queued messages."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        if shutil.which("redis-server") is None:
            raise DrillError("redis-server is not installed (apt-get install redis-server)")
        self.port = port or free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--save", "", "--appendonly", "no"]
        with (self.folder / "redis.log").open("a") as log:
            self.proc = subprocess.Popen(
                ["redis-server", *args], stdout=log, stderr=subprocess.STDOUT
            )
        if not wait_until(self.is_up, 10):
            raise DrillError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if not wait_until(lambda: not self.is_up(), 10):
            raise DrillError(f"redis-server on port {self.port} did not stop")

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


# -- the Django processes ----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class AppStack:
    """Web (gunicorn), worker and beat processes on ``database_url`` and ``broker_url``."""

    database_url: str
    broker_url: str
    folder: Path
    real_encoders: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "taxoloop.settings.production",
            "DEBUG": "0",
            "SECRET_KEY": "fault-drill-only",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "MEDIA_ROOT": str(self.folder / "media"),
            "TAXOLOOP_VAR_DIR": str(self.folder / "var"),
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
        }
        env.pop("CACHE_URL", None)
        paths = [str(REPO_ROOT)]
        if not self.real_encoders:
            site = self.folder / "site"
            site.mkdir(exist_ok=True)
            (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
            paths.insert(0, str(site))
            env["TAXOLOOP_TEXT_ENCODER"], env["TAXOLOOP_IMAGE_ENCODER"] = "fake-text", "fake-image"
        env["PYTHONPATH"] = os.pathsep.join(paths)
        return {**env, **self.extra_env}

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise DrillError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> Any:
        """Run ``code`` in ``manage.py shell``; it must print one JSON value last."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("a") as log:
            proc = subprocess.Popen(
                args, cwd=REPO_ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        self.procs[name] = proc
        return proc

    def start_web(self) -> subprocess.Popen[bytes]:
        proc = self._spawn(
            "web",
            [PYTHON, "-m", "gunicorn", "taxoloop.wsgi:application", "--workers", "1",
             "--bind", f"127.0.0.1:{self.web_port}", "--timeout", "60"],
        )  # fmt: skip
        if not wait_until(lambda: _listening(self.web_port) or proc.poll() is not None, 60):
            raise DrillError("gunicorn did not start listening in 60 s")
        if proc.poll() is not None:
            raise DrillError(f"gunicorn exited:\n{self.log('web')}")
        return proc

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self._spawn(
            name,
            [PYTHON, "-m", "celery", "-A", "taxoloop", "worker", "-P", "solo", "-l", "info",
             "--without-mingle", "--without-gossip", "-n", f"{name}-{os.getpid()}@%h"],
        )  # fmt: skip

    def start_beat(self) -> subprocess.Popen[bytes]:
        schedule = str(self.folder / "beat-schedule")
        return self._spawn(
            "beat", [PYTHON, "-m", "celery", "-A", "taxoloop", "beat", "-l", "info", "-s", schedule]
        )

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str = "",
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        form: bytes | None = None,
    ) -> Answer:
        """One HTTP request to the web process; any status is returned, never raised."""
        sent = dict(headers or {})
        body = form
        if data is not None:
            body = json.dumps(data).encode()
            sent["Content-Type"] = "application/json"
        if token:
            sent["Authorization"] = f"Token {token}"
        url = f"http://127.0.0.1:{self.web_port}{path}"
        request = urllib.request.Request(url, data=body, method=method, headers=sent)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, content, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, content, got = error.code, error.read(), dict(error.headers)
        return Answer(status, content, time.monotonic() - started, got)


SEED = """
import json
from django.contrib.auth.models import Group
from labeling.models import Category
from labeling.roles import REVIEWER, TAXONOMY_ADMIN
from tests.factories import (
    ItemFactory, TaxonomyVersionFactory, UserFactory, api_token_for, make_tree,
)
from tests.conftest import SMALL_TREE
version = TaxonomyVersionFactory(taxonomy__name="Shop")
make_tree(version, SMALL_TREE)
leaves = list(Category.objects.filter(version=version, is_leaf=True).order_by("path"))
items = [ItemFactory(title=f"{leaf.name} item {i}") for leaf in leaves for i in range(PER_LEAF)]
user = UserFactory(username="drill", roles=[REVIEWER, TAXONOMY_ADMIN])
token = api_token_for(user, name="fault drill")
print(json.dumps({
    "version": version.pk,
    "token": token,
    "items": {item.pk: leaves[n // PER_LEAF].pk for n, item in enumerate(items)},
}))
"""


def seed(stack: AppStack, per_leaf: int = 4) -> dict[str, Any]:
    """A published 6-leaf taxonomy, ``per_leaf`` items a leaf (titles start with the leaf's
    name, which the fake encoder clusters on), a reviewer+admin user and its API token."""
    result: dict[str, Any] = stack.shell(SEED.replace("PER_LEAF", str(per_leaf)))
    result["items"] = {int(k): v for k, v in result["items"].items()}
    return result


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the drill's database directly (not through the app being tested)."""
    import psycopg

    url = database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, connect_timeout=5) as conn:
        return list(conn.execute(sql, params).fetchall())
