"""The admins' assignments page and the reviewer's own queue filter on the review page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import QueueEntry, ReviewAssignment
from labeling.services.review.assignments import assignment_set
from tests.labeling.review_data import JEANS, SHIRTS, queue_entry_at

HTMX = {"HX-Request": "true"}


@pytest.fixture
def pool(tree):
    return {
        "shirts": queue_entry_at(tree, SHIRTS, "uncertain", 0.9),
        "jeans": queue_entry_at(tree, JEANS, "novel", 0.8),
    }


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post_with_csrf(client, url_name, data):
    page = client.get(reverse("taxonomy:assignments"))
    token = page.cookies["csrftoken"].value
    return client.post(reverse(url_name), data | {"csrfmiddlewaretoken": token})


def test_an_admin_sets_a_reviewers_assignment_with_csrf(bob, alice, version, tree):
    client = csrf_client(bob)
    data = {"user": alice.pk, "subtrees": "Apparel > Topwear\n", "reasons": ["novel"]}
    response = post_with_csrf(client, "taxonomy:assignment-save", data)
    assert response.status_code == 302
    assignment = ReviewAssignment.objects.get(user=alice)
    assert assignment.category_keys == [tree["Apparel > Topwear"].key]
    assert assignment.reasons == ["novel"]


def test_a_post_without_the_csrf_token_is_refused(bob, alice, version):
    response = csrf_client(bob).post(reverse("taxonomy:assignment-save"), {"user": alice.pk})
    assert response.status_code == 403 and not ReviewAssignment.objects.exists()


def test_a_reviewer_cannot_set_assignments(client, alice, version):
    client.force_login(alice)
    response = client.post(reverse("taxonomy:assignment-save"), {"user": alice.pk})
    assert response.status_code == 403 and not ReviewAssignment.objects.exists()
    assert client.get(reverse("taxonomy:assignments")).status_code == 403


def test_an_outsider_is_refused_and_the_wrong_method_gets_405(client, charlie, bob, version):
    client.force_login(charlie)
    assert client.get(reverse("taxonomy:assignments")).status_code == 403
    client.force_login(bob)
    assert client.get(reverse("taxonomy:assignment-save")).status_code == 405


def test_the_admin_page_shows_a_stale_category(client, bob, alice, version, tree):
    assignment_set(user=alice, categories=[tree["Footwear"]], version=version)
    tree["Footwear"].key = "retired-key"
    tree["Footwear"].save()
    client.force_login(bob)
    page = client.get(reverse("taxonomy:assignments")).content.decode()
    assert "stale:" in page and "alice" in page


def test_the_filter_narrows_the_queue_and_clears(client, alice, version, pool):
    client.force_login(alice)
    client.post(reverse("review:filter"), {"reason": "novel"})
    response = client.get(reverse("review:queue"))
    assert response.context["task"].entry == pool["jeans"]
    assert 'id="active-filter"' in response.content.decode()
    client.post(reverse("review:filter"), {"clear": "1"})
    assert client.get(reverse("review:queue")).context["task"].entry == pool["shirts"]


def test_the_filter_by_subtree_narrows_the_queue(client, alice, version, pool):
    client.force_login(alice)
    client.post(reverse("review:filter"), {"subtree": "Apparel > Bottomwear"})
    assert client.get(reverse("review:queue")).context["task"].entry == pool["jeans"]


def test_a_filter_matching_nothing_says_so_with_a_clear_button(client, alice, version, pool):
    client.force_login(alice)
    client.post(reverse("review:filter"), {"reason": "audit"})
    page = client.get(reverse("review:queue"), headers=HTMX).content.decode()
    assert "Nothing in your queue matches your filter: clear the filter" in page
    assert 'id="clear-filter-button"' in page


def test_a_restricted_reviewers_empty_queue_says_their_assignment_limits_them(
    client, alice, version, tree, pool
):
    assignment_set(user=alice, categories=[tree["Footwear"]], version=version)
    client.force_login(alice)
    page = client.get(reverse("review:queue")).content.decode()
    assert "the queue holds 2 other items for other reviewers" in page
    assert "your assignment limits what you are handed" in page


def test_an_unrestricted_empty_queue_keeps_its_text(client, alice, version):
    client.force_login(alice)
    assert "Nothing is waiting for review" in client.get(reverse("review:queue")).content.decode()


def test_the_filter_refuses_get_and_outsiders(client, alice, charlie, version):
    client.force_login(alice)
    assert client.get(reverse("review:filter")).status_code == 405
    client.force_login(charlie)
    assert client.post(reverse("review:filter"), {"reason": "novel"}).status_code == 403


def test_changing_the_filter_gives_back_the_items_held(client, alice, version, pool):
    client.force_login(alice)
    client.get(reverse("review:queue"))
    client.post(reverse("review:filter"), {"reason": "novel"})
    assert not QueueEntry.objects.filter(lease_holder=alice).exclude(reason="novel").exists()
