"""The review page and its actions: pages and fragments, the ledger rows they write, access."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from labeling.models import Label, Proposal, QueueEntry
from labeling.selectors.category_index import category_index_clear
from labeling.services.review import decisions as svc
from labeling.services.review import proposing
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, make_queue

URL = "/review/"
HTMX = {"HX-Request": "true"}
GETS = ["queue", "search", "tree", "figures"]
POSTS = ["decide", "skip", "unskip", "propose", "undo"]


@pytest.fixture
def entries(version, tree):
    return make_queue(version, tree, n=3)


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(autouse=True)
def _fresh_search_index():
    """Test databases reuse ids, so a cached index could belong to another test's tree (and
    the figures' queue counts, cached for a few seconds, to another test's queue)."""
    category_index_clear()
    cache.clear()
    yield
    category_index_clear()


def token(client) -> str:
    return client.get(URL).context["task"].token


def decide(client, tree, path=SHIRTS, htmx=False, shown=None):
    data = {"shown": shown or token(client), "category": tree[path].pk}
    return client.post(reverse("review:decide"), data, headers=HTMX if htmx else {})


def test_the_page_shows_the_item_why_and_the_candidates(as_alice, alice, tree, entries):
    response = as_alice.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Oxford shirt 0" in html and "Cotton, long sleeves" in html and "blue" in html
    assert "uncertain between Shirts and Tshirts" in html
    for path, p in [(SHIRTS, "0.55"), (TSHIRTS, "0.40"), (JEANS, "0.05")]:
        row = html[html.index(f'value="{tree[path].pk}" class="candidate') :]
        button = row[: row.index("</button>")]
        assert escape(path) in button and p in button
    assert 'data-shortcut="1"' in html and "accept the top candidate" in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html and "js/review.js" in html
    held = QueueEntry.objects.filter(lease_holder=alice).order_by("-priority")
    assert [e.pk for e in held] == [entries[0].pk, entries[1].pk]


def test_the_htmx_request_gets_only_the_card(as_alice, entries):
    html = as_alice.get(URL, headers=HTMX).content.decode().strip()
    assert html.startswith('<div id="review-card"') and html.endswith("</div>")
    assert "Oxford shirt 0" in html and "<html" not in html and "Keyboard" not in html


def test_an_empty_queue_says_so(as_alice, version):
    assert "The queue is empty" in as_alice.get(URL).content.decode()


def test_a_plain_form_post_accepts_and_redirects_to_the_next_item(as_alice, alice, tree, entries):
    response = decide(as_alice, tree, SHIRTS)
    assert response.status_code == 302 and response["Location"] == URL
    label = Label.objects.get()
    assert (label.item_id, label.category, label.author) == (
        entries[0].item_id,
        tree[SHIRTS],
        alice,
    )
    assert "Oxford shirt 1" in as_alice.get(URL).content.decode()


def test_an_htmx_decision_returns_the_next_card(as_alice, tree, entries):
    response = decide(as_alice, tree, TSHIRTS, htmx=True)
    html = response.content.decode().strip()
    assert html.startswith('<div id="review-card"') and "Oxford shirt 1" in html
    assert response["HX-Trigger"] == "review-decided"
    assert Label.objects.get().category == tree[TSHIRTS]
    assert not QueueEntry.objects.filter(pk=entries[0].pk).exists()


def test_each_card_brings_the_session_figures_out_of_band(as_alice, tree, entries):
    """One request per decision: the side panel's count comes with the next card."""
    counts = []
    for _ in range(2):
        html = decide(as_alice, tree, TSHIRTS, htmx=True).content.decode()
        oob = html[html.index('<dl class="stats small" id="session-figures"') :]
        assert oob.startswith('<dl class="stats small" id="session-figures" hx-swap-oob="true">')
        counts.append(re.search(r'<dd id="figure-count">(\d+)</dd>', oob)[1])
    assert counts == ["1", "2"] and Label.objects.count() == 2
    skipped = as_alice.post(
        reverse("review:skip"), {"shown": token(as_alice)}, headers=HTMX
    ).content.decode()
    assert '<dd id="figure-skipped">1</dd>' in skipped and 'hx-swap-oob="true"' in skipped


def test_a_double_submit_writes_one_label_and_counts_once(as_alice, tree, entries):
    shown = token(as_alice)
    decide(as_alice, tree, shown=shown, htmx=True)
    second = decide(as_alice, tree, shown=shown, htmx=True)
    assert second.status_code == 200 and Label.objects.count() == 1
    assert as_alice.session["taxoloop_review"]["count"] == 1


def test_a_decision_without_a_category_is_explained(as_alice, entries):
    data = {"shown": token(as_alice)}
    html = as_alice.post(reverse("review:decide"), data, headers=HTMX).content.decode()
    assert svc.CATEGORY_MISSING in html and not Label.objects.exists()
    response = as_alice.post(reverse("review:decide"), data, follow=True)
    assert svc.CATEGORY_MISSING in response.content.decode()


def test_a_tampered_form_is_refused(as_alice, tree, entries):
    response = decide(as_alice, tree, shown="forged", htmx=True)
    assert svc.BAD_SHOWN in response.content.decode() and not Label.objects.exists()


def test_skip_shows_the_next_item_and_returns_the_skipped_one_to_the_pool(as_alice, alice, entries):
    data = {"shown": token(as_alice)}
    html = as_alice.post(reverse("review:skip"), data, headers=HTMX).content.decode()
    assert "Oxford shirt 1" in html and "Oxford shirt 0" not in html
    assert QueueEntry.objects.get(pk=entries[0].pk).lease_holder is None
    assert "Oxford shirt 0" not in as_alice.get(URL).content.decode()
    plain = as_alice.post(reverse("review:skip"), {"shown": token(as_alice)})
    assert plain.status_code == 302 and plain["Location"] == URL


def test_a_skip_is_remembered_across_logins(client, alice, entries):
    """A skipped item came back the next time the reviewer logged in (issue 14)."""
    client.force_login(alice)
    client.post(reverse("review:skip"), {"shown": token(client)})
    for _ in range(3):
        client.logout()
        client.force_login(alice)
        html = client.get(URL).content.decode()
        assert "Oxford shirt 1" in html and "Oxford shirt 0" not in html


def test_skipped_items_can_be_shown_again(as_alice, version, tree):
    make_queue(version, tree, n=1)
    as_alice.post(reverse("review:skip"), {"shown": token(as_alice)})
    assert "you skipped" in as_alice.get(URL).content.decode()
    html = as_alice.post(reverse("review:unskip"), headers=HTMX).content.decode()
    assert "Oxford shirt 0" in html


def test_not_in_the_taxonomy_records_a_proposal_not_a_label(as_alice, tree, entries):
    html = as_alice.get(URL).content.decode()
    assert '<option value="" selected>nothing: leave it unlabelled</option>' in html
    data = {"shown": token(as_alice), "note": "Smart rings", "category": ""}
    html = as_alice.post(reverse("review:propose"), data, headers=HTMX).content.decode()
    assert not Label.objects.exists() and "Oxford shirt 1" in html
    assert Proposal.objects.get().text == "Smart rings"


def test_a_proposal_labels_the_ancestor_the_reviewer_picks(as_alice, tree, entries):
    data = {"shown": token(as_alice), "note": "Smart rings", "category": tree["Apparel"].pk}
    as_alice.post(reverse("review:propose"), data, headers=HTMX)
    label = Label.objects.get()
    assert (label.context, label.note) == ("proposal", "not in taxonomy: Smart rings")
    assert label.category == tree["Apparel"] and Proposal.objects.get().label == label


def test_a_proposal_without_a_note_is_explained(as_alice, entries):
    data = {"shown": token(as_alice), "note": ""}
    html = as_alice.post(reverse("review:propose"), data, headers=HTMX).content.decode()
    assert proposing.NOTE_REQUIRED in html and not Label.objects.exists()


def test_undo_retracts_the_last_decision_and_shows_its_item_again(as_alice, tree, entries):
    decide(as_alice, tree, JEANS)
    html = as_alice.post(reverse("review:undo"), headers=HTMX).content.decode()
    retraction = Label.objects.get(kind="retraction")
    assert retraction.retracts.category == tree[JEANS]
    assert "Oxford shirt 0" in html and as_alice.session["taxoloop_review"]["count"] == 0
    response = as_alice.post(reverse("review:undo"), follow=True)
    assert svc.NOTHING_TO_UNDO in response.content.decode()


def test_the_undo_button_is_disabled_until_there_is_something_to_undo(as_alice, tree, entries):
    assert 'id="undo-button" class="secondary" disabled' in as_alice.get(URL).content.decode()
    decide(as_alice, tree)
    assert 'id="undo-button" class="secondary">' in as_alice.get(URL).content.decode()


def test_search_returns_the_results_fragment_ranked(as_alice, tree, entries):
    params = {"q": "shirt", "item": entries[0].item_id}
    response = as_alice.get(reverse("review:search"), params, headers=HTMX)
    html = response.content.decode().strip()
    assert html.startswith('<ol id="search-results"') and html.endswith("</ol>")
    assert html.index(escape(SHIRTS)) < html.index(
        escape(TSHIRTS)
    )  # prefix before word-inside, then p
    assert html.count("<button") == 2  # Shirts (0.55), Tshirts (0.40); not Jeans


def test_search_without_javascript_renders_the_whole_page(as_alice, tree, entries):
    response = as_alice.get(reverse("review:search"), {"q": "jeans"})
    html = response.content.decode()
    assert "<html" in html and "Oxford shirt 0" in html
    assert f'value="{tree[JEANS].pk}" class="result' in html


def test_a_search_without_matches_says_so(as_alice, entries):
    html = as_alice.get(reverse("review:search"), {"q": "zzz"}, headers=HTMX).content.decode()
    assert "No category matches “zzz”." in html


def test_the_tree_drills_down_with_a_choose_button_for_the_inner_node(as_alice, tree, entries):
    apparel = tree["Apparel"]
    params = {"node": apparel.pk, "item": entries[0].item_id}
    response = as_alice.get(reverse("review:tree"), params, headers=HTMX)
    html = response.content.decode().strip()
    assert html.startswith('<div id="review-tree"')
    assert f'value="{apparel.pk}" class="choose-node"' in html
    assert html.index("Bottomwear ›") < html.index("Topwear ›")
    topwear = html[html.index("Topwear ›") :]
    assert '<span class="p">0.95</span>' in topwear  # Shirts 0.55 + Tshirts 0.40
    bottomwear = html[html.index("Bottomwear ›") : html.index("Topwear ›")]
    assert '<span class="p">0.05</span>' in bottomwear


def test_the_open_tree_marks_its_rows_for_the_arrow_keys_and_keeps_its_closed_form(
    as_alice, tree, entries
):
    footwear, shoes = tree["Footwear"], tree["Footwear > Shoes"]
    params = {"node": shoes.pk, "item": entries[0].item_id}
    response = as_alice.get(reverse("review:tree"), params, headers=HTMX)
    html = response.content.decode().strip()
    assert html.startswith('<div id="review-tree" class="tree open">')
    # the rows, in order: the trail, the node itself, its children (here two leaves)
    assert html.count("data-tree-row") == 3 + 1 + 2
    assert f'data-node="{footwear.pk}"' in html and f'data-node="{shoes.pk}"' in html
    sneakers = tree["Footwear > Shoes > Sneakers"]
    assert f'value="{sneakers.pk}" class="choose secondary"' in html
    assert 'aria-label="Choose Footwear &gt; Shoes &gt; Sneakers" data-tree-row' in html
    closed = html[html.index('<template class="tree-closed">') :]
    assert 'id="open-tree"' in closed and '<kbd data-hotkey="tree">t</kbd>' in closed


def test_the_tree_without_javascript_renders_the_whole_page(as_alice, tree, entries):
    html = as_alice.get(reverse("review:tree")).content.decode()
    assert "<html" in html and "Apparel ›" in html and "Footwear ›" in html


def test_an_inner_node_can_be_chosen(as_alice, tree, entries):
    decide(as_alice, tree, "Apparel > Topwear")
    assert Label.objects.get().category == tree["Apparel > Topwear"]


def test_the_figures_count_labels_per_hour_and_the_queue_by_reason(as_alice, tree, entries):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        as_alice.get(URL)
        decide(as_alice, tree)
        decide(as_alice, tree)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        response = as_alice.get(reverse("review:figures"), headers=HTMX)
    html = response.content.decode().strip()
    assert html.startswith('<section class="card figures" id="review-figures"')
    assert '<dd id="figure-count">2</dd>' in html
    assert '<dd id="figure-rate">4</dd>' in html  # 2 labels in half an hour
    assert "<tr><th>uncertain</th><td>1</td></tr>" in html
    assert "<tr><th>audit</th><td>0</td></tr>" in html


def test_a_csrf_token_is_required_and_the_htmx_header_carries_it(alice, tree, entries):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get(URL)
    data = {"shown": page.context["task"].token, "category": tree[SHIRTS].pk}
    assert client.post(reverse("review:decide"), data).status_code == 403
    csrf = str(page.context["csrf_token"])
    response = client.post(reverse("review:decide"), data, headers={**HTMX, "X-CSRFToken": csrf})
    assert response.status_code == 200 and Label.objects.count() == 1


@pytest.mark.parametrize("name", GETS + POSTS)
def test_a_user_without_a_role_is_refused(client, charlie, entries, name):
    client.force_login(charlie)
    method = client.post if name in POSTS else client.get
    response = method(reverse(f"review:{name}"))
    assert response.status_code == 403 and b"Reviewer" in response.content
    assert not QueueEntry.objects.filter(lease_holder__isnull=False).exists()


@pytest.mark.parametrize("name", GETS + POSTS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, entries, name):
    method = client.post if name in POSTS else client.get
    response = method(reverse(f"review:{name}"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", GETS + POSTS)
def test_the_wrong_method_is_refused(as_alice, entries, name):
    method = as_alice.get if name in POSTS else as_alice.post
    assert method(reverse(f"review:{name}")).status_code == 405
    assert not Label.objects.exists()


def test_a_taxonomy_admin_reviews_too(client, bob, entries):
    client.force_login(bob)
    assert client.get(URL).status_code == 200


def test_an_item_without_an_image_gets_no_empty_image_box(as_alice, entries):
    html = as_alice.get(URL).content.decode()
    assert "review-image" not in html and "no image" not in html
    assert 'class="review-item text-only"' in html


def test_every_page_loads_the_failed_request_banner_script(as_alice, entries):
    html = as_alice.get(URL).content.decode()
    assert "js/requests.js" in html and "js/review.js" in html
