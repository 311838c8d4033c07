"""The adjudication queue (issue 16): disputed overlap items, oldest first, decided by an
adjudicator; the decision is the item's label and the reviewers' answers stay in the ledger."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from labeling.models import Item, Label, Overlap
from labeling.roles import ADJUDICATOR, REVIEWER
from labeling.services.review.overlap import NOT_DISPUTED, overlap_answer
from labeling.services.taxonomy.guidelines import guideline_set
from labeling.views.adjudication import PICK_A_CATEGORY
from tests.factories import UserFactory
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, make_queue

URL = "/review/adjudicate/"
HTMX = {"HX-Request": "true"}

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def dave(db):
    return UserFactory(username="dave", roles=[REVIEWER])


@pytest.fixture
def judy(db):
    return UserFactory(username="judy", roles=[ADJUDICATOR])


def answer(item, reviewer, category, note="", needed=2):
    with transaction.atomic():
        return overlap_answer(
            item=item,
            reviewer=reviewer,
            category=category,
            needed=needed,
            why="sample",
            model_version=None,
            prediction_shown={},
            is_audit=False,
            note=note,
            idempotency_key=f"answer:{item.pk}:{reviewer.pk}",
        )


@pytest.fixture
def disputed(version, tree, alice, dave) -> Overlap:
    """Alice says shirt, Dave says T-shirt: the item waits for an adjudicator."""
    item = make_queue(version, tree, n=1)[0].item
    answer(item, alice, tree[SHIRTS], note="button-down collar")
    overlap = answer(item, dave, tree[TSHIRTS]).overlap
    assert overlap.status == Overlap.Status.DISPUTED
    return overlap


@pytest.fixture
def as_judy(client, judy):
    client.force_login(judy)
    return client


def decide(client, overlap, category, **extra):
    data = {"category": category.pk, "nonce": "0" * 32} | extra
    return client.post(reverse("review:adjudicate-decide", args=[overlap.pk]), data)


def test_an_adjudicator_sees_both_answers_with_their_authors(as_judy, disputed):
    html = as_judy.get(URL).content.decode()
    answers = html[html.index('id="answers"') : html.index('id="model-candidates"')]
    assert escape(SHIRTS) in answers and escape(TSHIRTS) in answers
    assert '<strong class="answer-author">alice</strong>' in answers
    assert '<strong class="answer-author">dave</strong>' in answers
    assert "button-down collar" in answers and 'data-answer="2"' in answers


def test_the_card_shows_the_models_candidates_and_the_keys(as_judy, disputed):
    html = as_judy.get(URL).content.decode()
    candidates = html[html.index('id="model-candidates"') : html.index('id="category-search"')]
    assert escape(JEANS) in candidates and "0.55" in candidates
    assert "<dt><kbd>Enter</kbd></dt>" in html and "<dt><kbd>n</kbd></dt>" in html
    assert 'id="nav-adjudicate"' in html and "Adjudicate (1)" in html


def test_the_card_shows_the_guidelines_of_the_answered_categories(as_judy, disputed, tree):
    guideline_set(category=tree[TSHIRTS], text="No collar, *knitted*.", author=None)
    html = as_judy.get(URL).content.decode()
    answers = html[html.index('id="answers"') : html.index('id="model-candidates"')]
    assert "<em>knitted</em>" in answers


def test_the_card_costs_the_same_queries_however_many_answers(
    as_judy, version, tree, django_assert_max_num_queries
):
    item = make_queue(version, tree, n=1)[0].item
    for n, path in enumerate((SHIRTS, TSHIRTS, JEANS, "Accessories > Watches")):
        answer(item, UserFactory(username=f"r{n}", roles=[REVIEWER]), tree[path], needed=4)
    assert as_judy.get(URL).context["card"].item == item  # builds the category index
    # the session, the user, the roles, base.html's groups; the current version, the count;
    # the overlap with its item and prediction, the answers with their authors and categories
    with django_assert_max_num_queries(8):
        html = as_judy.get(URL).content.decode()
    assert all(f'data-answer="{key}"' in html for key in range(1, 5))


def test_an_adjudication_labels_the_item_and_keeps_the_answers(as_judy, judy, disputed, tree):
    response = decide(as_judy, disputed, tree[JEANS], note="the cut says jeans")
    assert response.status_code == 302 and response.url == URL
    disputed.refresh_from_db()
    label = Item.objects.get(pk=disputed.item_id).current_label
    assert disputed.status == "adjudicated" and disputed.label == label
    assert label.author == judy and label.context == "adjudicated"
    assert label.category == tree[JEANS] and label.note == "the cut says jeans"
    answers = Label.objects.filter(overlap_answer__overlap=disputed)
    assert sorted(a.author.username for a in answers) == ["alice", "dave"]


def test_a_double_submit_writes_one_label(as_judy, disputed, tree):
    first = decide(as_judy, disputed, tree[SHIRTS])
    second = decide(as_judy, disputed, tree[SHIRTS])
    assert first.status_code == second.status_code == 302
    assert Label.objects.filter(context="adjudicated").count() == 1


def test_a_decision_on_an_adjudicated_overlap_shows_the_error_and_keeps_the_choice(
    as_judy, disputed, tree
):
    decide(as_judy, disputed, tree[SHIRTS])
    response = decide(as_judy, disputed, tree[TSHIRTS], nonce="1" * 32, note="my note")
    html = response.content.decode()
    assert response.status_code == 400
    assert NOT_DISPUTED.format(pk=disputed.pk, status="adjudicated") in html
    assert f'value="{tree[TSHIRTS].pk}" data-answer="2" checked' in html and "my note" in html
    assert Label.objects.filter(context="adjudicated").count() == 1


def test_a_decision_without_a_category_is_refused(as_judy, disputed):
    url = reverse("review:adjudicate-decide", args=[disputed.pk])
    response = as_judy.post(url, {"category": "", "note": "kept"})
    assert response.status_code == 400 and PICK_A_CATEGORY in response.content.decode()
    assert Overlap.objects.get(pk=disputed.pk).status == "disputed"


def test_a_category_found_by_the_search_is_kept_after_a_refusal(as_judy, disputed, tree):
    decide(as_judy, disputed, tree[SHIRTS])
    response = decide(as_judy, disputed, tree["Accessories > Watches"], nonce="1" * 32)
    html = response.content.decode()
    assert 'id="chosen-category"' in html and "Accessories &gt; Watches" in html


def test_the_search_finds_any_category_of_the_current_version(as_judy, disputed):
    url = reverse("review:adjudicate-search")
    html = as_judy.get(url, {"q": "watch", "overlap": disputed.pk}, headers=HTMX).content.decode()
    assert html.lstrip().startswith('<ol id="search-results"') and "Watches" in html
    page = as_judy.get(url, {"q": "watch", "overlap": disputed.pk}).content.decode()
    assert 'id="answers"' in page and "Accessories &gt; Watches" in page


def test_the_next_card_is_the_oldest_disputed_item(as_judy, disputed, version, tree, alice, dave):
    item = make_queue(version, tree, n=1)[0].item
    answer(item, alice, tree[JEANS])
    answer(item, dave, tree[SHIRTS])
    assert as_judy.get(URL).context["card"].overlap == disputed
    decide(as_judy, disputed, tree[SHIRTS])
    assert as_judy.get(URL).context["card"].item == item


def test_an_empty_queue_says_nothing_to_adjudicate(as_judy, version):
    html = as_judy.get(URL).content.decode()
    assert "Nothing to adjudicate" in html and '<span id="adjudicate-count">0</span>' in html


@pytest.mark.parametrize("who", ["bob", "judy"])
def test_adjudicators_and_admins_may_open_the_queue(client, who, bob, judy, disputed):
    client.force_login({"bob": bob, "judy": judy}[who])
    assert client.get(URL).status_code == 200


def test_a_reviewer_and_an_outsider_are_refused(client, alice, charlie, disputed, tree):
    for user in (alice, charlie):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert decide(client, disputed, tree[SHIRTS]).status_code == 403
        assert 'id="nav-adjudicate"' not in client.get("/").content.decode()
    assert Overlap.objects.get(pk=disputed.pk).status == "disputed"


def test_anonymous_users_are_sent_to_log_in(client, disputed, tree):
    assert client.get(URL).url.startswith(reverse("login"))
    assert decide(client, disputed, tree[SHIRTS]).url.startswith(reverse("login"))


def test_the_wrong_method_gets_405(as_judy, disputed):
    assert as_judy.post(URL).status_code == 405
    assert as_judy.get(reverse("review:adjudicate-decide", args=[disputed.pk])).status_code == 405


def test_the_decision_needs_the_csrf_token(judy, disputed, tree):
    client = Client(enforce_csrf_checks=True)
    client.force_login(judy)
    assert decide(client, disputed, tree[SHIRTS]).status_code == 403
    token = client.get(URL).cookies["csrftoken"].value
    assert decide(client, disputed, tree[SHIRTS], csrfmiddlewaretoken=token).status_code == 302
    assert Overlap.objects.get(pk=disputed.pk).status == "adjudicated"
