"""Rules at scoring (issue 17): a rescore assigns, forbids and sends to review as the
version's switched-on rules say, and the queue rebuild puts the review rule's items first
with its reason, which the review card shows."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from labeling.models import Prediction, QueueEntry, Rule
from labeling.selectors.review_reason import reason_in_words
from labeling.services.learning.scoring import rescore
from labeling.services.review.labels import label_create
from labeling.services.review.queue_build import rebuild_queue
from labeling.services.rules import scoring as rules_scoring
from labeling.services.rules.preview import rule_preview_saved
from tests.labeling.rules_data import make_rule
from tests.labeling.services.loop_data import (
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
    one_torch_thread,  # noqa: F401
)
from tests.labeling.services.scoring_data import fit_and_store, leaf_proba

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches", "one_torch_thread")

SHIRTS = "Apparel > Topwear > Shirts"
WATCHES = "Accessories > Watches"


@pytest.fixture
def truth(tree, version):
    return clustered_items(leaves_of(version), 10, seed=1, image_every=0)


@pytest.fixture
def model_version(version, truth):
    return fit_and_store(version, list(truth.items()))


def switched_on(rule: Rule) -> Rule:
    rule_preview_saved(rule=rule)
    Rule.objects.filter(pk=rule.pk).update(enabled=True, previewed_at=timezone.now())
    return rule


def of_leaf(truth, name):
    return [item for item, leaf in truth.items() if leaf.name == name]


def test_an_assign_rule_accepts_its_items_at_its_category(version, tree, truth, model_version):
    rule = switched_on(
        make_rule(version, category=WATCHES, conditions=[{"kind": "words", "value": "sandals"}])
    )
    rescore(model_version)
    for item in of_leaf(truth, "Sandals"):
        p = Prediction.objects.get(item=item)
        assert (p.accepted_category, p.accepted_confidence, p.rule_id) == (
            tree[WATCHES],
            None,
            rule.pk,
        )
        assert p.status == Prediction.Status.AUTO_ACCEPTED
    others = Prediction.objects.exclude(item__in=of_leaf(truth, "Sandals"))
    assert not others.filter(rule__isnull=False).exists()


@pytest.mark.parametrize("kept", [True, False], ids=["probabilities kept", "predicted again"])
def test_a_forbid_rule_gives_the_model_s_next_best_renormalised(
    version, tree, truth, model_version, monkeypatch, kept
):
    # The rescore keeps each chunk's leaf probabilities where a forbid rule exists; without
    # them (apply_to_scores on a chunk scored elsewhere) the rows are predicted again.
    monkeypatch.setattr(rules_scoring, "forbids", lambda compiled: kept)
    switched_on(
        make_rule(
            version,
            name="no shirts",
            action="forbid",
            category=SHIRTS,
            conditions=[{"kind": "words", "value": "shirts"}],
        )
    )
    rescore(model_version)
    items = of_leaf(truth, "Shirts")
    proba = leaf_proba(model_version, items)
    column = [c.pk for c in leaves_of(version)].index(tree[SHIRTS].pk)
    proba[:, column] = 0
    proba /= proba.sum(axis=1, keepdims=True)
    leaves = leaves_of(version)
    for item, row in zip(items, proba, strict=True):
        p = Prediction.objects.get(item=item)
        assert p.top_category == leaves[int(row.argmax())] != tree[SHIRTS]
        assert p.confidence == pytest.approx(float(row.max()), abs=1e-5)
        assert tree[SHIRTS].pk not in [c["category"] for c in p.candidates]
        assert p.accepted_category is None and p.rule_id is None


def test_a_review_rule_sends_its_items_first_with_its_reason(version, tree, truth, model_version):
    rule = switched_on(
        make_rule(
            version,
            name="jeans",
            action="review",
            category=None,
            reason="jeans lengths are often wrong",
            conditions=[{"kind": "words", "value": "jeans"}],
        )
    )
    jeans = of_leaf(truth, "Jeans")
    label_create(
        item=jeans[0], category=tree["Apparel > Bottomwear > Jeans"], author=None, source="import"
    )
    rescore(model_version)
    assert set(Prediction.objects.filter(rule=rule).values_list("item_id", flat=True)) == {
        i.pk for i in jeans
    }
    rebuild_queue(version, size=30)
    entries = list(QueueEntry.objects.order_by("-priority", "id"))
    ruled = [e for e in entries if e.reason == "rule"]
    assert entries[: len(ruled)] == ruled  # at the top
    # Every unlabelled jeans item is queued: by the rule, or by the audit (a uniform sample
    # keeps its own); the labelled one is done.
    queued = {e.item_id: e.reason for e in entries}
    assert {i.pk for i in jeans[1:]} <= queued.keys() and jeans[0].pk not in queued
    assert {e.item_id for e in ruled} <= {i.pk for i in jeans} and ruled
    words = reason_in_words("rule", ruled[0].detail)
    assert words == "rule “jeans”: jeans lengths are often wrong"


def test_a_rule_switched_off_since_the_scoring_sends_nothing(version, tree, truth, model_version):
    rule = switched_on(
        make_rule(
            version,
            name="jeans",
            action="review",
            category=None,
            reason="check",
            conditions=[{"kind": "words", "value": "jeans"}],
        )
    )
    rescore(model_version)
    Rule.objects.filter(pk=rule.pk).update(enabled=False)
    rebuild_queue(version, size=30)
    assert not QueueEntry.objects.filter(reason="rule").exists()


def test_without_rules_the_rescore_writes_no_rule(version, truth, model_version):
    rescore(model_version)
    assert not Prediction.objects.filter(rule__isnull=False).exists()
    assert np.isfinite(list(Prediction.objects.values_list("confidence", flat=True))).all()
