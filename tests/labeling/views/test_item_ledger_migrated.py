"""The item ledger page after two publishes: who decided, not "migration" and a blank."""

from __future__ import annotations

import re

from django.urls import reverse

from tests.labeling.migration_chain_data import two_publishes


def test_the_item_ledger_page_shows_the_original_author_and_source(
    client, version, tree, alice, bob
):
    chain = two_publishes(version, tree, alice, bob)
    client.force_login(alice)
    html = client.get(reverse("reports:item", args=[chain.current["A"].item_id])).content.decode()
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, re.S)
    cells = [re.findall(r"<td>(.*?)</td>", row, re.S)[2:4] for row in rows]
    migrated = [c for c in cells if "migrated from" in c[1]]
    assert len(cells) == 3 and len(migrated) == 2
    assert all(who == "alice" and source.startswith("review · ") for who, source in migrated)
    assert f"migrated from #{chain.current['A'].migrated_from_id}" in html
