"""GET /api/labels/ after two taxonomy publishes: a carried-over label shows the decision it
carries (author, source) and where it came from (migrated_from), not "migration" and null."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.labeling.migration_chain_data import two_publishes


def ledger(user, query=""):
    client = APIClient()
    client.force_login(user)
    return {row["id"]: row for row in client.get(f"/api/labels/{query}").json()["results"]}


def test_migrated_labels_show_their_original_author_and_source(version, tree, alice, bob):
    chain = two_publishes(version, tree, alice, bob)
    rows = ledger(alice)
    shown = {
        x: (rows[label.pk]["author"], rows[label.pk]["source"], rows[label.pk]["migrated_from"])
        for x, label in chain.current.items()
    }
    assert shown == {
        "A": ("alice", "review", chain.originals["A"].pk),
        "B": (None, "import", chain.originals["B"].pk),
        "C": ("bob", "inline", chain.originals["C"].pk),
    }
    original = rows[chain.originals["A"].pk]
    assert (original["author"], original["source"], original["migrated_from"]) == (
        "alice", "review", None,
    )  # fmt: skip


def test_the_source_filter_still_finds_the_rows_a_publish_wrote(version, tree, alice, bob):
    chain = two_publishes(version, tree, alice, bob)
    rows = ledger(alice, "?source=migration")
    assert len(rows) == 6 and chain.current["A"].pk in rows


def test_origins_are_looked_up_per_page_not_per_label(
    version, tree, alice, bob, django_assert_max_num_queries
):
    two_publishes(version, tree, alice, bob)
    client = APIClient()
    client.force_login(alice)
    with django_assert_max_num_queries(8):  # the ledger's 6, then v2 rows and the originals
        assert len(client.get("/api/labels/").json()["results"]) == 10
