"""The review page's tree with the arrow keys, and a reviewer's own keys (issue 16, keyboard).

Before, the tree took 12–22 Tab presses to reach a leaf and the letter keys were the same for
everyone. Here the tree is opened, walked down two levels, back up one and a leaf chosen with
the keyboard only, once with a pause after each key and once typed with no pause at all (the
keys typed while a level is on its way apply to the new level); and a reviewer changes a key
on their settings page and uses it."""

from __future__ import annotations

import contextlib

import pytest
from django.core.cache import cache

from labeling.models import HotkeyMap, Label, QueueEntry
from labeling.selectors.category_index import category_index_clear
from tests.labeling.review_data import make_queue

pytestmark = pytest.mark.django_db(transaction=True)

SNEAKERS = "Footwear > Shoes > Sneakers"
# From the top level (Accessories, Apparel, Footwear; the first child active): down to
# Footwear, into it (Shoes active), into Shoes (Sandals active), back up (Shoes active again),
# into Shoes again, down to Sneakers, and choose it.
KEYS = ["t", "ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowLeft"]
KEYS += ["ArrowRight", "ArrowDown", "Enter"]


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    cache.clear()


@pytest.fixture
def queue(version, tree):
    return make_queue(version, tree, n=4)


ACTIVE_ROW = """() => {
  const row = document.querySelector("#review-tree.open .active");
  if (!row || !row.contains(document.activeElement)) return null;
  return (row.querySelector(".drill, .leaf") || row).textContent.trim();
}"""


def active_row(page, name: str) -> str:
    """Waits until the active row, with the focus in it (the roving tabindex), is ``name``;
    returns the active row's name then, or when the wait ran out."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # skipped without it

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"n => ({ACTIVE_ROW})() === n", arg=name, timeout=5_000)
    return page.evaluate(ACTIVE_ROW)


def wait_for_title(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('h1.item-title')?.textContent === t", arg=text
    )


def test_the_tree_is_walked_with_the_arrows_and_a_leaf_chosen_with_enter(
    login, alice, tree, queue, artifacts
):
    page = login("alice")
    expected = [
        "Accessories ›",
        "Apparel ›",
        "Footwear ›",
        "Shoes ›",  # a drill: its first child
        "Sandals",
        "Shoes ›",  # Left: the node we came from
        "Sandals",
        "Sneakers",
    ]
    seen = []
    for key, name in zip(KEYS[:-1], expected, strict=True):
        page.keyboard.press(key)
        seen.append(active_row(page, name))
    assert seen == expected
    page.screenshot(path=str(artifacts / "review-tree-keyboard.png"), full_page=True)
    assert page.locator("#review-tree .trail").inner_text() == "All categories › Footwear › Shoes"
    page.keyboard.press("Enter")
    wait_for_title(page, "Oxford shirt 1")
    label = Label.objects.get()
    assert (label.category, label.author, label.item) == (tree[SNEAKERS], alice, queue[0].item)


def test_keys_typed_with_no_pause_follow_the_tree_level_by_level(login, alice, tree, queue):
    page = login("alice")
    for key in KEYS:
        page.keyboard.press(key)  # no wait: most keys arrive while a level is on its way
    wait_for_title(page, "Oxford shirt 1")
    assert Label.objects.get().category == tree[SNEAKERS]


def test_left_makes_the_node_we_came_from_active_and_esc_closes_the_tree(login, alice, tree, queue):
    page = login("alice")
    page.keyboard.press("t")
    assert active_row(page, "Accessories ›") == "Accessories ›"
    page.keyboard.press("End")
    assert active_row(page, "Footwear ›") == "Footwear ›"
    page.keyboard.press("Enter")
    assert active_row(page, "Shoes ›") == "Shoes ›"
    page.keyboard.press("ArrowLeft")
    assert active_row(page, "Footwear ›") == "Footwear ›"
    page.keyboard.press("Home")
    assert active_row(page, "All categories") == "All categories"
    page.keyboard.press("Escape")
    page.wait_for_selector("#review-tree:not(.open) #open-tree")
    page.keyboard.press("t")  # the closed tree opens again, at the top
    assert active_row(page, "Accessories ›") == "Accessories ›"
    page.keyboard.press("Escape")
    page.wait_for_selector("#review-tree:not(.open) #open-tree")
    page.keyboard.press("1")  # the page's keys act again: the top candidate
    wait_for_title(page, "Oxford shirt 1")
    assert not Label.objects.filter(category__path__startswith="Footwear").exists()


def test_a_reviewer_changes_a_key_and_uses_it(login, live_server, alice, tree, queue, artifacts):
    page = login("alice")
    page.keyboard.press("?")
    page.wait_for_selector("#hotkey-help[open]")
    assert "show or hide the list of keys" in page.locator("#hotkey-help").inner_text()
    page.screenshot(path=str(artifacts / "review-keys-help.png"))
    page.keyboard.press("Escape")
    page.click("#change-keys")
    page.fill("#key-skip", "1")
    page.click("#save-keys")
    page.wait_for_selector("#key-skip-error:text('the digits 1–9 pick')")
    page.screenshot(path=str(artifacts / "review-keys-refused.png"), full_page=True)
    assert not HotkeyMap.objects.exists()
    page.fill("#key-skip", "k")
    page.click("#save-keys")
    page.wait_for_selector("text=Your keys are saved")
    assert HotkeyMap.objects.get(user=alice).keys["skip"] == "k"
    page.goto(f"{live_server.url}/review/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#skip-button kbd").inner_text() == "k"
    page.keyboard.press("s")  # no longer skip
    page.keyboard.press("k")
    wait_for_title(page, "Oxford shirt 1")
    assert QueueEntry.objects.get(pk=queue[0].pk).lease_holder is None
    assert not Label.objects.exists()
    # the card htmx brought shows the reviewer's key too
    page.wait_for_function("document.querySelector('#skip-button kbd').textContent === 'k'")
