"""Locust users for ``bench_review.py``: reviewers working through the queue in the browser's way.

Each user logs in through the login form, opens the queue as htmx does, then repeats what
the page does per decision: POST review/decide/ with the top candidate (CSRF token in the
header, ``HX-Request``), which answers with the next card and the session's figures (out
of band: the count it shows is recorded, to check it moved), then thinks for
``BENCH_THINK`` seconds; as the page's side panel does, it GETs review/figures/ (the queue
by reason) every ``BENCH_FIGURES_EVERY`` seconds. After ``BENCH_DECISIONS`` decisions, ``BENCH_DURATION`` seconds after the last
reviewer logged in (when set), or an empty queue, it writes what it saw to
``BENCH_OUT/<username>.json`` and stops; the last one to stop ends the run.

Run by ``bench_review.py`` (which sets the environment below), not by hand:
``BENCH_USERS`` (comma-separated usernames), ``BENCH_PASSWORD``, ``BENCH_THINK``,
``BENCH_DECISIONS``, ``BENCH_DURATION``, ``BENCH_OUT``, ``BENCH_FIGURES_EVERY``.
"""

from __future__ import annotations

import json
import os
import re
import time
from itertools import count
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, constant, task
from locust.exception import StopUser

USERS = os.environ.get("BENCH_USERS", "").split(",")
PASSWORD = os.environ.get("BENCH_PASSWORD", "")
THINK = float(os.environ.get("BENCH_THINK", "2"))
DECISIONS = int(os.environ.get("BENCH_DECISIONS", "30"))
DURATION = float(os.environ.get("BENCH_DURATION", "0"))
OUT = Path(os.environ.get("BENCH_OUT", "."))
FIGURES_EVERY = float(os.environ.get("BENCH_FIGURES_EVERY", "15"))

ITEM_RE = re.compile(r'data-item="(\d+)"')
SHOWN_RE = re.compile(r'name="shown" value="([^"]+)"')
TOP_RE = re.compile(r'name="category" value="(\d+)" class="candidate top"')
CSRF_FIELD_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
COUNT_RE = re.compile(r'<dd id="figure-count">(\d+)</dd>')
TIMING_RE = re.compile(r"\b(app|db);dur=([\d.]+)")

_next_user = count()
_logged_in = {"n": 0}
_finished = {"n": 0}
_deadline = {"at": float("inf")}


def server_ms(response: Any, part: str = "app") -> float | None:
    """A time the server measured (``Server-Timing: app;dur=…, db;dur=…``)."""
    timings = dict(TIMING_RE.findall(response.headers.get("Server-Timing", "")))
    return float(timings[part]) if part in timings else None


class Reviewer(HttpUser):
    wait_time = constant(THINK)

    def on_start(self) -> None:
        self.username = USERS[next(_next_user) % len(USERS)]
        self.seen: dict[str, Any] = {
            "user": self.username,
            "shown": [],
            "accepted": [],
            "decide_server_ms": [],
            "decide_db_ms": [],
            "decide_client_ms": [],
            "figures_server_ms": [],
            "session_counts": [],
            "errors": [],
        }
        self.written = False
        login = self.client.get("/login/", name="login form")
        token = CSRF_FIELD_RE.search(login.text)
        response = self.client.post(
            "/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            allow_redirects=False,
            name="login",
        )
        if response.status_code != 302:
            self._finish(f"login answered {response.status_code}")
        _logged_in["n"] += 1
        while _logged_in["n"] < self.environment.parsed_options.num_users:
            gevent.sleep(0.05)  # logins hash passwords: measure the reviewing, not them
        if DURATION and _deadline["at"] == float("inf"):
            _deadline["at"] = time.monotonic() + DURATION  # the first one through starts the clock
        self.card = self.client.get("/review/", headers={"HX-Request": "true"}, name="card").text
        self.figures_at = time.monotonic()

    def _htmx(self) -> dict[str, str]:
        return {"HX-Request": "true", "X-CSRFToken": self.client.cookies.get("csrftoken", "")}

    @task
    def decide_and_get_the_next_item(self) -> None:
        item = ITEM_RE.search(self.card)
        done = len(self.seen["accepted"]) >= DECISIONS or time.monotonic() >= _deadline["at"]
        if item is None or done:
            self._finish()
        self.seen["shown"].append(int(item[1]))
        body = {"shown": SHOWN_RE.search(self.card)[1], "category": TOP_RE.search(self.card)[1]}
        response = self.client.post(
            "/review/decide/", body, headers=self._htmx(), name="decide + next item"
        )
        self.seen["decide_client_ms"].append(response.elapsed.total_seconds() * 1000)
        self.seen["decide_server_ms"].append(server_ms(response))
        self.seen["decide_db_ms"].append(server_ms(response, "db"))
        if response.status_code != 200 or "notice error" in response.text:
            self.seen["errors"].append(f"decide {item[1]}: {response.status_code}")
        else:
            self.seen["accepted"].append(int(item[1]))
        self.card = response.text
        count = COUNT_RE.search(response.text)
        self.seen["session_counts"].append(int(count[1]) if count else None)
        if time.monotonic() - self.figures_at >= FIGURES_EVERY:
            self.figures_at = time.monotonic()
            figures = self.client.get("/review/figures/", headers=self._htmx(), name="figures")
            self.seen["figures_server_ms"].append(server_ms(figures))

    def _finish(self, error: str = "") -> None:
        if error:
            self.seen["errors"].append(error)
        self._write()
        _finished["n"] += 1
        if _finished["n"] >= self.environment.parsed_options.num_users:
            gevent.spawn(self.environment.runner.quit)  # from outside this user's greenlet
        raise StopUser()

    def on_stop(self) -> None:
        self._write()  # a run cut short by --run-time still reports what it did

    def _write(self) -> None:
        if not self.written:
            (OUT / f"{self.username}.json").write_text(json.dumps(self.seen))
            self.written = True
