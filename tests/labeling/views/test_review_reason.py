"""The card's "Why this item" line agrees with the candidates beside it, also when the queue
entry was built for an older prediction or an older taxonomy version (issue 14)."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from labeling.models import ModelVersion, Prediction, QueueEntry
from tests.factories import ItemFactory
from tests.labeling.review_data import SHIRTS, TSHIRTS, make_queue
from tests.labeling.views.test_review_after_publish import publish

URL = "/review/"
HTMX = {"HX-Request": "true"}
SANDALS = "Footwear > Shoes > Sandals"
WATCHES = "Accessories > Watches"


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def models(version):
    """The model that built the queue, then the one that rescored the items."""
    old = ModelVersion.objects.create(taxonomy_version=version, status="retired")
    return old, ModelVersion.objects.create(taxonomy_version=version, status="active")


def queue_one(tree, *, reason, detail, scores, queued_by, scored_by) -> None:
    item = ItemFactory(title="Trail sandal")
    Prediction.objects.create(
        item=item,
        model_version=scored_by,
        top_category=tree[scores[0][0]],
        candidates=[{"category": tree[path].pk, "p": p} for path, p in scores],
        confidence=scores[0][1],
    )
    QueueEntry.objects.create(
        item=item, reason=reason, detail=detail, priority=2.0, model_version=queued_by
    )


def reason_on_card(client, **headers) -> str:
    html = client.get(URL, headers=headers).content.decode()
    return html.split('<strong id="reason-text">', 1)[1].split("</strong>", 1)[0]


def test_an_uncertain_entry_rescored_sure_shows_the_new_top(as_alice, tree, models):
    old, new = models
    between = [tree[SANDALS].pk, tree[WATCHES].pk]
    queue_one(
        tree,
        reason="uncertain",
        detail={"between": between, "margin": 0.02},
        scores=[(SANDALS, 0.998), (WATCHES, 0.002)],
        queued_by=old,
        scored_by=new,
    )
    assert reason_on_card(as_alice) == escape(
        f"queued as uncertain by model #{old.pk}; rescored by model #{new.pk} since: "
        "now Sandals at 1.00"
    )


def test_a_disagreement_rescored_since_drops_the_old_votes(as_alice, tree, models):
    old, new = models
    queue_one(
        tree,
        reason="disagreement",
        detail={"text_says": tree[WATCHES].pk, "image_says": tree[SANDALS].pk},
        scores=[(SHIRTS, 0.67), (TSHIRTS, 0.3)],
        queued_by=old,
        scored_by=new,
    )
    assert reason_on_card(as_alice, **HTMX) == escape(
        f"queued by model #{old.pk} as its text and image heads disagreed; rescored by model "
        f"#{new.pk} since, the heads' current votes unknown: now Shirts at 0.67"
    )


def test_an_uncertain_pair_merged_by_a_publish_shows_the_merged_top(as_alice, version, bob, tree):
    make_queue(version, tree, n=1)  # uncertain between Shirts and Tshirts, 0.55 / 0.40
    publish(version, bob)  # Tshirts merged into Shirts: the card shows Shirts at 0.95
    mv = QueueEntry.objects.get().model_version_id
    assert reason_on_card(as_alice) == f"queued as uncertain by model #{mv}: now Shirts at 0.95"


def test_a_reason_the_card_bears_out_is_unchanged(as_alice, version, tree):
    make_queue(version, tree, n=1)
    assert reason_on_card(as_alice) == "uncertain between Shirts and Tshirts"
