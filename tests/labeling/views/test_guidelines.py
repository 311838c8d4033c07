"""Guideline pages (issue 16): the taxonomy admins' editor (CSRF, size limit, preview, history)
and the reviewers' read-only page, both rendering Markdown safely; and the catalog report
filtered to the items labelled in a category (the guideline's "examples" link)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import Guideline, TaxonomyOperation
from labeling.services.taxonomy.drafts import draft_start
from labeling.services.taxonomy.guidelines import GUIDELINE_MAX_CHARS, guideline_set
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.labeling.review_data import SHIRTS, make_queue
from tests.labeling.taxonomy_admin_data import keys

HTMX = {"HX-Request": "true"}
EVIL = '<script>alert("x")</script> [click](javascript:alert(1)) <img src=x onerror=alert(2)>'


@pytest.fixture
def shirts(tree):
    return tree[SHIRTS]


def edit_url(category) -> str:
    return reverse("taxonomy:guideline", args=[category.pk])


def read_url(category) -> str:
    return reverse("review:guideline", args=[category.pk])


@pytest.fixture
def as_bob(client, bob):
    client.force_login(bob)
    return client


def test_the_editor_shows_the_form_the_guideline_and_its_history(as_bob, bob, shirts):
    guideline_set(category=shirts, text="Collared **shirts**.", author=bob)
    response = as_bob.get(edit_url(shirts))
    html = response.content.decode()
    assert response.status_code == 200 and 'name="text"' in html and "csrfmiddlewaretoken" in html
    assert "<strong>shirts</strong>" in html and 'id="guideline-history"' in html
    assert "written" in html


def test_an_admin_saves_a_guideline_with_a_csrf_token(bob, shirts):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    csrf = str(client.get(edit_url(shirts)).context["csrf_token"])
    response = client.post(edit_url(shirts), {"text": "Buttoned.", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302 and response["Location"] == edit_url(shirts)
    assert Guideline.objects.get(category=shirts).text == "Buttoned."
    assert "is saved" in client.get(edit_url(shirts)).content.decode()


def test_a_post_without_a_csrf_token_is_refused(bob, shirts):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(edit_url(shirts), {"text": "Sneaky."}).status_code == 403
    assert not Guideline.objects.exists()


def test_reviewers_and_outsiders_cannot_edit(client, alice, charlie, shirts):
    assert client.get(edit_url(shirts)).status_code == 302  # to the login
    for user in (alice, charlie):
        client.force_login(user)
        assert client.get(edit_url(shirts)).status_code == 403
        assert client.post(edit_url(shirts), {"text": "mine now"}).status_code == 403
    assert not Guideline.objects.exists()


def test_the_editor_refuses_other_methods(as_bob, shirts):
    assert as_bob.put(edit_url(shirts)).status_code == 405


def test_too_long_a_guideline_is_refused_with_a_clear_message_and_kept_in_the_form(as_bob, shirts):
    text = "y" * (GUIDELINE_MAX_CHARS + 5)
    response = as_bob.post(edit_url(shirts), {"text": text})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="guideline-error"' in html
    assert "10,005 characters long; the limit is 10,000" in html and text in html
    assert not Guideline.objects.exists()


def test_preview_renders_without_saving_and_neutralises_unsafe_markdown(as_bob, shirts):
    response = as_bob.post(edit_url(shirts), {"text": "**Bold** " + EVIL, "preview": "1"})
    html = response.content.decode()
    preview = html[html.index('id="guideline-preview"') :]
    assert "<strong>Bold</strong>" in preview and "&lt;script&gt;" in preview
    assert "<script>alert" not in html and 'href="javascript' not in preview
    assert "<img" not in preview and not Guideline.objects.exists()


def test_the_htmx_editor_answers_with_its_partial(as_bob, shirts):
    response = as_bob.post(edit_url(shirts), {"text": "Buttoned."}, headers=HTMX)
    html = response.content.decode().strip()
    assert html.startswith('<div id="guideline-editor"') and "is saved" in html
    assert as_bob.get(edit_url(shirts), headers=HTMX).content.decode().strip().startswith("<div")


def test_a_retired_versions_guideline_is_read_only(as_bob, bob, version, shirts):
    guideline_set(category=shirts, text="Old rule.", author=bob)
    taxonomy_publish(draft=draft_start(taxonomy=version.taxonomy, author=bob), author=bob)
    html = as_bob.get(edit_url(shirts)).content.decode()
    assert 'id="guideline-read-only"' in html and 'name="text"' not in html
    response = as_bob.post(edit_url(shirts), {"text": "New rule."})
    assert "read only" in response.content.decode()
    assert Guideline.objects.get(category=shirts).text == "Old rule."


def test_a_draft_category_is_edited_from_the_draft_tree(as_bob, version, tree):
    draft = draft_start(taxonomy=version.taxonomy, author=None)
    copy = keys(draft)["apparel/topwear/shirts"]
    tree_html = as_bob.get(reverse("taxonomy:draft", args=[draft.pk])).content.decode()
    assert f'href="{edit_url(copy)}"' in tree_html
    as_bob.post(edit_url(copy), {"text": "From the draft."})
    assert Guideline.objects.get(category=copy).text == "From the draft."
    assert TaxonomyOperation.objects.filter(version=draft, kind="guideline").count() == 1
    assert not Guideline.objects.filter(category=tree[SHIRTS]).exists()


def test_the_version_tree_marks_the_categories_with_a_guideline(as_bob, bob, version, shirts):
    guideline_set(category=shirts, text="x", author=bob)
    page = as_bob.get(reverse("taxonomy:version", args=[version.pk])).context["page"]
    marked = {r.category.path for r in page.rows if r.category.has_guideline}
    assert marked == {SHIRTS}


# -- the reviewers' page ----------------------------------------------------------------------


def test_a_reviewer_reads_a_guideline_rendered_safely(client, alice, bob, shirts):
    guideline_set(category=shirts, text="Use for *shirts*. " + EVIL, author=bob)
    client.force_login(alice)
    response = client.get(read_url(shirts))
    html = response.content.decode()
    assert response.status_code == 200 and "<em>shirts</em>" in html
    assert "<script>alert" not in html and 'href="javascript' not in html and "<img" not in html
    assert f"?labelled_as={shirts.pk}" in html


def test_the_reviewers_page_says_when_there_is_no_guideline(client, alice, shirts):
    client.force_login(alice)
    assert 'id="no-guideline"' in client.get(read_url(shirts)).content.decode()


def test_the_reviewers_page_refuses_outsiders_and_posts(client, alice, charlie, shirts):
    client.force_login(charlie)
    assert client.get(read_url(shirts)).status_code == 403
    client.force_login(alice)
    assert client.post(read_url(shirts)).status_code == 405
    assert client.get(reverse("review:guideline", args=[10**9])).status_code == 404


# -- the examples link: items labelled in the category ----------------------------------------


def test_the_examples_link_lists_the_items_labelled_there(client, alice, version, tree):
    entries = make_queue(version, tree, n=3)  # each predicted Shirts
    from labeling.services.review.labels import label_create

    label_create(item=entries[0].item, category=tree[SHIRTS], author=alice, source="review")
    label_create(item=entries[1].item, category=tree["Accessories"], author=alice, source="review")
    client.force_login(alice)
    url = f"{reverse('reports:report', args=['catalog'])}?labelled_as={tree['Apparel'].pk}"
    response = client.get(url)
    rows = response.context["page"].rows
    assert [r.item for r in rows] == [entries[0].item]
    assert 'id="labelled-as"' in response.content.decode()
