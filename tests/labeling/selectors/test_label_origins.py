"""The decision behind a label that taxonomy publishes carried over (two publishes)."""

from __future__ import annotations

import pytest

from labeling.models import Label
from labeling.selectors.label_origins import LabelOrigin, label_origins, label_origins_in
from labeling.selectors.report_pairs import item_ledger
from tests.labeling.migration_chain_data import two_publishes


@pytest.fixture
def chain(version, tree, alice, bob):
    return two_publishes(version, tree, alice, bob)


def test_a_label_migrated_twice_leads_back_to_its_original(chain):
    current, original = chain.current["A"], chain.originals["A"]
    assert current.source == "migration" and current.author is None  # what the row says
    assert label_origins(ids=[current.pk]) == {
        current.pk: LabelOrigin(original.pk, "alice", "review")
    }


def test_a_label_never_migrated_is_its_own_origin(chain):
    c = chain.originals["C"]
    assert label_origins(ids=[c.pk]) == {c.pk: LabelOrigin(c.pk, "bob", "inline")}


def test_it_takes_one_query_per_publish_crossed_whatever_the_number_of_labels(
    chain, django_assert_num_queries
):
    ids = [label.pk for label in chain.current.values()]
    with django_assert_num_queries(3):  # v3 rows, v2 rows, the originals
        origins = label_origins(ids=ids)
    assert {pk: o.author for pk, o in origins.items()} == dict(
        zip(ids, ["alice", None, "bob"], strict=True)
    )


def test_in_memory_chains_give_the_same_originals(chain):
    labels = list(Label.objects.filter(item__external_id="A"))
    origins = label_origins_in(labels)
    assert {origin.pk for origin in origins.values()} == {chain.originals["A"].pk}


def test_the_item_ledger_shows_the_original_decision_on_every_migrated_line(chain):
    ledger = item_ledger(item_id=chain.current["C"].item_id)
    assert [
        (line.label.source, line.origin.source, line.origin.author.username, line.migrated)
        for line in ledger.lines
    ] == [
        ("review", "review", "alice", False),  # alice's v1 label
        ("migration", "review", "alice", True),  # carried into v2
        ("inline", "inline", "bob", False),  # bob's correction on v2
        ("migration", "inline", "bob", True),  # carried into v3: bob's, not alice's
    ]
