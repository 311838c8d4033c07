"""Leases, decisions, conflicts, proposals and undo of the reviewer's queue."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from labeling.models import Item, Label, Proposal, QueueEntry
from labeling.services.review import decisions as review
from labeling.services.review import leases, proposing
from labeling.services.review.labels import ALREADY_RETRACTED, LabelError
from tests.factories import UserFactory
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, candidates_of, make_queue


@pytest.fixture
def entries(version, tree):
    return make_queue(version, tree, n=3)


def lease_one(user, **kwargs):
    return leases.review_lease(reviewer=user, **kwargs)[0]


def test_a_lease_hands_out_the_two_highest_priorities_for_ten_minutes(alice, entries):
    before = timezone.now()
    held = leases.review_lease(reviewer=alice)
    assert [e.pk for e in held] == [entries[0].pk, entries[1].pk]
    for entry in QueueEntry.objects.filter(pk__in=[e.pk for e in held]):
        assert entry.lease_holder == alice
        assert timedelta(seconds=599) < entry.lease_expires_at - before <= timedelta(seconds=601)
    assert QueueEntry.objects.get(pk=entries[2].pk).lease_holder is None


def test_leasing_again_returns_the_entries_already_held(alice, entries):
    first = leases.review_lease(reviewer=alice)
    again = leases.review_lease(reviewer=alice)
    assert [e.pk for e in again] == [e.pk for e in first]
    assert QueueEntry.objects.filter(lease_holder=alice).count() == 2


def test_two_reviewers_never_share_an_entry(alice, bob, entries):
    a = leases.review_lease(reviewer=alice)
    b = leases.review_lease(reviewer=bob)
    assert [e.pk for e in a] == [entries[0].pk, entries[1].pk]
    assert [e.pk for e in b] == [entries[2].pk]


def test_an_expired_lease_returns_the_entry_to_the_pool(alice, bob, entries):
    leases.review_lease(reviewer=alice, count=1)
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        taken = leases.review_lease(reviewer=bob, count=1)
    assert taken[0].pk == entries[0].pk
    assert QueueEntry.objects.get(pk=entries[0].pk).lease_holder == bob


def test_the_lease_duration_comes_from_the_settings(alice, entries, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_LEASE_SECONDS": 30}
    before = timezone.now()
    entry = lease_one(alice, count=1)
    entry.refresh_from_db()
    assert timedelta(seconds=29) < entry.lease_expires_at - before <= timedelta(seconds=31)


def test_a_skipped_entry_goes_to_others_but_not_back_to_the_skipper(alice, bob, entries):
    first = lease_one(alice, count=1)
    review.review_skip(reviewer=alice, shown=review.ShownCard.of(first))
    assert QueueEntry.objects.get(pk=first.pk).lease_holder is None
    assert lease_one(alice, count=1).pk == entries[1].pk
    assert lease_one(bob, count=1).pk == first.pk


def test_a_skip_is_remembered_for_the_item_when_the_queue_is_rebuilt(alice, entries):
    first = lease_one(alice, count=1)
    review.review_skip(reviewer=alice, shown=review.ShownCard.of(first))
    QueueEntry.objects.all().delete()  # a rebuild: new entries, new ids, same items
    rebuilt = [
        QueueEntry.objects.create(item=e.item, priority=e.priority, reason=e.reason)
        for e in entries
    ]
    assert lease_one(alice, count=1).pk == rebuilt[1].pk


def test_a_skip_is_forgotten_after_the_configured_time(alice, entries, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "SKIP_REMEMBER_HOURS": 2}
    first = lease_one(alice, count=1)
    review.review_skip(reviewer=alice, shown=review.ShownCard.of(first))
    assert lease_one(alice, count=1).pk == entries[1].pk
    leases.review_release(reviewer=alice, entry_id=entries[1].pk)
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)):
        assert lease_one(alice, count=1).pk == first.pk
    assert leases.review_unskip_all(reviewer=alice) == 1


def test_a_reviewer_cannot_release_someone_elses_lease(alice, bob, entries):
    entry = lease_one(alice, count=1)
    assert leases.review_release(reviewer=bob, entry_id=entry.pk) is False
    assert QueueEntry.objects.get(pk=entry.pk).lease_holder == alice


def test_a_decision_writes_one_label_with_what_was_shown(alice, tree, entries):
    entry = lease_one(alice)
    shown = review.ShownCard.of(entry)
    decision = review.review_decide(reviewer=alice, shown=shown, category=tree[TSHIRTS])
    label = Label.objects.get()
    assert decision.created and decision.label == label and decision.conflict is None
    assert (label.category, label.author, label.source) == (tree[TSHIRTS], alice, "review")
    assert label.model_version_id == entries[0].model_version_id
    assert label.prediction_shown["candidates"] == candidates_of(tree)
    assert label.prediction_shown["reason"] == "uncertain"
    assert label.idempotency_key == shown.key and not label.is_audit
    assert Item.objects.get(pk=entry.item_id).current_label == label
    assert not QueueEntry.objects.filter(pk=entry.pk).exists()


def test_submitting_the_same_form_twice_writes_one_label(alice, tree, entries):
    shown = review.ShownCard.of(lease_one(alice))
    first = review.review_decide(reviewer=alice, shown=shown, category=tree[SHIRTS])
    second = review.review_decide(reviewer=alice, shown=shown, category=tree[SHIRTS])
    assert (first.created, second.created) == (True, False)
    assert second.label == first.label and Label.objects.count() == 1


def test_an_audit_entry_gives_an_audit_label(alice, version, tree):
    make_queue(version, tree, n=1, reason="audit")
    shown = review.ShownCard.of(lease_one(alice))
    assert review.review_decide(reviewer=alice, shown=shown, category=tree[JEANS]).label.is_audit


def test_a_decision_after_the_lease_expired_is_still_saved(alice, tree, entries):
    shown = review.ShownCard.of(lease_one(alice, count=1))
    QueueEntry.objects.filter(pk=shown.entry).delete()  # e.g. a queue rebuild dropped it
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        decision = review.review_decide(reviewer=alice, shown=shown, category=tree[SHIRTS])
    assert decision.created and Item.objects.get(pk=shown.item).current_label == decision.label


def test_a_contradicting_decision_by_someone_else_meanwhile_is_a_conflict(
    alice, bob, tree, entries
):
    shown_alice = review.ShownCard.of(lease_one(alice, count=1))
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        shown_bob = review.ShownCard.of(lease_one(bob, count=1))
    assert shown_bob.item == shown_alice.item
    first = review.review_decide(reviewer=bob, shown=shown_bob, category=tree[SHIRTS]).label
    late = review.review_decide(reviewer=alice, shown=shown_alice, category=tree[TSHIRTS])
    assert late.conflict == first and late.label.context == "conflict"
    assert late.label.supersedes == first
    assert late.label.note == review.CONFLICT_NOTE.format(author="bob", path=SHIRTS, pk=first.pk)


def test_an_agreeing_decision_meanwhile_is_no_conflict(alice, bob, tree, entries):
    shown_alice = review.ShownCard.of(lease_one(alice, count=1))
    shown_bob = review.ShownCard.of(entries[0])  # as if bob had it after the lease ran out
    review.review_decide(reviewer=bob, shown=shown_bob, category=tree[SHIRTS])
    late = review.review_decide(reviewer=alice, shown=shown_alice, category=tree[SHIRTS])
    assert late.conflict is None and late.label.context == "queue"


def test_a_proposal_needs_a_note(alice, tree, entries):
    shown = review.ShownCard.of(lease_one(alice))
    with pytest.raises(review.ReviewError, match=re.escape(proposing.NOTE_REQUIRED)):
        proposing.review_propose(reviewer=alice, shown=shown, text="  ")
    assert not Label.objects.exists() and not Proposal.objects.exists()


def test_a_proposal_is_not_a_label(alice, tree, entries, version):
    """It wrote a label on a guessed "closest category" (a wooden puzzle became "Apparel >
    Tops"); now nothing is labelled unless the reviewer vouches for a category."""
    shown = review.ShownCard.of(lease_one(alice))
    decision = proposing.review_propose(reviewer=alice, shown=shown, text="  Smart\n rings ")
    assert decision.label is None and not Label.objects.exists()
    proposal = Proposal.objects.get()
    assert (proposal.item_id, proposal.text, proposal.author, proposal.status) == (
        shown.item,
        "Smart rings",
        alice,
        "open",
    )
    assert proposal.taxonomy_version == version and proposal.vouched is None
    assert proposal.prediction_shown["candidates"] == shown.candidates
    assert Item.objects.get(pk=shown.item).current_label is None
    assert not QueueEntry.objects.filter(item_id=shown.item).exists()  # done with it


def test_a_proposal_labels_only_the_ancestor_the_reviewer_vouches_for(alice, tree, entries):
    shown = review.ShownCard.of(lease_one(alice))
    topwear = tree["Apparel > Topwear"]
    decision = proposing.review_propose(reviewer=alice, shown=shown, text="Kurtas", vouched=topwear)
    assert decision.label.category == topwear and decision.label.context == "proposal"
    assert Proposal.objects.get().label == decision.label
    assert Item.objects.get(pk=shown.item).current_label == decision.label


def test_a_proposal_sent_twice_is_recorded_once(alice, tree, entries):
    shown = review.ShownCard.of(lease_one(alice))
    first = proposing.review_propose(reviewer=alice, shown=shown, text="Kurtas")
    again = proposing.review_propose(reviewer=alice, shown=shown, text="Kurtas")
    assert (first.created, again.created) == (True, False)
    assert again.proposal == first.proposal and Proposal.objects.count() == 1


def test_undo_retracts_and_gives_the_item_back_on_top(alice, tree, entries):
    shown = review.ShownCard.of(lease_one(alice))
    label = review.review_decide(reviewer=alice, shown=shown, category=tree[JEANS]).label
    retraction = review.review_undo(reviewer=alice, label_id=label.pk)
    assert retraction.retracts == label and retraction.author == alice
    assert Item.objects.get(pk=shown.item).current_label is None
    back = QueueEntry.objects.get(item_id=shown.item)
    assert (back.reason, back.lease_holder, back.detail) == ("uncertain", alice, shown.detail)
    assert lease_one(alice).item_id == shown.item


def test_undoing_twice_writes_one_retraction(alice, tree, entries):
    shown = review.ShownCard.of(lease_one(alice))
    label = review.review_decide(reviewer=alice, shown=shown, category=tree[JEANS]).label
    first = review.review_undo(reviewer=alice, label_id=label.pk)
    assert review.review_undo(reviewer=alice, label_id=label.pk) == first
    assert Label.objects.filter(kind="retraction").count() == 1


def test_nothing_to_undo_says_so(alice):
    with pytest.raises(review.ReviewError, match=re.escape(review.NOTHING_TO_UNDO)):
        review.review_undo(reviewer=alice, label_id=None)


def test_a_reviewer_cannot_undo_someone_elses_label(alice, bob, tree, entries):
    shown = review.ShownCard.of(lease_one(bob))
    label = review.review_decide(reviewer=bob, shown=shown, category=tree[JEANS]).label
    with pytest.raises(review.ReviewError) as error:
        review.review_undo(reviewer=alice, label_id=label.pk)
    assert str(error.value) == review.NOT_YOUR_LABEL.format(pk=label.pk)
    assert not Label.objects.filter(kind="retraction").exists()


def test_a_label_retracted_elsewhere_cannot_be_undone_again(alice, tree, entries):
    from labeling.services.review.labels import label_retract

    shown = review.ShownCard.of(lease_one(alice))
    label = review.review_decide(reviewer=alice, shown=shown, category=tree[JEANS]).label
    label_retract(label=label, author=alice)
    with pytest.raises(LabelError, match=re.escape(ALREADY_RETRACTED.format(pk=label.pk))):
        review.review_undo(reviewer=alice, label_id=label.pk)


def test_a_tampered_form_is_refused(alice, entries):
    token = review.ShownCard.of(lease_one(alice)).sign()
    with pytest.raises(review.ReviewError, match=re.escape(review.BAD_SHOWN)):
        review.ShownCard.load(token[:-2] + "xx")
    with pytest.raises(review.ReviewError, match=re.escape(review.BAD_SHOWN)):
        review.ShownCard.load("")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", review.CATEGORY_MISSING),
        ("abc", review.CATEGORY_UNKNOWN.format(pk="abc")),
        ("999999", review.CATEGORY_UNKNOWN.format(pk="999999")),
    ],
)
def test_a_missing_or_unknown_category_is_explained(raw, message, db):
    with pytest.raises(review.ReviewError) as error:
        review.category_for(raw)
    assert str(error.value) == message


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviewers_never_get_the_same_entry(version, tree):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED across connections)")
    make_queue(version, tree, n=30)
    users = [UserFactory(username=f"r{i}") for i in range(8)]
    got: dict[str, list[int]] = {}
    barrier = threading.Barrier(len(users))

    def work(user):
        barrier.wait()
        try:
            got[user.username] = [e.pk for e in leases.review_lease(reviewer=user, count=3)]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handed = [pk for pks in got.values() for pk in pks]
    assert len(handed) == 24 and len(set(handed)) == 24
