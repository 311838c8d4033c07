"""A suspected label error on the review card: the given label and the out-of-fold evidence,
as stored, without a query more on the hot path (issue 17)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from labeling.models import Label, ModelVersion, Prediction, QueueEntry
from labeling.selectors import review as sel
from labeling.selectors.review_reason import card_reason, reason_in_words
from labeling.services.review.labels import label_create
from labeling.services.review.queue_re_review import suspected_detail
from tests.labeling.review_data import SHIRTS, TSHIRTS, make_queue
from tests.labeling.views.test_review_queries import HTMX, MAX_QUERIES, top_of_card
from tests.labeling.views.test_review_reason import reason_on_card

WORDS = (
    "suspected label error: labelled Shirts; out of fold the model gives it 0.04 and Tshirts 0.81"
)

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def suspected(version, tree, bob):
    """Four labelled items queued as suspected label errors: labelled Shirts, Tshirts suggested."""
    entries = make_queue(version, tree, n=4, reason="re-review")
    detail = suspected_detail(
        given=tree[SHIRTS].pk, suggested=tree[TSHIRTS].pk, p_given=0.04, p_suggested=0.81
    )
    for entry in entries:
        label_create(item=entry.item, category=tree[SHIRTS], author=bob, source="import")
    QueueEntry.objects.update(detail=detail)
    return entries


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_the_reason_reads_as_the_label_and_its_out_of_fold_evidence(version, suspected):
    entry = suspected[0]
    entry.refresh_from_db()
    assert reason_in_words(entry.reason, entry.detail, version) == WORDS


def test_the_evidence_is_shown_as_stored_after_a_rescore(version, tree, suspected):
    newer = ModelVersion.objects.create(taxonomy_version=version, status="retired")
    Prediction.objects.filter(item=suspected[0].item).update(model_version=newer)
    entry = QueueEntry.objects.select_related("item", "item__prediction").get(pk=suspected[0].pk)
    rows = sel.card_candidates(candidates=entry.item.prediction.candidates, version=version)
    assert card_reason(entry=entry, rows=rows, version=version) == WORDS


def test_the_card_says_why_the_label_is_suspect(as_alice, suspected):
    assert reason_on_card(as_alice) == escape(WORDS)
    assert reason_on_card(as_alice, **HTMX) == escape(WORDS)


def test_deciding_a_suspect_stays_within_the_hot_paths_queries(
    as_alice, suspected, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    data = top_of_card(as_alice)
    with (
        django_assert_max_num_queries(MAX_QUERIES[connection.vendor]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = as_alice.post(reverse("review:decide"), data, headers=HTMX)
    assert response.status_code == 200 and escape(WORDS) in response.content.decode()
    assert Label.objects.filter(source="review").count() == 1
