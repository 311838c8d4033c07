"""The review page between a taxonomy publish and the new version's first model: the queue's
predictions name the old version's categories, the page shows and accepts the new ones."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from labeling.models import Category, Label
from labeling.selectors.category_index import category_index_clear
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, make_queue

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    yield
    category_index_clear()


@pytest.fixture
def published(version, tree, bob):
    """The queue built on ``version``, then the publish below."""
    make_queue(version, tree, n=2)
    return publish(version, bob)


def publish(version, bob) -> dict[str, Category]:
    """Publish a draft of ``version`` that merged Tshirts into Shirts; its categories by path."""
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_merge(
        draft=draft,
        source_keys=["apparel/topwear/tshirts"],
        target_key="apparel/topwear/shirts",
        author=bob,
    )
    taxonomy_publish(draft=draft, author=bob)
    return {c.path: c for c in Category.objects.filter(version=draft)}


def candidate_buttons(html: str) -> list[tuple[str, str]]:
    """(category id, text) of each candidate button on the card, in order."""
    out = []
    for chunk in html.split('name="category" value="')[1:]:
        if 'class="candidate' in chunk.split(">", 1)[0]:
            out.append((chunk.split('"', 1)[0], chunk.split("</button>", 1)[0]))
    return out


def test_the_card_shows_the_new_versions_categories_merged(client, alice, published):
    client.force_login(alice)
    buttons = candidate_buttons(client.get("/review/", headers=HTMX).content.decode())
    assert [pk for pk, _ in buttons] == [str(published[SHIRTS].pk), str(published[JEANS].pk)]
    assert escape(SHIRTS) in buttons[0][1] and "0.95" in buttons[0][1]  # 0.55 + Tshirts 0.40
    assert escape(TSHIRTS) not in "".join(text for _, text in buttons)


def test_the_top_candidate_is_accepted_and_recorded_as_shown(client, alice, published):
    client.force_login(alice)
    task = client.get("/review/").context["task"]
    data = {"shown": task.token, "category": task.candidates[0].category.pk}
    html = client.post(reverse("review:decide"), data, headers=HTMX).content.decode()
    assert 'class="notice error"' not in html and "Oxford shirt 1" in html
    label = Label.objects.get(source="review")
    assert label.category == published[SHIRTS]
    assert label.taxonomy_version_id == published[SHIRTS].version_id
    assert label.prediction_shown["candidates"] == [
        {"category": published[SHIRTS].pk, "p": 0.95},
        {"category": published[JEANS].pk, "p": 0.05},
    ]


def test_search_ranks_by_the_mapped_probabilities(client, alice, published):
    client.force_login(alice)
    item = client.get("/review/").context["task"].entry.item_id
    html = client.get(reverse("review:search"), {"q": "shirts", "item": item}, headers=HTMX)
    first = html.content.decode().split("</button>", 1)[0]
    assert escape(SHIRTS) in first and '<span class="p">0.95</span>' in first


def test_a_page_from_before_the_publish_cannot_label_with_the_old_version(
    client, alice, version, tree, bob
):
    make_queue(version, tree, n=2)
    client.force_login(alice)
    task = client.get("/review/").context["task"]
    publish(version, bob)
    data = {"shown": task.token, "category": tree[SHIRTS].pk}
    html = client.post(reverse("review:decide"), data, headers=HTMX).content.decode()
    assert 'class="notice error"' in html and "not to the current version" in html
    assert not Label.objects.filter(source="review").exists()
