from __future__ import annotations

import numpy as np
import pytest

from labeling.models import Embedding, TaxonomyOperation
from labeling.selectors.taxonomy_admin import proposal_labels
from labeling.services import taxonomy_proposals as svc
from labeling.services.labels import label_create
from tests.factories import ItemFactory
from tests.labeling.taxonomy_admin_data import keys, ledger_size

KEY = "test-text"


@pytest.fixture
def text_only(settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TEXT_ENCODER": KEY, "IMAGE_ENCODER": ""}


def propose(tree, alice, vector, text, path="Accessories"):
    item = ItemFactory()
    Embedding.objects.create(item=item, encoder_key=KEY, vector=np.asarray(vector, np.float32).tobytes(),
                             dtype="float32", dim=len(vector), content_hash="x")
    return label_create(item=item, category=tree[path], author=alice, source="review",
                        context="proposal", note=f"not in taxonomy: {text}")


def test_greedy_groups_joins_rows_close_to_a_group_centroid():
    x = np.array([[1, 0], [0.96, 0.28], [0, 1], [0, 0]], dtype=np.float32)
    assert svc.greedy_groups(x, 0.9) == [[0, 1], [2], [3]]
    assert svc.greedy_groups(x, 0.99) == [[0], [1], [2], [3]]


def test_proposals_are_grouped_by_embedding_similarity(tree, alice, text_only):
    a = propose(tree, alice, [1, 0, 0], "Sunglasses")
    b = propose(tree, alice, [0.9, 0.1, 0], "sunglasses")
    c = propose(tree, alice, [0, 0, 1], "Perfume")
    d = propose(tree, alice, [0.95, 0, 0.05], "Sunglasses")
    groups = svc.proposal_groups(labels=list(proposal_labels()))
    assert [sorted(g.label_ids) for g in groups] == [sorted([a.pk, b.pk, d.pk]), [c.pk]]
    assert groups[0].suggested_name == "Sunglasses"
    assert groups[0].suggested_parent == tree["Accessories"]


def test_an_answered_proposal_is_no_longer_listed(tree, alice, text_only):
    first = propose(tree, alice, [1, 0, 0], "Sunglasses")
    label_create(item=first.item, category=tree["Accessories > Watches"], author=alice, source="review")
    assert list(proposal_labels()) == []


def test_creating_a_category_from_a_group_starts_a_draft_and_adds_it(tree, version, alice, bob, text_only):
    labels = [propose(tree, alice, [1, 0, 0], t) for t in ("Sunglasses", "shades")]
    before = ledger_size()
    draft, category = svc.proposal_category_create(
        taxonomy=version.taxonomy, label_ids=[lb.pk for lb in labels], name="Sunglasses",
        parent_key="accessories", author=bob)
    assert draft.based_on == version and category.path == "Accessories > Sunglasses"
    assert category.synonyms == ["shades"]
    assert category.description == "Proposed by reviewers for 2 item(s)."
    assert "accessories/sunglasses" in keys(draft)
    assert TaxonomyOperation.objects.get(version=draft).kind == "add"
    assert ledger_size() == before


def test_creating_a_category_refuses_unknown_or_missing_proposals(tree, version, alice, bob):
    plain = label_create(item=ItemFactory(), category=tree["Accessories"], author=alice, source="review")
    with pytest.raises(svc.TaxonomyProposalError, match=f"label\\(s\\) {plain.pk} do not exist"):
        svc.proposal_category_create(taxonomy=version.taxonomy, label_ids=[plain.pk], name="X",
                                     parent_key=None, author=bob)
    with pytest.raises(svc.TaxonomyProposalError, match="at least one proposal"):
        svc.proposal_category_create(taxonomy=version.taxonomy, label_ids=[], name="X",
                                     parent_key=None, author=bob)
