"""The review page's note on a decision and the candidates' guidelines, with the keyboard
(issue 16, guidelines and notes).

"m" opens the note; the keys typed there are text (digits and the page's letters included:
none of them decides); Esc leaves the note and keeps it, and "1" then decides with it. "g"
opens the candidates' guidelines; keys typed on a link inside one do nothing to the card."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from labeling.models import Label, QueueEntry
from labeling.selectors.category_index import category_index_clear
from labeling.services.taxonomy.guidelines import guideline_set
from tests.labeling.review_data import SHIRTS, make_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    cache.clear()


@pytest.fixture
def queue(version, tree, bob):
    guideline_set(category=tree[SHIRTS], text="Collared. See [the chart](/reports/).", author=bob)
    return make_queue(version, tree, n=3)


def wait_for_title(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('h1.item-title')?.textContent === t", arg=text
    )


def test_a_note_typed_with_the_keyboard_goes_with_the_decision(login, alice, tree, queue):
    page = login("alice")
    page.keyboard.press("m")
    page.wait_for_selector("#decision-note:focus")
    page.keyboard.type("2 sizes, s/t/u: not skip")  # page keys, typed as text
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") != "decision-note"
    assert page.input_value("#decision-note") == "2 sizes, s/t/u: not skip"
    page.keyboard.press("1")
    wait_for_title(page, "Oxford shirt 1")
    label = Label.objects.get()
    assert (label.category, label.author) == (tree[SHIRTS], alice)
    assert label.note == "2 sizes, s/t/u: not skip"
    assert QueueEntry.objects.get(pk=queue[1].pk).lease_holder == alice  # nothing skipped


def test_a_note_typed_with_no_pause_after_a_decision_waits_for_its_card(login, alice, queue):
    page = login("alice")
    for key in ["1", "m", *"fast", "Escape", "2"]:
        page.keyboard.press(key)
    wait_for_title(page, "Oxford shirt 2")
    notes = list(Label.objects.order_by("id").values_list("note", flat=True))
    assert notes == ["", "fast"]


def test_g_opens_the_guidelines_and_keys_on_a_link_in_one_do_nothing(login, alice, queue):
    page = login("alice")
    assert not page.locator("details.guideline").first.evaluate("d => d.open")
    page.keyboard.press("g")
    page.wait_for_selector("details.guideline[open]")
    page.focus("details.guideline .guideline-text a")
    page.keyboard.press("s")  # would skip
    page.keyboard.press("1")  # would decide
    assert page.locator("h1.item-title").inner_text() == "Oxford shirt 0"
    page.keyboard.press("Escape")  # leaves the link: the page's keys act again
    page.keyboard.press("1")
    wait_for_title(page, "Oxford shirt 1")
    assert Label.objects.count() == 1
