"""The review page and guidelines (issue 16): each candidate on the card shows its category's
guideline, collapsed and rendered safely, read from the category index (no query more on the
decision's round trip); search results and the tree's rows show theirs too."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from labeling.models import Label
from labeling.services.taxonomy.guidelines import guideline_set
from tests.labeling.review_data import SHIRTS, TSHIRTS, make_queue
from tests.labeling.views.test_review_queries import MAX_QUERIES

URL = "/review/"
HTMX = {"HX-Request": "true"}


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def guided(tree, bob):
    guideline_set(category=tree[SHIRTS], text="Has a **collar** and buttons.", author=bob)
    guideline_set(category=tree[TSHIRTS], text="Knitted; <script>x()</script>", author=bob)
    guideline_set(category=tree["Accessories > Watches"], text="Wrist watches.", author=bob)
    return tree


@pytest.fixture
def as_alice(client, alice, version, guided):
    make_queue(version, guided, n=3)
    client.force_login(alice)
    return client


def guideline_of(html: str, category) -> str:
    start = html.index(f'<details class="guideline" data-category="{category.pk}">')
    return html[start : html.index("</details>", start)]


def test_the_card_shows_the_guideline_of_each_candidate_collapsed(as_alice, guided):
    html = as_alice.get(URL).content.decode()
    shirts = guideline_of(html, guided[SHIRTS])
    assert "<strong>collar</strong>" in shirts and "open" not in shirts.split(">")[0]
    assert f"?labelled_as={guided[SHIRTS].pk}" in shirts  # the examples labelled there
    tshirts = guideline_of(html, guided[TSHIRTS])
    assert "&lt;script&gt;" in tshirts and "<script>x()" not in html
    assert "Wrist watches" not in html  # not a candidate of this item


def test_the_card_htmx_brings_shows_the_guidelines_too(as_alice, guided):
    html = as_alice.get(URL, headers=HTMX).content.decode()
    assert "<strong>collar</strong>" in guideline_of(html, guided[SHIRTS])


def test_a_guideline_edit_shows_on_the_next_search(as_alice, guided, bob):
    guideline_set(category=guided[SHIRTS], text="Edited: *woven*.", author=bob)
    html = as_alice.get(reverse("review:search"), {"q": "shirts"}, headers=HTMX).content.decode()
    assert "<em>woven</em>" in guideline_of(html, guided[SHIRTS])


def test_search_results_show_and_open_a_categorys_guideline(as_alice, guided):
    html = as_alice.get(reverse("review:search"), {"q": "watch"}, headers=HTMX).content.decode()
    assert "Wrist watches." in guideline_of(html, guided["Accessories > Watches"])
    assert reverse("review:guideline", args=[guided["Accessories > Watches"].pk]) in html


def test_the_tree_shows_the_guidelines_of_its_rows_and_of_its_node(as_alice, guided):
    node = guided["Apparel > Topwear"]
    html = as_alice.get(reverse("review:tree"), {"node": node.pk}, headers=HTMX).content.decode()
    assert "<strong>collar</strong>" in guideline_of(html, guided[SHIRTS])
    guideline_set(category=node, text="Upper body.", author=None)
    html = as_alice.get(reverse("review:tree"), {"node": node.pk}, headers=HTMX).content.decode()
    assert "Upper body." in guideline_of(html, node)


def test_guidelines_add_no_query_to_the_decision_and_the_next_card(
    as_alice, guided, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    task = as_alice.get(URL).context["task"]
    data = {"shown": task.token, "category": task.candidates[0].category.pk}
    with (
        django_assert_max_num_queries(MAX_QUERIES[connection.vendor]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = as_alice.post(reverse("review:decide"), data, headers=HTMX)
    assert "<strong>collar</strong>" in response.content.decode()
    assert Label.objects.count() == 1
