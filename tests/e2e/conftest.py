"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Chromium comes from ``scripts/install-test-tools.sh`` (a ``playwright install`` download fails
offline). Without it the tests skip with that advice; with TAXOLOOP_REQUIRE_SERVICES=1 (CI)
they fail instead. Screenshots go to ``$TAXOLOOP_ARTIFACTS`` (default var/test-artifacts/).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls happen
# in its own thread, but Django's async-safety check looks at the caller's loop.
# (Set for this test process only; tests/test_settings.py runs its probes without it.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("TAXOLOOP_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("TAXOLOOP_ARTIFACTS", REPO_ROOT / "var" / "test-artifacts"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's  # noqa: S105


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _missing(reason: str) -> None:
    if os.environ.get("TAXOLOOP_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _missing(f"Chromium not found at {CHROMIUM}: run scripts/install-test-tools.sh")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session", autouse=True)
def _urlconf_loaded() -> None:
    """Load the URLconf (and the torch it imports through the views) before a browser asks the
    live server for a page: otherwise the first request of the run pays that import in the
    server's thread, which on a busy 2-core machine outlasted Playwright's 10 s page timeout."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def login(browser, live_server) -> Iterator[Callable[[str], object]]:
    """``login("alice")``: a page in a fresh browser context, logged in (credentials typed)."""
    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/login/?next=/review/")
        page.focus("#id_username")
        page.keyboard.type(username)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        # The button, not Enter: the review page acts on keys, and a test's first key must be
        # the first key the page sees.
        page.click("form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/review/")
        page.wait_for_load_state("networkidle")  # htmx bound, no request in flight
        return page

    yield open_as
    for context in contexts:
        context.close()
