"""GET /health/: database, broker, workers and beat; minimal facts for anyone, details for staff.

The database is real; the broker is the test settings' filesystem transport (real) or a closed
Redis port; worker pings are mocked because no worker runs here.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from labeling.views import health
from taxoloop.celery import app as celery_app
from tests.factories import UserFactory

URL = "/health/"
PONG = [{"celery@worker-1": {"ok": "pong"}}, {"celery@worker-2": {"ok": "pong"}}]


def beat_task(name: str, *, seconds: int, ran_ago: timedelta | None) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
    last = timezone.now() - ran_ago if ran_ago is not None else None
    return PeriodicTask.objects.create(name=name, task="t", interval=every, last_run_at=last)


@pytest.fixture
def beat_on_time(db):
    beat_task("release-expired-leases", seconds=60, ran_ago=timedelta(seconds=30))
    beat_task("train-models", seconds=600, ran_ago=timedelta(minutes=9))


@pytest.fixture
def workers_answer():
    with mock.patch.object(celery_app.control, "ping", return_value=PONG) as ping:
        yield ping


@pytest.fixture
def broker_down(monkeypatch):
    # Nothing listens on port 1: the connection is refused at once.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")


def test_a_healthy_deployment_answers_200_with_one_word_per_component(
    client, beat_on_time, workers_answer
):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "components": {"database": "ok", "broker": "ok", "workers": "ok", "beat": "ok"},
    }
    assert response["Cache-Control"].startswith("max-age=0")
    assert workers_answer.call_args.kwargs["timeout"] <= 1.0


def test_staff_also_see_the_details(client, beat_on_time, workers_answer):
    client.force_login(UserFactory(username="ops", is_staff=True))
    details = client.get(URL).json()["details"]
    assert details["database"]["ms"] >= 0
    assert details["broker"]["transport"] == "filesystem"
    assert details["workers"] == {"count": 2, "names": ["celery@worker-1", "celery@worker-2"]}
    assert details["beat"] == {"tasks": 2, "late": []}


def test_a_plain_user_sees_no_details(client, charlie, beat_on_time, workers_answer):
    client.force_login(charlie)
    assert "details" not in client.get(URL).json()


def test_a_database_that_fails_makes_it_503(client, beat_on_time, workers_answer):
    broken = mock.Mock(vendor="postgresql")
    broken.cursor.side_effect = OperationalError("connection refused")
    with mock.patch.object(health, "connection", broken):
        response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["components"]["database"] == "down"


def test_a_broker_that_refuses_connections_is_down_and_workers_unknown(
    client, beat_on_time, workers_answer, broker_down
):
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["components"] == {
        "database": "ok",
        "broker": "down",
        "workers": "unknown",
        "beat": "ok",
    }
    workers_answer.assert_not_called()  # no ping into a broker that is not there


def test_the_broker_error_is_shown_to_staff(client, beat_on_time, workers_answer, broker_down):
    client.force_login(UserFactory(username="ops", is_staff=True))
    broker = client.get(URL).json()["details"]["broker"]
    assert broker["transport"] == "redis"
    assert "OperationalError" in broker["error"]


def test_no_worker_answering_on_redis_is_down(client, beat_on_time, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:6379/0")
    with (
        mock.patch.dict(health.CHECKS, {"broker": lambda: health.Check(health.OK)}),
        mock.patch.object(celery_app.control, "ping", return_value=[]),
    ):
        response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["components"]["workers"] == "down"


def test_no_worker_answering_on_the_filesystem_broker_is_unknown_not_down(client, beat_on_time):
    with mock.patch.object(celery_app.control, "ping", return_value=[]):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["components"]["workers"] == "unknown"


def test_a_ping_that_fails_is_unknown(client, beat_on_time):
    with mock.patch.object(celery_app.control, "ping", side_effect=OSError("no route")):
        response = client.get(URL)
    assert response.json()["components"]["workers"] == "unknown"


def test_a_periodic_task_far_past_its_interval_means_beat_is_down(client, db, workers_answer):
    client.force_login(UserFactory(username="ops", is_staff=True))
    beat_task("release-expired-leases", seconds=60, ran_ago=timedelta(minutes=7))
    beat_task("train-models", seconds=600, ran_ago=timedelta(minutes=12))
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["components"]["beat"] == "down"
    assert response.json()["details"]["beat"] == {"tasks": 2, "late": ["release-expired-leases"]}


def test_a_task_that_never_ran_counts_from_when_it_was_scheduled(client, db, workers_answer):
    beat_task("release-expired-leases", seconds=60, ran_ago=None)
    assert client.get(URL).json()["components"]["beat"] == "ok"
    PeriodicTask.objects.update(date_changed=timezone.now() - timedelta(minutes=10))
    assert client.get(URL).json()["components"]["beat"] == "down"


def test_disabled_tasks_are_ignored_and_no_tasks_at_all_is_down(client, db, workers_answer):
    assert client.get(URL).json()["components"]["beat"] == "down"  # beat never ran
    beat_task("old", seconds=60, ran_ago=timedelta(days=3))
    PeriodicTask.objects.update(enabled=False)
    beat_task("release-expired-leases", seconds=60, ran_ago=timedelta(seconds=5))
    assert client.get(URL).json()["components"]["beat"] == "ok"


def test_a_load_balancer_can_ask_for_some_components_only(client, db):
    response = client.get(URL, {"components": "database,broker"})
    assert response.status_code == 200  # no beat and no worker here: not asked
    assert response.json() == {"status": "ok", "components": {"database": "ok", "broker": "ok"}}


def test_an_unknown_component_is_a_400_and_post_a_405(client, db):
    response = client.get(URL, {"components": "database,disk"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Unknown component(s): database,disk")
    assert client.post(URL).status_code == 405
    assert client.head(URL, {"components": "database"}).status_code == 200


def test_workers_alone_are_not_pinged_through_a_broker_that_is_down(
    client, workers_answer, broker_down
):
    response = client.get(URL, {"components": "workers"})
    assert response.json() == {"status": "ok", "components": {"workers": "unknown"}}
    workers_answer.assert_not_called()
