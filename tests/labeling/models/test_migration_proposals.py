"""Migration 0011: proposal labels become proposals, retracted from training, kept in the ledger."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from labeling.models import Item, Label, ModelVersion, Prediction, Proposal
from labeling.services.review.labels import label_create
from tests.factories import ItemFactory

migration = importlib.import_module("labeling.migrations.0011_proposals_are_not_labels")


def run(direction):
    # The migration uses only the editor's connection (SQLite refuses a real schema editor
    # inside the test's transaction).
    direction(apps, SimpleNamespace(connection=connection))


def test_a_standing_proposal_label_becomes_an_open_proposal_and_leaves_training(
    tree, version, alice, bob
):
    item = ItemFactory(title="Wooden puzzle")
    before = label_create(item=item, category=tree["Footwear"], author=bob, source="review")
    wrong = label_create(
        item=item,
        category=tree["Apparel > Topwear"],
        author=alice,
        source="review",
        context="proposal",
        note="not in taxonomy: Toys",
    )
    Prediction.objects.create(
        item=item,
        model_version=ModelVersion.objects.create(taxonomy_version=version, status="active"),
        top_category=tree["Apparel > Topwear > Shirts"],
        confidence=0.9,
        margin=0.5,
    )
    run(migration.forwards)
    proposal = Proposal.objects.get()
    assert (proposal.text, proposal.status, proposal.label, proposal.author) == (
        "Toys",
        "open",
        wrong,
        alice,
    )
    assert proposal.created_at == wrong.created_at
    retraction = Label.objects.get(retracts=wrong)
    assert (retraction.kind, retraction.source) == ("retraction", "migration")
    assert Item.objects.get(pk=item.pk).current_label == before  # the label it had before
    assert Prediction.objects.get(item=item).label_disagrees is True  # Shirts vs Footwear


def test_an_answered_proposal_is_recorded_as_dismissed_and_the_answer_stands(tree, alice):
    item = ItemFactory()
    label_create(
        item=item,
        category=tree["Apparel"],
        author=alice,
        source="review",
        context="proposal",
        note="not in taxonomy: Smart rings",
    )
    answer = label_create(
        item=item, category=tree["Accessories > Watches"], author=alice, source="review"
    )
    run(migration.forwards)
    assert Proposal.objects.get().status == "dismissed"
    assert Item.objects.get(pk=item.pk).current_label == answer


def test_an_item_with_only_a_proposal_label_ends_unlabelled_and_backwards_restores_it(tree, alice):
    item = ItemFactory()
    wrong = label_create(
        item=item,
        category=tree["Apparel"],
        author=alice,
        source="review",
        context="proposal",
        note="not in taxonomy: Drills",
    )
    run(migration.forwards)
    assert Item.objects.get(pk=item.pk).current_label is None
    run(migration.backwards)
    assert not Proposal.objects.exists() and not Label.objects.filter(kind="retraction").exists()
    assert Item.objects.get(pk=item.pk).current_label == wrong
