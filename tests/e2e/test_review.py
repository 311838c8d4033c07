"""The review page in a real browser: keyboard-only review, undo, search, the tree, two
reviewers at once. Screenshots go to the artifacts folder (see conftest)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from labeling.models import Label, Proposal, QueueEntry
from labeling.roles import REVIEWER
from labeling.selectors.category_index import category_index_clear
from tests.factories import UserFactory
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, make_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    cache.clear()  # the queue counts in the figures are cached for a few seconds


@pytest.fixture
def queue(version, tree):
    return make_queue(version, tree, n=8)


def title(page) -> str:
    return page.locator("h1.item-title").inner_text()


def wait_for_title(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('h1.item-title')?.textContent === t", arg=text
    )


def press_and_wait(page, key: str, next_title: str) -> None:
    page.keyboard.press(key)
    wait_for_title(page, next_title)


def test_five_items_reviewed_with_the_keyboard_only_then_undo(login, alice, tree, queue, artifacts):
    page = login("alice")
    assert title(page) == "Oxford shirt 0"
    assert page.locator("#shortcut-legend").is_visible()
    assert "uncertain between Shirts and Tshirts" in page.locator("#reason-text").inner_text()
    page.screenshot(path=str(artifacts / "review-page.png"), full_page=True)
    keys = ["1", "2", "Enter", "3", "1"]
    for i, key in enumerate(keys):
        press_and_wait(page, key, f"Oxford shirt {i + 1}")
    labels = Label.objects.filter(kind="label").order_by("id")
    expected = [SHIRTS, TSHIRTS, SHIRTS, JEANS, SHIRTS]
    assert [label.category.path for label in labels] == expected
    assert [label.item.title for label in labels] == [f"Oxford shirt {i}" for i in range(5)]
    assert all(label.author == alice and label.source == "review" for label in labels)
    page.wait_for_function("document.querySelector('#figure-count')?.textContent === '5'")
    press_and_wait(page, "u", "Oxford shirt 4")
    assert Label.objects.get(kind="retraction").retracts == labels.last()
    page.wait_for_function("document.querySelector('#figure-count')?.textContent === '4'")
    page.screenshot(path=str(artifacts / "review-after-undo.png"), full_page=True)


def test_search_with_the_keyboard_picks_an_inner_node(login, alice, tree, queue, artifacts):
    page = login("alice")
    page.keyboard.press("/")
    page.keyboard.type("wear")
    page.wait_for_selector("#search-results button.result")
    results = page.locator("#search-results button.result .path").all_inner_texts()
    # Three names contain "wear"; the model's probabilities order them (0.95, 0.05, 0).
    assert results[:3] == ["Apparel > Topwear", "Apparel > Bottomwear", "Footwear"]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")  # back to Apparel > Bottomwear
    page.screenshot(path=str(artifacts / "review-search.png"), full_page=True)
    press_and_wait(page, "Enter", "Oxford shirt 1")
    label = Label.objects.get()
    assert label.category == tree["Apparel > Bottomwear"] and not label.category.is_leaf


def test_the_tree_drills_down_to_an_inner_node(login, alice, tree, queue, artifacts):
    page = login("alice")
    page.keyboard.press("t")
    page.click("#review-tree a.drill:text('Footwear ›')")
    page.wait_for_selector("#review-tree button.choose-node")
    page.click("#review-tree a.drill:text('Shoes ›')")
    page.wait_for_selector("#review-tree .leaf:text('Sneakers')")
    page.screenshot(path=str(artifacts / "review-tree.png"), full_page=True)
    page.click("#review-tree button.choose-node")
    wait_for_title(page, "Oxford shirt 1")
    assert Label.objects.get().category == tree["Footwear > Shoes"]


def test_skip_and_not_in_the_taxonomy_from_the_keyboard(login, alice, tree, queue):
    page = login("alice")
    press_and_wait(page, "s", "Oxford shirt 1")
    assert QueueEntry.objects.get(pk=queue[0].pk).lease_holder is None
    page.keyboard.press("n")
    page.keyboard.type("Smart rings")
    page.keyboard.press("Control+Enter")
    wait_for_title(page, "Oxford shirt 2")
    assert not Label.objects.exists()  # a proposal is not a label
    proposal = Proposal.objects.get()
    assert (proposal.text, proposal.item.title, proposal.vouched) == (
        "Smart rings",
        "Oxford shirt 1",
        None,
    )


def test_two_browser_contexts_never_get_the_same_item(login, alice, tree, queue, artifacts):
    UserFactory(username="dave", roles=[REVIEWER])
    first, second = login("alice"), login("dave")
    seen: dict[str, list[str]] = {"alice": [], "dave": []}
    for _ in range(3):
        for name, page in (("alice", first), ("dave", second)):
            seen[name].append(page.locator("article.review-item").get_attribute("data-item"))
            page.keyboard.press("Enter")
            page.wait_for_function(
                "old => document.querySelector('article.review-item')?.dataset.item !== old",
                arg=seen[name][-1],
            )
    second.screenshot(path=str(artifacts / "review-second-reviewer.png"), full_page=True)
    assert not set(seen["alice"]) & set(seen["dave"])
    assert len(set(seen["alice"] + seen["dave"])) == 6
    assert Label.objects.count() == 6 and Label.objects.values("item").distinct().count() == 6
