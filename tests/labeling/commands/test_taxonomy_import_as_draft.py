from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labeling.models import TaxonomyOperation, TaxonomyVersion
from tests.labeling.taxonomy_admin_data import keys, label_items, ledger_size

V1 = "1 - Apparel\n2 - Apparel > Shirts\n3 - Apparel > Jeans\n4 - Shoes\n5 - Shoes > Boots\n"
V2 = "1 - Apparel\n2 - Apparel > Shirts & Blouses\n4 - Shoes\n3 - Shoes > Jeans\n6 - Bags\n"


def run(*args):
    out = StringIO()
    call_command("import_taxonomy", *map(str, args), stdout=out)
    return out.getvalue()


def test_a_new_release_becomes_draft_operations(db, tmp_path):
    (tmp_path / "v1.txt").write_text(V1)
    (tmp_path / "v2.txt").write_text(V2)
    run(tmp_path / "v1.txt", "--name", "G", "--publish")
    current = TaxonomyVersion.objects.get(is_current=True)
    label_items(keys(current) | {c.path: c for c in keys(current).values()}, {"Shoes > Boots": 2})
    before = ledger_size()
    out = run(tmp_path / "v2.txt", "--as-draft-of", "G")
    assert out.startswith("Draft v2 of G: 1 add, 1 rename, 1 move, 1 deprecate.")
    draft = TaxonomyVersion.objects.get(status="draft")
    k = keys(draft)
    assert (k["2"].path, k["3"].path, k["6"].path, k["5"].deprecated) == (
        "Apparel > Shirts & Blouses",
        "Shoes > Jeans",
        "Bags",
        True,
    )
    assert sorted(TaxonomyOperation.objects.values_list("kind", flat=True)) == [
        "add",
        "deprecate",
        "move",
        "rename",
    ]
    assert ledger_size() == before


def test_an_unknown_taxonomy_is_refused(db, tmp_path):
    (tmp_path / "v2.txt").write_text(V2)
    with pytest.raises(CommandError, match="no taxonomy named 'G'"):
        run(tmp_path / "v2.txt", "--as-draft-of", "G")
