"""An admin in a real browser: start a draft, rename and merge with htmx, read the diff,
publish, and find every label on the new version."""

from __future__ import annotations

import pytest

from labeling.models import TaxonomyVersion
from tests.labeling.taxonomy_admin_data import current_paths, label_items, ledger_size

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_renames_merges_and_publishes(login, live_server, bob, version, tree, artifacts):
    label_items(tree, {"Footwear > Shoes > Sandals": 2, "Footwear > Shoes > Sneakers": 3})
    before = ledger_size()
    page = login("bob")
    page.click("nav >> text=Taxonomy")
    page.click(f"text=Start a draft from v{version.number}")
    page.wait_for_selector("#draft-panel")
    rename = page.locator("form[data-op=rename]")
    rename.locator("input[name=key]").fill("footwear/shoes")
    # The type-ahead fills the shared datalist with the keys matching what was typed.
    page.wait_for_selector(
        '#category-keys option[value="footwear/shoes/sneakers"]', state="attached"
    )
    rename.locator("input[name=name]").fill("Shoes & Boots")
    rename.locator("button").click()
    page.wait_for_selector("#diff tr.diff-renamed")
    merge = page.locator("form[data-op=merge]")
    merge.locator("input[name=sources]").fill("footwear/shoes/sneakers")
    merge.locator("input[name=target]").fill("footwear/shoes/sandals")
    merge.locator("button").click()
    page.wait_for_selector("#diff tr.diff-merged")
    assert "2 change(s), 3 label(s) touched" in page.locator("#draft-panel h2").first.inner_text()
    page.screenshot(path=str(artifacts / "taxonomy-draft.png"), full_page=True)
    # Publishing sends a training, which eager Celery runs inside this request (the encoder
    # loads): on a busy machine that outlasted the default 10 s.
    page.click("#publish", timeout=60_000)
    page.wait_for_selector("text=5 label(s) migrated")
    new = TaxonomyVersion.objects.get(is_current=True)
    assert new.number == version.number + 1
    assert current_paths(new) == {"Footwear > Shoes & Boots > Sandals": 5}
    assert ledger_size() == before + 5
