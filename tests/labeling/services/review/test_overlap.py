"""Overlap: blind answers from several reviewers, agreement, adjudication, undo, queue build."""

from __future__ import annotations

import re

import pytest

from labeling.models import Item, Label, Overlap, OverlapAnswer, QueueEntry, ReviewerReliability
from labeling.roles import REVIEWER
from labeling.services.review import decisions as review
from labeling.services.review import leases, overlap
from tests.factories import UserFactory
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, make_queue


@pytest.fixture
def dave(db):
    return UserFactory(username="dave", roles=[REVIEWER])


@pytest.fixture
def entries(version, tree):
    """Three entries; the first goes to two reviewers."""
    made = make_queue(version, tree, n=3)
    QueueEntry.objects.filter(pk=made[0].pk).update(answers_needed=2)
    return [QueueEntry.objects.select_related("item").get(pk=e.pk) for e in made]


def first_held(user):
    return leases.review_lease(reviewer=user, count=1)[0]


def answer(user, tree, path, entry=None):
    entry = entry or first_held(user)
    return review.review_decide(
        reviewer=user, shown=review.ShownCard.of(entry), category=tree[path]
    )


def test_an_overlap_item_goes_to_the_next_reviewer_after_the_first_answer(
    alice, carol, tree, entries
):
    decision = answer(alice, tree, SHIRTS)
    assert decision.overlap is not None and decision.overlap.status == "open"
    item = Item.objects.get(pk=entries[0].item_id)
    assert item.current_label_id is None  # an answer is not the item's label
    assert decision.label.context == "overlap"
    entry = QueueEntry.objects.get(pk=entries[0].pk)
    assert entry.lease_holder is None and entry.answers_needed == 2
    # The next reviewer gets it; the first never again.
    assert first_held(carol).pk == entries[0].pk
    QueueEntry.objects.filter(pk=entries[0].pk).update(lease_holder=None, lease_expires_at=None)
    assert leases.waiting_count(reviewer=alice) == 2  # not the one alice answered
    held = leases.review_lease(reviewer=alice, count=5)
    assert [e.pk for e in held] == [entries[1].pk, entries[2].pk]


def test_the_second_reviewers_card_does_not_carry_the_first_answer(alice, carol, tree, entries):
    answer(alice, tree, SHIRTS)
    shown = review.ShownCard.of(first_held(carol))
    assert shown.base_label is None and shown.answers_needed == 2


def test_agreeing_answers_label_the_item_with_their_leaf(alice, carol, tree, entries):
    answer(alice, tree, SHIRTS)
    decision = answer(carol, tree, SHIRTS)
    ov = Overlap.objects.get(item_id=entries[0].item_id)
    assert ov.status == "agreed" and ov.needed == 2 and ov.why == "sample"
    item = Item.objects.select_related("current_label").get(pk=entries[0].item_id)
    assert item.current_label == ov.label
    assert (item.current_label.context, item.current_label.category_id) == (
        "agreed",
        tree[SHIRTS].pk,
    )
    # Nobody's decision: the answers are theirs; the note names them.
    assert item.current_label.author_id is None
    assert item.current_label.note == f"agreed by alice, carol (overlap #{ov.pk})"
    assert decision.overlap.pk == ov.pk
    assert not QueueEntry.objects.filter(item_id=entries[0].item_id).exists()
    assert Label.objects.filter(item_id=entries[0].item_id, context="overlap").count() == 2


def test_disagreeing_answers_wait_for_an_adjudicator_and_train_on_neither(
    alice, carol, bob, tree, entries
):
    answer(alice, tree, SHIRTS)
    answer(carol, tree, TSHIRTS)
    ov = Overlap.objects.get(item_id=entries[0].item_id)
    assert ov.status == "disputed" and ov.label is None
    assert Item.objects.get(pk=entries[0].item_id).current_label_id is None
    assert not QueueEntry.objects.filter(item_id=entries[0].item_id).exists()

    label = overlap.adjudicate(
        overlap=ov,
        adjudicator=bob,
        category=tree[TSHIRTS],
        note="printed, no collar",
        idempotency_key="adj-1",
    )
    ov.refresh_from_db()
    assert (ov.status, ov.label_id, ov.adjudicator_id) == ("adjudicated", label.pk, bob.pk)
    assert Item.objects.get(pk=entries[0].item_id).current_label_id == label.pk
    assert (label.context, label.author_id, label.note) == (
        "adjudicated",
        bob.pk,
        "printed, no collar",
    )
    # A replay returns the same decision; another decision is refused.
    again = overlap.adjudicate(
        overlap=ov, adjudicator=bob, category=tree[TSHIRTS], idempotency_key="adj-1"
    )
    assert again.pk == label.pk
    with pytest.raises(overlap.OverlapError, match="adjudicated, not waiting"):
        overlap.adjudicate(overlap=ov, adjudicator=bob, category=tree[SHIRTS])
    # Both answers stay in the ledger with their authors.
    answers = Label.objects.filter(overlap_answer__overlap=ov).order_by("id")
    assert [(a.author_id, a.category_id) for a in answers] == [
        (alice.pk, tree[SHIRTS].pk),
        (carol.pk, tree[TSHIRTS].pk),
    ]


def test_answers_that_agree_at_the_adjudication_depth_label_their_common_ancestor(
    alice, carol, version, tree, entries
):
    version.adjudication_depth = 2
    version.save()
    answer(alice, tree, SHIRTS)
    answer(carol, tree, TSHIRTS)
    ov = Overlap.objects.get(item_id=entries[0].item_id)
    assert ov.status == "agreed" and ov.depth == 2
    assert ov.label.category_id == tree["Apparel > Topwear"].pk


def test_a_disputed_item_is_not_put_back_in_the_queue_by_a_rebuild(alice, carol, tree, entries):
    answer(alice, tree, SHIRTS)
    answer(carol, tree, JEANS)
    from labeling.services.review.queue_build import _Pick, _replace  # noqa: PLC0415

    mv = entries[0].model_version
    written = _replace([_Pick(entries[0].item_id, "uncertain", {})], mv, entries[0].created_at)
    assert written == []
    assert not QueueEntry.objects.filter(item_id=entries[0].item_id).exists()


def test_a_rebuild_keeps_an_overlap_entry_with_answers_in(alice, tree, entries):
    answer(alice, tree, SHIRTS)
    from django.utils import timezone  # noqa: PLC0415

    from labeling.services.review.queue_build import _replace  # noqa: PLC0415

    _replace([], entries[0].model_version, timezone.now())
    assert QueueEntry.objects.filter(pk=entries[0].pk, answers_needed=2).exists()


def test_the_same_reviewer_answering_twice_replaces_their_answer(alice, carol, tree, entries):
    entry = first_held(alice)
    first = review.ShownCard.of(entry)
    second = review.ShownCard.of(entry)  # another tab, another form
    review.review_decide(reviewer=alice, shown=first, category=tree[SHIRTS])
    review.review_decide(reviewer=alice, shown=second, category=tree[TSHIRTS])
    ov = Overlap.objects.get(item_id=entries[0].item_id)
    assert ov.status == "open"  # still one answer: alice's newest
    assert [a.label.category_id for a in ov.answers.all()] == [tree[TSHIRTS].pk]
    assert Label.objects.filter(kind="retraction", note="answered again").count() == 1


def test_undo_of_an_agreeing_answer_reopens_the_overlap(alice, carol, tree, entries):
    answer(alice, tree, SHIRTS)
    decision = answer(carol, tree, SHIRTS)
    review.review_undo(reviewer=carol, label_id=decision.label.pk)
    ov = Overlap.objects.get(item_id=entries[0].item_id)
    assert ov.status == "open" and ov.label is None and ov.answers.count() == 1
    assert Item.objects.get(pk=entries[0].item_id).current_label_id is None
    entry = QueueEntry.objects.get(item_id=entries[0].item_id)
    assert entry.lease_holder == carol and entry.answers_needed == 2
    # carol answers again, differently: now disputed.
    answer(carol, tree, JEANS, entry=entry)
    ov.refresh_from_db()
    assert ov.status == "disputed"


def test_an_answer_to_an_adjudicated_item_cannot_be_undone(alice, carol, bob, tree, entries):
    answer(alice, tree, SHIRTS)
    decision = answer(carol, tree, JEANS)
    overlap.adjudicate(overlap=decision.overlap, adjudicator=bob, category=tree[SHIRTS])
    with pytest.raises(overlap.OverlapError, match=re.escape("already decided")):
        review.review_undo(reviewer=carol, label_id=decision.label.pk)


def test_three_reviewers_when_the_version_asks_for_three(alice, carol, dave, tree, entries):
    QueueEntry.objects.filter(pk=entries[0].pk).update(answers_needed=3)
    answer(alice, tree, SHIRTS)
    answer(carol, tree, SHIRTS)
    assert Overlap.objects.get(item_id=entries[0].item_id).status == "open"
    answer(dave, tree, SHIRTS)
    assert Overlap.objects.get(item_id=entries[0].item_id).status == "agreed"


def test_a_lone_answer_of_an_unreliable_reviewer_gets_a_second_opinion(
    alice, carol, version, tree, entries
):
    ReviewerReliability.objects.create(
        user=alice, taxonomy_version=version, accuracy=0.7, shared=20
    )
    ReviewerReliability.objects.create(
        user=carol, taxonomy_version=version, accuracy=0.97, shared=40
    )
    entry = QueueEntry.objects.select_related("item").get(pk=entries[1].pk)
    QueueEntry.objects.filter(lease_holder__isnull=False).update(lease_holder=None)
    decision = review.review_decide(
        reviewer=alice, shown=review.ShownCard.of(entry), category=tree[SHIRTS]
    )
    assert decision.overlap is not None and decision.overlap.why == "second-opinion"
    assert Item.objects.get(pk=entry.item_id).current_label_id is None
    # A reliable reviewer's lone answer is the label at once.
    other = QueueEntry.objects.select_related("item").get(pk=entries[2].pk)
    plain = review.review_decide(
        reviewer=carol, shown=review.ShownCard.of(other), category=tree[SHIRTS]
    )
    assert plain.overlap is None and plain.label.context == "queue"


def test_answers_needed_follows_the_versions_share_and_every_audit_item(version):
    version.overlap_share = 0.25
    version.overlap_reviewers = 3
    needed = [
        overlap.answers_needed(item_id=i, version=version, reason="uncertain") for i in range(2000)
    ]
    share = sum(n == 3 for n in needed) / len(needed)
    assert set(needed) == {1, 3} and 0.22 < share < 0.28
    assert overlap.answers_needed(item_id=5, version=version, reason="audit") == 3
    assert overlap.answers_needed(item_id=5, version=version, reason="re-review") == 1
    version.overlap_share = 0.0
    assert overlap.answers_needed(item_id=5, version=version, reason="uncertain") == 1


@pytest.mark.parametrize(
    ("share", "reviewers", "depth", "message"),
    [
        ("1.5", 2, None, "overlap share"),
        ("x", 2, None, "overlap share"),
        (0.1, 1, None, "Reviewers per overlap"),
        (0.1, 6, None, "Reviewers per overlap"),
        (0.1, 2, "0", "adjudication depth"),
        (0.1, 2, "two", "adjudication depth"),
    ],
)
def test_bad_overlap_settings_are_refused(version, share, reviewers, depth, message):
    with pytest.raises(overlap.OverlapError, match=message):
        overlap.overlap_settings_update(
            version=version, share=share, reviewers=reviewers, depth=depth
        )
    version.refresh_from_db()
    assert (version.overlap_share, version.overlap_reviewers, version.adjudication_depth) == (
        0.1,
        2,
        None,
    )


def test_overlap_settings_are_saved(version):
    overlap.overlap_settings_update(version=version, share="0.2", reviewers="3", depth="2")
    version.refresh_from_db()
    assert (version.overlap_share, version.overlap_reviewers, version.adjudication_depth) == (
        0.2,
        3,
        2,
    )


def test_only_one_live_overlap_per_item(alice, tree, entries):
    answer(alice, tree, SHIRTS)
    assert OverlapAnswer.objects.count() == 1
    assert Overlap.objects.filter(item_id=entries[0].item_id).count() == 1


def test_a_reviewer_estimated_on_too_few_shared_answers_gets_no_second_opinion(
    alice, version, tree, entries
):
    ReviewerReliability.objects.create(user=alice, taxonomy_version=version, accuracy=0.8, shared=3)
    entry = QueueEntry.objects.select_related("item").get(pk=entries[1].pk)
    decision = review.review_decide(
        reviewer=alice, shown=review.ShownCard.of(entry), category=tree[SHIRTS]
    )
    assert decision.overlap is None
    assert Item.objects.get(pk=entry.item_id).current_label_id == decision.label.pk


def test_new_overlap_settings_reach_the_waiting_queue_at_once(alice, version, tree, entries):
    answer(alice, tree, SHIRTS)  # entries[0]'s overlap has an answer: it keeps its two
    QueueEntry.objects.filter(pk=entries[2].pk).update(reason="audit")
    overlap.overlap_settings_update(version=version, share="0", reviewers="3", depth="")
    needed = dict(QueueEntry.objects.values_list("pk", "answers_needed"))
    assert needed == {entries[0].pk: 2, entries[1].pk: 1, entries[2].pk: 3}
