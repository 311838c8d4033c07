"""Bad input to the catalog and taxonomy imports: row errors or one clear refusal, never an
exception escaping, never anything half-written.

The hypothesis tests feed generated files (random bytes, random CSV cells and JSON values, mixed
encodings, huge fields) and check the books balance: every row read is created, updated,
unchanged or reported, and the database holds exactly what the summary says. Each example
runs in a transaction that is rolled back, so examples do not see each other's rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from labeling.models import Category, Item, Label, TaxonomyVersion
from labeling.services.catalog.imports import CatalogImportError, ImportOptions, catalog_import
from labeling.services.catalog.imports.rows import ROW_IMAGE_OUTSIDE_ROOT, ROW_UNKNOWN_CATEGORY
from labeling.services.taxonomy.import_formats import TaxonomyImportError
from labeling.services.taxonomy.imports import taxonomy_import_text
from tests.factories import TaxonomyVersionFactory, make_tree

SHIRTS = "Apparel > Topwear > Shirts"
HEADER = ["id", "title", "description", "colour", "category", "image"]
FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same files on every run: a CI failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text that databases and encoders find hard: NUL, lone surrogates, separators, huge fields.
NASTY = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "\ud800", "a > b", "../../etc/passwd", "/etc/passwd"]),
    st.sampled_from([SHIRTS, "Apparel > Topwear", "Nowhere > Else", "x" * 300, "é" * 2000]),
    st.integers(min_value=1, max_value=200_000).map(lambda n: "w" * n),
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def images(tmp_path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (1, 2, 3)).save(buffer, format="PNG")
    (root / "ok.png").write_bytes(buffer.getvalue())
    (tmp_path / "secret.png").write_bytes(buffer.getvalue())  # outside the images root
    return root


def catalog_options(images: Path, errors: Path, **changes: object) -> ImportOptions:
    mapping: dict = {
        "description_col": "description",
        "attribute_cols": ("colour",),
        "label_col": "category",
        "image_col": "image",
        "images_root": images,
        "progress": False,
        "errors_file": errors,
        "chunk_size": 3,
    }
    return ImportOptions(**{**mapping, **changes})


@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def import_and_balance(path: Path, options: ImportOptions) -> None:
    """Import ``path``; the summary must account for every row and match the database."""
    with rolled_back():
        try:
            summary = catalog_import(path=path, options=options)
        except CatalogImportError:  # a refusal of the whole file (say, a garbled header)
            assert Item.objects.count() == 0 and Label.objects.count() == 0
            return
        accounted = summary.created + summary.updated + summary.unchanged + len(summary.errors)
        assert accounted == summary.rows
        assert Item.objects.count() == summary.created
        assert Label.objects.count() == summary.labels_written
        assert all(item.external_id.strip() and item.title for item in Item.objects.all())


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding, errors="surrogatepass")


# -- the catalog import ---------------------------------------------------------------------


@FUZZ
@given(
    rows=st.lists(st.lists(NASTY, min_size=0, max_size=8), max_size=8),
    # UTF-16 is left out: its header is refused as a whole (see the test below).
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252"]),
)
def test_generated_csv_files_are_imported_or_reported_row_by_row(
    tree, images, tmp_path, rows, encoding
):
    path = tmp_path / "catalog.csv"
    try:
        path.write_bytes(csv_bytes(rows, encoding))
    except UnicodeEncodeError:  # the text cannot be written in that encoding at all
        return
    import_and_balance(path, catalog_options(images, tmp_path / "errors.csv"))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | NASTY,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(NASTY, children, max_size=3),
    max_leaves=10,
)


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.fixed_dictionaries({}, optional={name: JSON_VALUES for name in HEADER}).map(
                json.dumps
            ),
            JSON_VALUES.map(json.dumps),
            st.text(max_size=30),
        ),
        max_size=8,
    )
)
def test_generated_json_lines_are_imported_or_reported_line_by_line(tree, images, tmp_path, lines):
    path = tmp_path / "catalog.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", errors="surrogatepass"))
    import_and_balance(path, catalog_options(images, tmp_path / "errors.csv"))


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_never_escape_as_an_exception(tree, images, tmp_path, data):
    for name in ("catalog.csv", "catalog.jsonl"):
        path = tmp_path / name
        path.write_bytes(b"id,title,description,colour,category,image\n" + data)
        import_and_balance(path, catalog_options(images, tmp_path / "errors.csv"))


def test_a_huge_csv_field_is_one_row_error_and_its_neighbours_are_imported(tree, images, tmp_path):
    rows = [["a", "A"], ["b", "x" * 300_000], ["c", "C"]]
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_bytes(rows, "utf-8"))
    summary = catalog_import(path=path, options=catalog_options(images, tmp_path / "e.csv"))
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["a", "c"]
    assert [e.line for e in summary.errors] == [3]  # the row is unreadable: no id to name


def test_a_line_in_another_encoding_is_one_row_error(tree, images, tmp_path):
    path = tmp_path / "catalog.csv"
    good = "id,title\nu1,Café\n".encode()
    path.write_bytes(good + "u2,Café\n".encode("latin-1") + b"u3,Tea\n")
    options = ImportOptions(progress=False, errors_file=tmp_path / "e.csv")
    summary = catalog_import(path=path, options=options)
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["u1", "u3"]
    assert [e.line for e in summary.errors] == [3]


def test_a_utf16_file_is_refused_with_a_clear_error(tree, images, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_bytes([["a", "A"]], "utf-16"))
    with pytest.raises(CatalogImportError):
        catalog_import(path=path, options=ImportOptions(progress=False))
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    "image",
    ["../secret.png", "/etc/passwd", "sub/../../secret.png", "./../images/../secret.png"],
)
def test_an_image_path_that_leaves_the_images_root_is_a_row_error(tree, images, tmp_path, image):
    rows = [["a", "A", "", "", SHIRTS, "ok.png"], ["b", "B", "", "", SHIRTS, image]]
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_bytes(rows, "utf-8"))
    summary = catalog_import(path=path, options=catalog_options(images, tmp_path / "e.csv"))
    assert list(Item.objects.values_list("external_id", flat=True)) == ["a"]
    assert [e.reason for e in summary.errors] == [ROW_IMAGE_OUTSIDE_ROOT.format(path=image)]
    assert Label.objects.count() == 1


def test_a_symlink_out_of_the_images_root_is_a_row_error(tree, images, tmp_path):
    (images / "link.png").symlink_to(tmp_path / "secret.png")
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_bytes([["a", "A", "", "", "", "link.png"]], "utf-8"))
    summary = catalog_import(path=path, options=catalog_options(images, tmp_path / "e.csv"))
    assert not Item.objects.exists()
    assert summary.errors[0].reason == ROW_IMAGE_OUTSIDE_ROOT.format(path="link.png")


def test_a_nul_byte_in_an_image_path_is_a_row_error(tree, images, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_bytes([["a", "A", "", "", "", "ok\x00.png"]], "utf-8"))
    summary = catalog_import(path=path, options=catalog_options(images, tmp_path / "e.csv"))
    assert not Item.objects.exists()
    assert summary.errors[0].field == "image"


def test_text_no_database_can_store_is_a_row_error(tree, images, tmp_path):
    lines = [
        {"id": "a", "title": "fine"},
        {"id": "b", "title": "nul \x00 inside"},
        {"id": "c", "title": "lone \ud800 surrogate"},
        {"id": "d", "title": "t", "colour": "nul \x00 in an attribute"},
    ]
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    summary = catalog_import(path=path, options=catalog_options(images, tmp_path / "e.csv"))
    assert list(Item.objects.values_list("external_id", flat=True)) == ["a"]
    assert [(e.external_id, e.field) for e in summary.errors] == [
        ("b", "title"),
        ("c", "title"),
        ("d", "attributes"),
    ]


def test_categories_of_another_version_or_taxonomy_are_row_errors(tree, version, images, tmp_path):
    other = TaxonomyVersionFactory(taxonomy__name="Other")
    make_tree(other, {"Garden": {"Tools": {}}})
    draft = TaxonomyVersionFactory(taxonomy=version.taxonomy, status="draft", is_current=False)
    make_tree(draft, {"Apparel": {"Knitwear": {}}})
    rows = [["a", "A", "", "", SHIRTS], ["b", "B", "", "", "Garden > Tools"]]
    rows.append(["c", "C", "", "", "Apparel > Knitwear"])
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_bytes(rows, "utf-8"))
    options = catalog_options(images, tmp_path / "e.csv", taxonomy="Shop")
    summary = catalog_import(path=path, options=options)
    assert list(Label.objects.values_list("item__external_id", flat=True)) == ["a"]
    assert [e.reason for e in summary.errors] == [
        ROW_UNKNOWN_CATEGORY.format(path="Garden > Tools", version=version),
        ROW_UNKNOWN_CATEGORY.format(path="Apparel > Knitwear", version=version),
    ]
    assert Item.objects.count() == 1


# -- the taxonomy import --------------------------------------------------------------------


def taxonomy_import_balances(text: str, fmt: str) -> None:
    """A file is imported whole (its rows all there) or refused whole (nothing written)."""
    with rolled_back():
        versions = TaxonomyVersion.objects.count()
        try:
            result = taxonomy_import_text(text=text, name="Fuzzed", fmt=fmt)
        except TaxonomyImportError as error:
            assert error.problems
            assert TaxonomyVersion.objects.count() == versions
            assert not Category.objects.filter(version__taxonomy__name="Fuzzed").exists()
            return
        assert Category.objects.filter(version=result.version).count() == result.categories


TAXONOMY_LINE = st.one_of(
    st.lists(NASTY, min_size=1, max_size=4).map(" > ".join),
    st.tuples(st.text(max_size=6), NASTY).map(lambda t: f"{t[0]} - {t[1]}"),
    st.sampled_from(["²³ - Apparel", "0 - Root", "99999999999999999999 - Big", "# comment"]),
    st.text(max_size=30),
)


@FUZZ
@given(lines=st.lists(TAXONOMY_LINE, max_size=8), fmt=st.sampled_from(["paths", "google"]))
def test_generated_taxonomy_text_files_are_imported_whole_or_refused(db, lines, fmt):
    taxonomy_import_balances("\n".join(lines), fmt)


@FUZZ
@given(
    rows=st.lists(st.lists(NASTY, min_size=0, max_size=5), max_size=6),
    header=st.sampled_from(
        ["key,parent_key,name,description,synonyms", "path,key,synonyms", "name", ""]
    ),
)
def test_generated_taxonomy_csv_files_are_imported_whole_or_refused(db, rows, header):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    taxonomy_import_balances(header + "\n" + out.getvalue(), "csv")


@FUZZ
@given(document=st.one_of(JSON_VALUES.map(json.dumps), st.text(max_size=40)))
def test_generated_taxonomy_json_files_are_imported_whole_or_refused(db, document):
    taxonomy_import_balances(document, "json")


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("²³ - Apparel", "google"),  # str.isdigit() is true for superscripts, int() fails
        ("1" * 300 + " - Apparel", "google"),  # a key longer than the column
        ('[{"name": "A", "key": "' + "k" * 300 + '"}]', "json"),
        ("Apparel > Sh\x00irts", "paths"),
        ('[{"name": "A\\ud800"}]', "json"),
        ('[{"name": "A", "description": "nul \\u0000"}]', "json"),
        ("[" * 5000 + "]" * 5000, "json"),
        ("path\n" + "x" * 200_000, "csv"),
        ("name\nA", "csv"),
    ],
)
def test_files_that_once_crashed_the_import_are_refused_with_a_reason(db, text, fmt):
    with pytest.raises(TaxonomyImportError) as refused:
        taxonomy_import_text(text=text, name="Bad", fmt=fmt)
    assert refused.value.problems
    assert not TaxonomyVersion.objects.filter(taxonomy__name="Bad").exists()
