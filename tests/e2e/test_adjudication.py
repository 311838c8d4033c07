"""Overlap in a real browser (issue 16): two reviewers answer the same item blind and disagree,
an adjudicator decides it with the keyboard, and the item's label and the agreement figures
follow. Screenshots go to the artifacts folder (see conftest)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from labeling.models import Item, Label, Overlap, QueueEntry
from labeling.roles import ADJUDICATOR, REVIEWER
from labeling.selectors.category_index import category_index_clear
from tests.factories import UserFactory
from tests.labeling.review_data import SHIRTS, TSHIRTS, make_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_caches():
    category_index_clear()
    cache.clear()


@pytest.fixture
def overlap_item(version, tree):
    """Two entries; the first ("Oxford shirt 0") goes to two reviewers."""
    entries = make_queue(version, tree, n=2)
    QueueEntry.objects.filter(pk=entries[0].pk).update(answers_needed=2)
    return entries[0].item


def title(page) -> str:
    return page.locator("h1.item-title").inner_text()


def decide(page, key: str, next_title: str) -> None:
    page.keyboard.press(key)
    page.wait_for_function(
        "t => document.querySelector('h1.item-title')?.textContent === t", arg=next_title
    )


def test_two_reviewers_disagree_and_an_adjudicator_decides(
    login, live_server, alice, bob, tree, overlap_item, artifacts
):
    UserFactory(username="carol", roles=[REVIEWER])
    UserFactory(username="dora", roles=[ADJUDICATOR])

    first = login("alice")
    assert title(first) == "Oxford shirt 0"
    assert first.locator("#overlap-note").is_visible()
    decide(first, "1", "Oxford shirt 1")  # Shirts, the top candidate
    answer = Label.objects.get(author=alice)
    assert (answer.context, answer.category.path) == ("overlap", SHIRTS)
    assert Item.objects.get(pk=overlap_item.pk).current_label_id is None

    second = login("carol")
    assert title(second) == "Oxford shirt 0"  # back in the pool for the next reviewer
    assert "alice" not in second.locator("article.review-item").inner_text()  # blind
    second.screenshot(path=str(artifacts / "overlap-second-reviewer.png"), full_page=True)
    second.keyboard.press("2")  # Tshirts
    second.wait_for_function(
        "!document.querySelector('h1.item-title')?.textContent.includes('shirt 0')"
    )
    overlap = Overlap.objects.get(item=overlap_item)
    assert overlap.status == "disputed"

    judge = login("dora")
    judge.goto(f"{live_server.url}/review/adjudicate/")
    answers = judge.locator("#answers")
    assert "alice" in answers.inner_text() and "carol" in answers.inner_text()
    assert "Shirts" in answers.inner_text() and "Tshirts" in answers.inner_text()
    judge.screenshot(path=str(artifacts / "adjudicate-page.png"), full_page=True)
    authors = [a.inner_text() for a in answers.locator(".answer-author").all()]
    judge.keyboard.press(str(authors.index("carol") + 1))  # answers are keyed 1, 2, …
    judge.keyboard.press("Enter")
    judge.wait_for_selector("#adjudicate-empty")

    overlap.refresh_from_db()
    item = Item.objects.select_related("current_label__category").get(pk=overlap_item.pk)
    assert overlap.status == "adjudicated"
    assert item.current_label.context == "adjudicated"
    assert item.current_label.category.path == TSHIRTS
    assert item.current_label.author.username == "dora"

    admin = login("bob")
    admin.goto(f"{live_server.url}/reports/quality/")
    rows = {
        r.locator("td").first.inner_text(): r.locator("td").nth(4).inner_text()
        for r in admin.locator("#quality-reviewers tbody tr").all()
    }
    assert rows["alice"].startswith("0%") and rows["carol"].startswith("100%")
    assert "0%" in admin.locator("#quality-overall").inner_text()  # leaf agreement 0 of 1
    admin.screenshot(path=str(artifacts / "reviewer-quality.png"), full_page=True)
