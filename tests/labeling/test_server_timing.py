"""The Server-Timing header: the application's own time per request, and its database part."""

from __future__ import annotations

import re

import pytest

TIMING = "labeling.server_timing.ServerTimingMiddleware"
HEADER = re.compile(r'^app;dur=(\d+\.\d), db;dur=(\d+\.\d);desc="(\d+) queries"$')


@pytest.fixture
def timed(settings):
    settings.MIDDLEWARE = [TIMING, *settings.MIDDLEWARE]


def test_every_response_says_how_long_the_server_worked_on_it(timed, client, alice):
    client.force_login(alice)
    match = HEADER.match(client.get("/review/")["Server-Timing"])
    assert match is not None
    app, db, queries = float(match[1]), float(match[2]), int(match[3])
    assert queries >= 3  # at least the session, the user and the roles
    assert 0 < db <= app


def test_a_page_without_queries_reports_none(timed, client):
    match = HEADER.match(client.get("/login/")["Server-Timing"])
    assert match is not None and match[3] == "0" and match[2] == "0.0"
