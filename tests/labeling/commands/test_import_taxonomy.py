from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Category, TaxonomyVersion
from tests.conftest import shared_data_path


def run(*args):
    out = io.StringIO()
    call_command("import_taxonomy", *map(str, args), stdout=out)
    return out.getvalue()


def test_it_imports_a_google_file_as_a_draft_by_default(db, tmp_path):
    path = tmp_path / "google.txt"
    path.write_text(
        "1 - Animals\n3 - Animals > Pet Supplies\n4 - Animals > Pet Supplies > Bird Supplies\n"
    )
    output = run(path, "--name", "G")
    version = TaxonomyVersion.objects.get(taxonomy__name="G")
    assert output == f"Imported 3 categories (depth 3, 0 implied parents) as {version}.\n"
    assert (version.status, version.is_current) == ("draft", False)
    assert Category.objects.get(version=version, key="4").parent.key == "3"


def test_publish_makes_a_plain_paths_file_the_current_version(db, tmp_path):
    path = tmp_path / "shop.txt"
    path.write_text("Apparel > Topwear > Shirts\nFootwear > Shoes\n")
    output = run(path, "--publish")
    version = TaxonomyVersion.objects.get(taxonomy__name="shop")
    assert "Imported 5 categories (depth 3, 3 implied parents)" in output
    assert (version.status, version.is_current) == ("published", True)


def test_it_imports_a_json_tree_as_a_second_version(db, tmp_path):
    (tmp_path / "shop.txt").write_text("Footwear\n")
    run(tmp_path / "shop.txt", "--publish")
    tree = [
        {"name": "Footwear", "key": "fw", "children": [{"name": "Boots", "synonyms": ["wellies"]}]}
    ]
    (tmp_path / "shop.json").write_text(json.dumps(tree))
    run(tmp_path / "shop.json", "--name", "shop", "--draft")
    draft = TaxonomyVersion.objects.get(taxonomy__name="shop", number=2)
    boots = Category.objects.get(version=draft, path="Footwear > Boots")
    assert (draft.status, boots.synonyms, boots.parent.key) == ("draft", ["wellies"], "fw")


def test_a_bad_file_fails_with_its_line_numbers(db, tmp_path):
    path = tmp_path / "tree.csv"
    path.write_text("key,parent_key,name\na,zz,A\n")
    with pytest.raises(
        CommandError, match="line 2: the parent key 'zz' is not defined in the file"
    ):
        run(path)
    assert not TaxonomyVersion.objects.exists()


def test_a_missing_file_fails_with_a_message(db, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "none.txt")


@pytest.mark.shared_data
def test_it_imports_the_google_product_taxonomy(db):
    source = shared_data_path("google_taxonomy", "taxonomy-with-ids.en-US.txt")
    output = run(source, "--name", "Google", "--publish")
    version = TaxonomyVersion.objects.get(taxonomy__name="Google")
    assert output.startswith("Imported 5,595 categories (depth 7, 0 implied parents)")
    assert Category.objects.filter(version=version).count() == 5595
    assert Category.objects.filter(version=version, parent__isnull=True).count() == 21
