"""Fault drill: PostgreSQL stops and restarts under a running web process and Celery worker.

Everything runs on a private cluster (``initdb`` into a temporary folder, its own port) and a
private redis-server, with gunicorn and a worker as separate processes on the production
settings (scripts/faults/stack.py): the system PostgreSQL is never touched. While the database
is down, requests get a 503 that says to retry (JSON for the API, a page for the browser) and
``/health/`` says ``database: down``; once it is back the same processes, never restarted,
serve again, store labels and run tasks.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from labeling.unavailable import DATABASE_UNAVAILABLE, ServiceUnavailableMiddleware
from scripts.faults.stack import (
    Answer,
    AppStack,
    DrillError,
    PrivatePostgres,
    PrivateRedis,
    postgres_bin,
    query,
    seed,
    wait_until,
)


def test_a_lost_database_is_a_503_json_answer_with_a_retry_hint():
    request = RequestFactory().get("/api/items/")
    middleware = ServiceUnavailableMiddleware(lambda r: pytest.fail("not called"))
    response = middleware.process_exception(request, OperationalError("connection refused"))
    assert response is not None and response.status_code == 503
    assert response.content == b'{"detail": "' + DATABASE_UNAVAILABLE.encode() + b'"}'
    assert int(response["Retry-After"]) > 0


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[tuple[PrivatePostgres, AppStack]]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL's initdb is not installed: the restart drill needs its own cluster")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: the restart drill needs its own broker")
    postgres = PrivatePostgres()
    redis = PrivateRedis(tmp_path)
    stack = AppStack(postgres.url(), redis.url, tmp_path)
    try:
        postgres.init()
        postgres.start()
        postgres.create_database("taxoloop")
        redis.start()
        stack.manage("migrate", "--noinput", "-v0")
        yield postgres, stack
    except DrillError as error:
        pytest.fail(f"{error}\nweb log:\n{stack.log('web')}\nworker log:\n{stack.log('worker')}")
    finally:
        stack.stop_all()
        if redis.is_up():
            redis.stop()
        postgres.destroy()


def _login_form(stack: AppStack) -> tuple[str, str]:
    """A CSRF cookie and the form's token from GET /login/ (no database needed)."""
    page = stack.request("GET", "/login/")
    cookie = re.search(r"csrftoken=([^;]+)", page.headers.get("Set-Cookie", ""))
    field = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert page.status == 200 and cookie and field, page.status
    return cookie.group(1), field.group(1).decode()


def _log_in(stack: AppStack, cookie: str, token: str) -> Answer:
    form = urlencode({"username": "drill", "password": "x", "csrfmiddlewaretoken": token})
    headers = {"Cookie": f"csrftoken={cookie}", "Content-Type": "application/x-www-form-urlencoded"}
    return stack.request("POST", "/login/", form=form.encode(), headers=headers)


def _embedded(stack: AppStack, item_id: int) -> bool:
    sql = "select count(*) from labeling_embedding where item_id = %s"
    return query(stack.database_url, sql, item_id)[0][0] > 0


def _create_item(stack: AppStack, token: str, external_id: str) -> Answer:
    data = {"external_id": external_id, "title": "Shirts new arrival"}
    return stack.request("POST", "/api/items/", token=token, data=data)


def _label(stack: AppStack, token: str, item: int, category: int) -> Answer:
    return stack.request(
        "POST", "/api/labels/", token=token, data={"item": item, "category": category}
    )


def _database_health(stack: AppStack) -> tuple[int, str]:
    answer = stack.request("GET", "/health/?components=database")
    return answer.status, answer.json()["components"]["database"]


@pytest.mark.integration
@pytest.mark.slow
def test_postgres_stops_and_restarts_under_a_running_web_process_and_worker(drill):
    postgres, stack = drill
    data = seed(stack)
    token, truth = data["token"], list(data["items"].items())
    web, worker = stack.start_web(), stack.start_worker()
    first = _create_item(stack, token, "BEFORE")
    assert first.status == 201, first.body
    assert wait_until(lambda: _embedded(stack, first.json()["id"]), 90), stack.log("worker")
    cookie, form_token = _login_form(stack)

    postgres.stop()
    during = [
        stack.request("GET", "/api/items/", token=token),
        _create_item(stack, token, "DURING"),
        _label(stack, token, *truth[0]),
    ]
    assert [a.status for a in during] == [503, 503, 503], [a.body[:200] for a in during]
    assert all(a.json() == {"detail": DATABASE_UNAVAILABLE} for a in during)
    assert all(int(a.headers["Retry-After"]) > 0 and a.seconds < 5 for a in during)
    page = _log_in(stack, cookie, form_token)  # a browser gets a page, not a traceback
    assert page.status == 503 and page.headers["Content-Type"].startswith("text/html")
    assert b"The database is unavailable" in page.body and b"Traceback" not in page.body
    assert _database_health(stack) == (503, "down")

    postgres.start()  # the same gunicorn and worker processes from here on
    assert _database_health(stack) == (200, "ok")
    assert stack.request("GET", "/api/items/", token=token).status == 200
    assert _label(stack, token, *truth[0]).status == 201
    after = _create_item(stack, token, "AFTER")
    assert after.status == 201
    assert wait_until(lambda: _embedded(stack, after.json()["id"]), 60), stack.log("worker")

    postgres.restart()  # pg_ctl restart -m fast: every open connection is cut
    assert stack.request("GET", "/api/items/", token=token).status == 200  # no stale socket
    assert _label(stack, token, *truth[1]).status == 201
    last = _create_item(stack, token, "AFTER-RESTART")
    assert last.status == 201
    assert wait_until(lambda: _embedded(stack, last.json()["id"]), 60), stack.log("worker")

    stored = query(
        stack.database_url, "select item_id, category_id from labeling_label order by id"
    )
    assert stored == [truth[0], truth[1]]  # nothing saved during the outage, nothing lost after
    externals = {
        row[0] for row in query(stack.database_url, "select external_id from labeling_item")
    }
    assert {"BEFORE", "AFTER", "AFTER-RESTART"} <= externals and "DURING" not in externals
    assert web.poll() is None and worker.poll() is None  # never restarted
