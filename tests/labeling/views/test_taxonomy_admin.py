"""Taxonomy admin pages: tree with counts, draft editor (htmx operations, diff), publish,
rollback, proposals. Every page refuses non-admins."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.models import Category, Proposal, QueueEntry, TaxonomyOperation, TaxonomyVersion
from labeling.services.review.labels import label_create
from labeling.services.taxonomy.drafts import draft_start
from tests.factories import ItemFactory
from tests.labeling.taxonomy_admin_data import current_paths, keys, label_items, ledger_size

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def labelled(tree):
    return label_items(
        tree,
        {
            "Footwear > Shoes > Sandals": 2,
            "Footwear > Shoes > Sneakers": 3,
            "Accessories > Watches": 1,
        },
    )


@pytest.fixture
def draft(version, labelled, bob):
    return draft_start(taxonomy=version.taxonomy, author=bob)


def op_url(draft, op):
    return reverse("taxonomy:draft-operation", args=[draft.pk, op])


def test_the_index_lists_versions_and_offers_a_draft(client, bob, version, tree):
    client.force_login(bob)
    response = client.get(reverse("taxonomy:index"))
    assert response.status_code == 200
    assert f"Start a draft from v{version.number}" in response.content.decode()


@pytest.mark.parametrize("name", ["taxonomy:index", "taxonomy:proposals"])
def test_pages_refuse_a_reviewer_and_redirect_anonymous(client, alice, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(alice)
    response = client.get(reverse(name))
    assert response.status_code == 403 and "TaxonomyAdmin" in response.content.decode()


def test_the_version_tree_shows_subtree_item_counts_and_searches(client, bob, version, labelled):
    client.force_login(bob)
    page = client.get(reverse("taxonomy:version", args=[version.pk])).context["page"]
    counts = {r.category.path: (r.items, r.labels) for r in page.rows}
    assert counts["Footwear"] == (5, 0) and counts["Footwear > Shoes > Sneakers"] == (3, 3)
    response = client.get(reverse("taxonomy:version", args=[version.pk]), {"q": "sneak"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="tree-table">') and "Sandals" not in html
    assert [r.category.path for r in response.context["page"].rows] == [
        "Footwear > Shoes > Sneakers"
    ]


def test_the_nav_links_to_the_taxonomy_pages_for_admins_only(client, bob, alice):
    client.force_login(bob)
    assert 'href="/taxonomy/"' in client.get(reverse("taxonomy:index")).content.decode()
    client.force_login(alice)
    assert 'href="/taxonomy/"' not in client.get(reverse("models:list")).content.decode()


def test_start_a_draft_redirects_to_the_editor(client, bob, version, tree):
    client.force_login(bob)
    response = client.post(reverse("taxonomy:draft-create", args=[version.taxonomy.pk]))
    draft = TaxonomyVersion.objects.get(status="draft")
    assert response.url == reverse("taxonomy:draft", args=[draft.pk])
    assert Category.objects.filter(version=draft).count() == 12
    assert (
        client.get(reverse("taxonomy:draft-create", args=[version.taxonomy.pk])).status_code == 405
    )


def test_an_htmx_operation_renders_the_panel_with_the_diff(client, bob, draft):
    client.force_login(bob)
    before = ledger_size()
    response = client.post(
        op_url(draft, "rename"), {"key": "footwear/shoes/sneakers", "name": "Trainers"}, **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="draft-panel">')
    assert [(r.kind, r.path, r.labels) for r in response.context["diff"]] == [
        ("renamed", "Footwear > Shoes > Trainers", 3)
    ]
    assert keys(draft)["footwear/shoes/sneakers"].name == "Trainers" and ledger_size() == before


def test_an_operation_error_is_shown_and_changes_nothing(client, bob, draft):
    client.force_login(bob)
    response = client.post(
        op_url(draft, "merge"), {"sources": "footwear", "target": "footwear"}, **HTMX
    )
    assert "cannot be merged into itself" in response.content.decode()
    assert not TaxonomyOperation.objects.exists()
    response = client.post(op_url(draft, "explode"), {}, **HTMX)
    assert "Unknown operation &#x27;explode&#x27;" in response.content.decode()


def test_operations_without_htmx_redirect_back_to_the_editor(client, bob, draft):
    client.force_login(bob)
    response = client.post(
        op_url(draft, "split"), {"key": "accessories/watches", "names": "Analog, Digital"}
    )
    assert response.url == reverse("taxonomy:draft", args=[draft.pk])
    assert TaxonomyOperation.objects.get().payload["child_paths"] == [
        "Accessories > Watches > Analog",
        "Accessories > Watches > Digital",
    ]


def test_operations_refuse_a_reviewer_and_get(client, alice, bob, draft):
    client.force_login(alice)
    assert (
        client.post(op_url(draft, "deprecate"), {"key": "accessories/watches"}).status_code == 403
    )
    client.force_login(bob)
    assert client.get(op_url(draft, "deprecate")).status_code == 405


def test_publish_migrates_labels_and_rollback_restores_them(client, bob, draft, version):
    client.force_login(bob)
    client.post(
        op_url(draft, "merge"),
        {"sources": "footwear/shoes/sneakers", "target": "footwear/shoes/sandals"},
    )
    client.post(op_url(draft, "split"), {"key": "accessories/watches", "names": "Analog\nDigital"})
    response = client.post(reverse("taxonomy:draft-publish", args=[draft.pk]), follow=True)
    assert "6 label(s) migrated, 1 item(s) sent to re-review" in response.content.decode()
    assert current_paths(draft) == {"Footwear > Shoes > Sandals": 5, "Accessories > Watches": 1}
    assert QueueEntry.objects.filter(reason="re-review").count() == 1
    assert response.context["can_rollback"]
    response = client.post(reverse("taxonomy:rollback", args=[draft.pk]), follow=True)
    html = response.content.decode()
    assert f"v{version.number} is current again; 6 item(s)" in html
    assert f"1 training run(s) of v{draft.number} cancelled" in html
    assert current_paths(version) == {
        "Footwear > Shoes > Sandals": 2,
        "Footwear > Shoes > Sneakers": 3,
        "Accessories > Watches": 1,
    }


def test_rollback_after_a_new_label_is_refused_with_the_reason(client, bob, alice, draft):
    client.force_login(bob)
    client.post(reverse("taxonomy:draft-publish", args=[draft.pk]))
    label_create(
        item=ItemFactory(),
        category=keys(draft)["accessories/watches"],
        author=alice,
        source="review",
    )
    response = client.post(reverse("taxonomy:rollback", args=[draft.pk]), follow=True)
    assert "already has 1 new ledger row(s)" in response.content.decode()
    assert not response.context["can_rollback"]


def test_discard_removes_the_draft(client, bob, draft):
    client.force_login(bob)
    response = client.post(reverse("taxonomy:draft-discard", args=[draft.pk]))
    assert response.url == reverse("taxonomy:index")
    assert not TaxonomyVersion.objects.filter(status="draft").exists()


def test_the_proposals_page_groups_and_creates_a_category_in_a_draft(
    client, bob, alice, tree, version, settings
):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TEXT_ENCODER": "", "IMAGE_ENCODER": ""}
    proposal = Proposal.objects.create(
        item=ItemFactory(title="Aviator"),
        taxonomy_version=version,
        author=alice,
        text="Sunglasses",
        vouched=tree["Accessories"],
    )
    client.force_login(bob)
    html = client.get(reverse("taxonomy:proposals")).content.decode()
    assert "Aviator" in html and 'value="Sunglasses"' in html and 'value="accessories"' in html
    response = client.post(
        reverse("taxonomy:proposal-create"),
        {
            "proposals": [proposal.pk],
            "taxonomy": version.taxonomy.pk,
            "name": "Sunglasses",
            "parent_key": "accessories",
        },
    )
    draft = TaxonomyVersion.objects.get(status="draft")
    assert response.url == reverse("taxonomy:draft", args=[draft.pk])
    assert "accessories/sunglasses" in keys(draft)
    assert Proposal.objects.get().status == "accepted"


def test_an_admin_dismisses_a_group_of_proposals(client, bob, alice, version):
    proposals = [
        Proposal.objects.create(
            item=ItemFactory(), taxonomy_version=version, author=alice, text="Board games"
        )
        for _ in range(6)
    ]
    client.force_login(bob)
    html = client.get(reverse("taxonomy:proposals")).content.decode()
    assert html.count('class="proposal-group"') == 1 and "Dismiss 6 proposals" in html
    response = client.post(
        reverse("taxonomy:proposal-dismiss"), {"proposals": [p.pk for p in proposals]}
    )
    assert response.url == reverse("taxonomy:proposals")
    assert set(Proposal.objects.values_list("status", flat=True)) == {"dismissed"}
    assert "No open proposals" in client.get(reverse("taxonomy:proposals")).content.decode()


def test_a_reviewer_cannot_dismiss_proposals(client, alice, version):
    proposal = Proposal.objects.create(
        item=ItemFactory(), taxonomy_version=version, author=alice, text="Toys"
    )
    client.force_login(alice)
    response = client.post(reverse("taxonomy:proposal-dismiss"), {"proposals": [proposal.pk]})
    assert response.status_code == 403 and Proposal.objects.get().status == "open"


def test_the_editor_offers_the_top_level_and_searches_keys_as_the_admin_types(client, bob, draft):
    client.force_login(bob)
    html = client.get(reverse("taxonomy:draft", args=[draft.pk])).content.decode()
    assert html.count("<option ") == 3  # the top level only, not every key of the draft
    assert f'hx-get="{reverse("taxonomy:draft-categories", args=[draft.pk])}"' in html
    response = client.get(
        reverse("taxonomy:draft-categories", args=[draft.pk]), {"parent_key": "sneak"}, **HTMX
    )
    assert response.content.decode().strip() == (
        '<option value="footwear/shoes/sneakers">Footwear &gt; Shoes &gt; Sneakers</option>'
    )


def test_the_key_search_matches_key_prefixes_and_refuses_reviewers_and_post(
    client, alice, bob, draft
):
    url = reverse("taxonomy:draft-categories", args=[draft.pk])
    client.force_login(bob)
    options = client.get(url, {"key": "footwear/shoes"}).content.decode()
    assert options.count("<option ") == 3 and "Sandals" in options and "Watches" not in options
    assert client.post(url, {"key": "foot"}).status_code == 405
    client.force_login(alice)
    assert client.get(url, {"key": "foot"}).status_code == 403
