"""Reviewers' proposals (labeling.services.taxonomy.proposals): grouping by note and item,
dismissing, and a draft category made from a group."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.models import Embedding, Label, Proposal, TaxonomyOperation
from labeling.selectors.taxonomy_admin import proposal_open
from labeling.services.taxonomy import proposals as svc
from tests.factories import ItemFactory
from tests.labeling.taxonomy_admin_data import keys, ledger_size

KEY = "test-text"


@pytest.fixture
def text_only(settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TEXT_ENCODER": KEY, "IMAGE_ENCODER": ""}


def propose(version, alice, vector, text, vouched=None):
    item = ItemFactory()
    if vector is not None:
        Embedding.objects.create(
            item=item,
            encoder_key=KEY,
            vector=np.asarray(vector, np.float32).tobytes(),
            dtype="float32",
            dim=len(vector),
            content_hash="x",
        )
    return Proposal.objects.create(
        item=item, taxonomy_version=version, author=alice, text=text, vouched=vouched
    )


def test_components_join_every_linked_row():
    assert svc.components(5, [(0, 3), (3, 4)]) == [[0, 3, 4], [1], [2]]
    assert svc.components(3, []) == [[0], [1], [2]]


def test_text_links_join_the_same_or_nearly_the_same_note():
    texts = ["Smart rings", "smart ring", "SMART RINGS!", "Perfume"]
    assert svc.text_links(texts) == [(0, 1), (0, 2), (1, 2)]


def test_vector_links_ignore_rows_without_an_embedding():
    x = np.array([[1, 0], [0.96, 0.28], [0, 1], [0, 0]], dtype=np.float32)
    assert svc.vector_links(x, 0.9) == [(0, 1)]
    assert svc.vector_links(x, 0.99) == []


def test_six_flags_with_the_same_note_are_one_group_without_embeddings(version, alice, text_only):
    """The trial showed six flags with the same note as six groups of one."""
    same = [propose(version, alice, None, "Board games") for _ in range(6)]
    other = propose(version, alice, None, "Perfume")
    groups = svc.proposal_groups(proposals=list(proposal_open()))
    assert [sorted(g.proposal_ids) for g in groups] == [sorted(p.pk for p in same), [other.pk]]
    assert groups[0].suggested_name == "Board games"


def test_proposals_are_grouped_by_item_similarity_too(tree, version, alice, text_only):
    a = propose(version, alice, [1, 0, 0], "Sunglasses", vouched=tree["Accessories"])
    b = propose(version, alice, [0.9, 0.1, 0], "shades")
    c = propose(version, alice, [0, 0, 1], "Perfume")
    d = propose(version, alice, [0.95, 0, 0.05], "Sunglasses", vouched=tree["Accessories"])
    groups = svc.proposal_groups(proposals=list(proposal_open()))
    assert [sorted(g.proposal_ids) for g in groups] == [sorted([a.pk, b.pk, d.pk]), [c.pk]]
    assert groups[0].suggested_name == "Sunglasses"
    assert groups[0].suggested_parent == tree["Accessories"]


def test_creating_a_category_from_a_group_starts_a_draft_and_accepts_them(
    tree, version, alice, bob, text_only
):
    proposals = [propose(version, alice, [1, 0, 0], t) for t in ("Sunglasses", "shades")]
    before = ledger_size()
    draft, category = svc.proposal_category_create(
        taxonomy=version.taxonomy,
        proposal_ids=[p.pk for p in proposals],
        name="Sunglasses",
        parent_key="accessories",
        author=bob,
    )
    assert draft.based_on == version and category.path == "Accessories > Sunglasses"
    assert category.synonyms == ["shades"]
    assert category.description == "Proposed by reviewers for 2 item(s)."
    assert "accessories/sunglasses" in keys(draft)
    assert TaxonomyOperation.objects.get(version=draft).kind == "add"
    assert ledger_size() == before and not Label.objects.exists()
    accepted = Proposal.objects.filter(status="accepted", category=category, resolved_by=bob)
    assert accepted.count() == 2 and list(proposal_open()) == []


def test_dismissing_a_group_closes_its_proposals(version, alice, bob, text_only):
    proposals = [propose(version, alice, None, "Toys") for _ in range(2)]
    assert svc.proposal_dismiss(proposal_ids=[p.pk for p in proposals], author=bob) == 2
    assert set(Proposal.objects.values_list("status", flat=True)) == {"dismissed"}
    with pytest.raises(svc.TaxonomyProposalError, match="no longer open"):
        svc.proposal_dismiss(proposal_ids=[proposals[0].pk], author=bob)


def test_creating_a_category_refuses_unknown_or_missing_proposals(version, bob):
    with pytest.raises(svc.TaxonomyProposalError, match=r"Proposal\(s\) 999 do not exist"):
        svc.proposal_category_create(
            taxonomy=version.taxonomy, proposal_ids=[999], name="X", parent_key=None, author=bob
        )
    with pytest.raises(svc.TaxonomyProposalError, match="at least one proposal"):
        svc.proposal_category_create(
            taxonomy=version.taxonomy, proposal_ids=[], name="X", parent_key=None, author=bob
        )
