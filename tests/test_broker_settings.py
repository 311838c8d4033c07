"""On Redis, sending a task to a broker that is down fails at once instead of holding a request."""

from __future__ import annotations

import json
import socket
import time

import pytest
from celery import Celery
from kombu.exceptions import OperationalError

from taxoloop.settings.base import REDIS_BROKER_TRANSPORT_OPTIONS
from tests.test_settings import _run

OPTIONS_PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps(s.CELERY_BROKER_TRANSPORT_OPTIONS))"
)


def test_a_redis_broker_gets_the_fail_fast_transport_options(tmp_path):
    result = _run(
        "taxoloop.settings.dev", OPTIONS_PROBE, tmp_path, CELERY_BROKER_URL="redis://r:6379/0"
    )
    options = json.loads(result.stdout)
    assert options == {"max_retries": 0, "socket_connect_timeout": 2, "socket_timeout": 5}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_send_to_a_redis_that_is_down_fails_within_a_second():
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    app = Celery("down", broker=url)
    app.conf.broker_transport_options = REDIS_BROKER_TRANSPORT_OPTIONS
    # kombu's defaults retry a refused connection for ~6 s from the second send on.
    with app.connection_for_write(url) as connection:
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(OperationalError):
                app.send_task(
                    "labeling.tasks.train_model_task", (1,), connection=connection, retry=False
                )
            assert time.monotonic() - started < 1.0
