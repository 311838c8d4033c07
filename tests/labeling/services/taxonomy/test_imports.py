from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Category, TaxonomyVersion
from labeling.services.taxonomy import imports as svc
from labeling.services.taxonomy.import_formats import TaxonomyImportError
from tests.conftest import shared_data_path


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def paths_of(version):
    return list(
        Category.objects.filter(version=version).order_by("path").values_list("path", flat=True)
    )


def test_it_imports_a_google_file_with_ids_as_keys(db, tmp_path):
    text = "# Google_Product_Taxonomy_Version: x\n1 - Animals\n3 - Animals > Pet Supplies\n4 - Animals > Pet Supplies > Bird Supplies\n"
    result = svc.taxonomy_import(path=write(tmp_path, "google.txt", text), name="G")
    bird = Category.objects.get(version=result.version, key="4")
    assert (bird.path, bird.depth, bird.is_leaf, bird.parent.key) == (
        "Animals > Pet Supplies > Bird Supplies",
        3,
        True,
        "3",
    )
    assert not Category.objects.get(key="1").is_leaf


def test_a_plain_paths_file_gets_missing_parents_and_slug_keys(db, tmp_path):
    result = svc.taxonomy_import(
        path=write(tmp_path, "shop.txt", "Apparel > Topwear > Shirts\nFootwear\n")
    )
    assert paths_of(result.version) == [
        "Apparel",
        "Apparel > Topwear",
        "Apparel > Topwear > Shirts",
        "Footwear",
    ]
    assert result.implied_parents == 2
    shirts = Category.objects.get(path="Apparel > Topwear > Shirts")
    assert shirts.key == "apparel/topwear/shirts"
    assert shirts.parent.parent.name == "Apparel"


def test_the_slug_key_is_stable_across_imports(db, tmp_path):
    first = svc.taxonomy_import(path=write(tmp_path, "a.txt", "Home & Garden > Décor\n"), name="T")
    second = svc.taxonomy_import(
        path=write(tmp_path, "b.txt", "Home & Garden > Décor\nToys\n"), name="T"
    )
    keys = {
        v: set(Category.objects.filter(version=v.version).values_list("key", flat=True))
        for v in (first, second)
    }
    assert "home-garden/décor" in keys[first] & keys[second]
    assert second.version.number == first.version.number + 1


def test_it_imports_a_csv_tree_with_descriptions_and_synonyms(db, tmp_path):
    text = "key,parent_key,name,description,synonyms\nshoes,footwear,Shoes,All shoes,kicks|trainers\nfootwear,,Footwear,,\n"
    result = svc.taxonomy_import(path=write(tmp_path, "tree.csv", text))
    shoes = Category.objects.get(version=result.version, key="shoes")
    assert (shoes.path, shoes.description, shoes.synonyms) == (
        "Footwear > Shoes",
        "All shoes",
        ["kicks", "trainers"],
    )
    assert shoes.parent.key == "footwear"


def test_it_imports_a_csv_with_a_path_column(db, tmp_path):
    text = "path,key,synonyms\nFootwear > Sandals,sandals,flip-flops;sliders\n"
    result = svc.taxonomy_import(path=write(tmp_path, "paths.csv", text))
    assert paths_of(result.version) == ["Footwear", "Footwear > Sandals"]
    assert Category.objects.get(key="sandals").synonyms == ["flip-flops", "sliders"]


def test_it_imports_a_json_tree(db, tmp_path):
    tree = [
        {
            "name": "Footwear",
            "key": "fw",
            "children": [{"name": "Shoes", "synonyms": ["kicks"], "description": "d"}],
        }
    ]
    result = svc.taxonomy_import(path=write(tmp_path, "tree.json", json.dumps(tree)))
    shoes = Category.objects.get(version=result.version, path="Footwear > Shoes")
    assert (shoes.key, shoes.synonyms, shoes.description, shoes.parent.key) == (
        "footwear/shoes",
        ["kicks"],
        "d",
        "fw",
    )


def test_it_creates_a_draft_by_default_and_a_current_version_with_publish(db, tmp_path):
    draft = svc.taxonomy_import(path=write(tmp_path, "a.txt", "A\n"), name="T").version
    assert (draft.status, draft.is_current) == ("draft", False)
    published = svc.taxonomy_import(
        path=write(tmp_path, "a.txt", "A\n"), name="T", publish=True
    ).version
    assert (published.status, published.is_current, published.number) == ("published", True, 2)
    assert published.published_at is not None


def test_publish_is_refused_when_the_taxonomy_has_a_current_version(db, tmp_path):
    svc.taxonomy_import(path=write(tmp_path, "a.txt", "A\n"), name="T", publish=True)
    with pytest.raises(TaxonomyImportError, match="--draft"):
        svc.taxonomy_import(path=write(tmp_path, "b.txt", "B\n"), name="T", publish=True)
    assert TaxonomyVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("dup.txt", "A > B\nC\nA > B\n", "line 3: the path 'A > B' already appears on line 1"),
        ("empty-name.txt", "A >  > C\n", "line 1: empty category name in 'A >  > C'"),
        ("bad-id.txt", "1 - A\nx2 - A > B\n", "line 2: 'x2' is not a valid id"),
        ("no-id.txt", "1 - A\nA > B\n", "line 2: expected '<numeric id> - A > B > C'"),
        ("dup-id.txt", "1 - A\n1 - B\n", "line 2: the key '1' already appears on line 1"),
        (
            "cycle.csv",
            "key,parent_key,name\na,c,A\nb,a,B\nc,b,C\n",
            "line 2: the parent keys form a cycle: a → c → b → a",
        ),
        ("self.csv", "key,parent_key,name\na,a,A\n", "cycle: a → a"),
        (
            "orphan.csv",
            "key,parent_key,name\na,zz,A\n",
            "line 2: the parent key 'zz' is not defined",
        ),
        (
            "dupkey.csv",
            "key,parent_key,name\na,,A\na,,B\n",
            "line 3: the key 'a' already appears on line 2",
        ),
        ("noname.csv", "key,parent_key,name\na,,\n", "line 2: empty category name"),
        ("columns.csv", "id,label\n1,A\n", "needs the columns key,parent_key,name"),
        ("broken.json", '[{"name": "A",\n "children": [}]', "line 2: invalid JSON"),
        (
            "node.json",
            '[{"name": "A", "children": [{"name": ""}]}]',
            "node $[0].children[0]: empty category name",
        ),
        ("object.json", '{"name": "A"}', "must be a list"),
        ("separator.json", '[{"name": "A > B"}]', "contains '>'"),
        ("empty.txt", "# only a comment\n", "defines no categories"),
    ],
)
def test_it_reports_problems_with_their_line_numbers(db, tmp_path, name, text, expected):
    fmt = "google" if name in ("bad-id.txt", "no-id.txt", "dup-id.txt") else "auto"
    with pytest.raises(TaxonomyImportError) as caught:
        svc.taxonomy_import(path=write(tmp_path, name, text), fmt=fmt)
    assert expected in str(caught.value)
    assert not TaxonomyVersion.objects.exists()


def test_it_reports_undecodable_bytes_with_the_line(db, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("A\nCafé\n".encode("latin-1"))
    with pytest.raises(TaxonomyImportError, match="line 2: not valid UTF-8"):
        svc.taxonomy_import(path=path)


def test_it_accepts_a_byte_order_mark(db, tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffApparel > Shirts\n".encode())
    result = svc.taxonomy_import(path=path)
    assert paths_of(result.version) == ["Apparel", "Apparel > Shirts"]


def test_it_refuses_an_unknown_format(db):
    with pytest.raises(TaxonomyImportError, match="Unknown taxonomy format 'xml'"):
        svc.taxonomy_import_text(text="A", name="T", fmt="xml")


@pytest.mark.shared_data
def test_it_imports_the_google_product_taxonomy_in_bulk(db):
    """5,595 categories in a bounded number of queries (bulk inserts per level, not a query
    per category); the time is bench_publish's figure, not a timed test."""
    source = shared_data_path("google_taxonomy", "taxonomy-with-ids.en-US.txt")
    with CaptureQueriesContext(connection) as queries:
        result = svc.taxonomy_import(path=source, name="Google", publish=True)
    assert len(queries) < 100, len(queries)
    assert (result.categories, result.max_depth, result.implied_parents) == (5595, 7, 0)
    assert Category.objects.filter(version=result.version, depth=7).count() > 0
    assert (
        Category.objects.get(version=result.version, key="3").path
        == "Animals & Pet Supplies > Pet Supplies > Bird Supplies"
    )
