"""The review page at any typing speed, and when a request fails (issue 14).

A trial found keys pressed within ~20 ms of a new card falling back to a plain form post and
a full page reload (16 of 84 fast decisions), and a 503 that showed nothing: the key seemed
ignored. Here 50 decisions are typed with no pause, and a decision fails on purpose."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from labeling.models import Label, Proposal
from labeling.selectors.category_index import category_index_clear
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, make_queue

pytestmark = pytest.mark.django_db(transaction=True)

DECISIONS = 50


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    cache.clear()


def count_reloads(page) -> list[str]:
    """Main-frame navigations after this call: a plain form post would add one."""
    loads: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and loads.append(frame.url))
    page.evaluate("window.__sameDocument = true")
    return loads


def test_fifty_decisions_typed_with_no_pause_are_fifty_htmx_decisions(login, alice, version, tree):
    make_queue(version, tree, n=DECISIONS + 1)
    page = login("alice")
    loads = count_reloads(page)
    keys = ["1" if i % 2 == 0 else "2" for i in range(DECISIONS)]
    for key in keys:
        page.keyboard.press(key)  # no wait between keys
    page.wait_for_function(
        "t => document.querySelector('h1.item-title')?.textContent === t",
        arg=f"Oxford shirt {DECISIONS}",
        timeout=60_000,
    )
    labels = list(Label.objects.filter(kind="label").order_by("id").select_related("item"))
    assert len(labels) == DECISIONS
    assert [label.item.title for label in labels] == [f"Oxford shirt {i}" for i in range(DECISIONS)]
    expected = [SHIRTS if key == "1" else TSHIRTS for key in keys]
    assert [label.category.path for label in labels] == expected
    assert loads == [] and page.evaluate("window.__sameDocument") is True


def fail_decisions(page, times: int, status: int = 503) -> list[int]:
    """The next ``times`` decisions answer ``status`` without reaching the server."""
    failed: list[int] = []

    def handle(route):
        if len(failed) < times:
            failed.append(status)
            route.fulfill(
                status=status,
                headers={"Retry-After": "1", "Content-Type": "text/html"},
                body="<p role='alert'>The database is busy: try again in a moment.</p>",
            )
        else:
            route.continue_()

    page.route("**/review/decide/", handle)
    return failed


def test_a_failed_decision_is_shown_kept_and_sent_again_with_r(login, alice, version, tree):
    make_queue(version, tree, n=3)
    page = login("alice")
    loads = count_reloads(page)
    failed = fail_decisions(page, times=2)  # the first try and the automatic retry
    page.keyboard.press("2")
    banner = page.locator("#request-error")
    banner.wait_for(state="visible")
    page.wait_for_function(
        "() => document.querySelector('#request-error p').textContent.includes('Press r')",
        timeout=10_000,
    )
    assert "503" in banner.inner_text() and "Nothing was saved" in banner.inner_text()
    assert "database is busy" in banner.inner_text()
    assert page.locator("h1.item-title").inner_text() == "Oxford shirt 0"  # the item is kept
    chosen = page.locator('button.candidate[data-shortcut="2"]')
    assert "request-failed" in chosen.get_attribute("class")  # and the reviewer's choice
    assert failed == [503, 503] and not Label.objects.exists()
    page.keyboard.press("r")
    page.wait_for_function(
        "() => document.querySelector('h1.item-title')?.textContent === 'Oxford shirt 1'"
    )
    assert banner.is_hidden()
    label = Label.objects.get()
    assert (label.item.title, label.category.path) == ("Oxford shirt 0", TSHIRTS)
    assert loads == []


def test_a_503_is_retried_once_by_itself(login, alice, version, tree):
    make_queue(version, tree, n=3)
    page = login("alice")
    failed = fail_decisions(page, times=1)
    page.keyboard.press("1")
    page.locator("#request-error").wait_for(state="visible")
    page.wait_for_function(
        "() => document.querySelector('h1.item-title')?.textContent === 'Oxford shirt 1'"
    )
    assert failed == [503]
    assert Label.objects.get().category.path == SHIRTS
    assert page.locator("#request-error").is_hidden()


def test_keys_typed_after_a_failure_are_not_replayed_onto_the_kept_card(
    login, alice, version, tree
):
    make_queue(version, tree, n=4)
    page = login("alice")
    held = []  # the first decision's request, answered only once the next keys are typed
    page.route("**/review/decide/", lambda route: held.append(route))
    page.keyboard.press("1")
    page.wait_for_function("() => document.querySelector('#review-card form.htmx-request')")
    for key in ["2", "2"]:
        page.keyboard.press(key)  # typed while the decision is in flight: queued
    held[0].fulfill(status=500, body="<p role='alert'>Server error.</p>")
    page.locator("#request-error").wait_for(state="visible")
    page.wait_for_timeout(300)
    assert len(held) == 1 and not Label.objects.exists()  # the queued keys sent nothing
    assert page.locator("h1.item-title").inner_text() == "Oxford shirt 0"
    assert "500" in page.locator("#request-error").inner_text()


def typed_while_the_first_decision_is_in_flight(page, field_key: str, text: str, last: str):
    """Press 1, then, while that decision is held on its way, ``field_key`` (queued: the next
    card is not there yet), ``text`` and ``last``; then let the decision go and wait until
    the card after next is on screen (``last`` acted on the second card)."""
    held: list = []

    def handle(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/review/decide/", handle)
    page.keyboard.press("1")
    page.wait_for_function("() => document.querySelector('#review-card form.htmx-request')")
    page.keyboard.press(field_key)
    page.keyboard.type(text)
    page.keyboard.press(last)
    held[0].continue_()
    page.wait_for_function(
        "t => document.querySelector('h1.item-title')?.textContent === t", arg="Oxford shirt 2"
    )


def test_a_proposal_typed_while_the_card_is_on_its_way_keeps_every_character(
    login, alice, version, tree
):
    make_queue(version, tree, n=3)
    page = login("alice")
    typed_while_the_first_decision_is_in_flight(page, "n", "Smart rings", "Control+Enter")
    proposal = Proposal.objects.get()
    assert (proposal.text, proposal.item.title) == ("Smart rings", "Oxford shirt 1")
    assert Label.objects.get().item.title == "Oxford shirt 0"


def test_a_search_typed_while_the_card_is_on_its_way_picks_its_first_result(
    login, alice, version, tree
):
    make_queue(version, tree, n=3)
    page = login("alice")
    typed_while_the_first_decision_is_in_flight(page, "/", "Jeans", "Enter")
    labels = list(Label.objects.order_by("id").select_related("item", "category"))
    assert [(label.item.title, label.category.path) for label in labels] == [
        ("Oxford shirt 0", SHIRTS),
        ("Oxford shirt 1", JEANS),
    ]
