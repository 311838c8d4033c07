from __future__ import annotations

import csv
import io
import sys

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from labeling.models import Item, Label
from labeling.services.catalog.item_fields import ITEM_TITLE_REQUIRED

HEADER = "sku,name,desc,colour,year,category,picture\n"
ROWS = (
    "A,Blue shirt,Soft cotton,blue,2011,Apparel/Topwear/Shirts,a.png\n"
    "B,,No title,red,2012,Apparel/Topwear/Shirts,\n"
    "C,Jeans,,blue,2012,Apparel/Bottomwear/Jeans,\n"
)
OPTIONS = (
    "--id-col", "sku", "--title-col", "name", "--description-col", "desc",
    "--attribute-cols", "colour, year", "--label-col", "category", "--path-sep", "/",
    "--image-col", "picture",
)  # fmt: skip


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def catalog(tmp_path):
    (tmp_path / "pics").mkdir()
    Image.new("RGB", (5, 5), (0, 90, 0)).save(tmp_path / "pics" / "a.png")
    path = tmp_path / "catalog.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    return path


def run(*args, stderr=None):
    out = io.StringIO()
    call_command("import_catalog", *map(str, args), stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue()


def test_it_imports_with_every_column_option_and_reports_bad_rows(tree, catalog, alice):
    output = run(catalog, *OPTIONS, "--images-root", catalog.parent / "pics", "--author", "alice")
    a = Item.objects.get(external_id="A")
    assert (a.title, a.description, a.attributes) == (
        "Blue shirt",
        "Soft cotton",
        {"colour": "blue", "year": "2011"},
    )
    assert a.image.name.startswith("items/")
    assert (a.current_label.category.path, a.current_label.source, a.current_label.author) == (
        "Apparel > Topwear > Shirts", "import", alice,
    )  # fmt: skip
    assert set(Item.objects.values_list("external_id", flat=True)) == {"A", "C"}
    assert "created 2, updated 0, unchanged 0, labels written 2, errors 1" in output
    assert f"line 3 (id B): name: {ITEM_TITLE_REQUIRED}" in output
    assert "images 1 " in output


def test_the_errors_file_lists_each_bad_row(tree, catalog, tmp_path):
    target = tmp_path / "bad.csv"
    output = run(
        catalog, *OPTIONS, "--images-root", catalog.parent / "pics", "--errors-file", target
    )
    with target.open(newline="") as handle:
        assert list(csv.DictReader(handle)) == [
            {
                "line": "3",
                "last_line": "3",
                "id": "B",
                "field": "name",
                "reason": ITEM_TITLE_REQUIRED,
            }
        ]
    assert f"errors written to {target}" in output


def test_running_it_twice_changes_nothing(tree, catalog):
    args = (catalog, *OPTIONS, "--images-root", catalog.parent / "pics")
    run(*args)
    before = list(Item.objects.values_list("id", "updated_at", "current_label"))
    output = run(*args)
    assert "created 0, updated 0, unchanged 2, labels written 0, errors 1" in output
    assert list(Item.objects.values_list("id", "updated_at", "current_label")) == before
    assert Label.objects.count() == 2


def test_it_shows_a_progress_bar_on_a_terminal_unless_quiet(tree, catalog, monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run(catalog, "--id-col", "sku", "--title-col", "name")
    assert "3/3" in terminal.getvalue()
    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    run(catalog, "--id-col", "sku", "--title-col", "name", "--quiet")
    assert quiet.getvalue() == ""


def test_there_is_no_progress_bar_when_stderr_is_not_a_terminal(tree, catalog, monkeypatch):
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    run(catalog, "--id-col", "sku", "--title-col", "name")
    assert piped.getvalue() == ""
    assert Item.objects.count() == 2


def test_it_imports_json_lines(tree, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"id": 1, "title": "Watch", "path": "Accessories > Watches"}\n', encoding="utf-8"
    )
    output = run(path, "--label-col", "path")
    assert Item.objects.get(external_id="1").current_label.category == tree["Accessories > Watches"]
    assert "created 1" in output


def test_an_unknown_author_is_refused_before_anything_is_read(tree, catalog):
    with pytest.raises(CommandError, match="There is no user named 'zed' \\(--author\\)"):
        run(catalog, *OPTIONS, "--author", "zed")
    assert not Item.objects.exists()


def test_a_missing_column_fails_with_the_columns_it_has(tree, catalog):
    with pytest.raises(
        CommandError, match="no column\\(s\\) id, title; its columns are: sku, name, desc"
    ):
        run(catalog)


def test_an_unclosed_quote_is_one_error_naming_the_lines_it_joined(db, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text(
        'id,title,desc,a,b\nA1,First,,,\nX1,"unterminated quote title,desc,,\n'
        "B10,Row after broken quote,,,\n",
        encoding="utf-8",
    )
    output = run(path, "--quiet")
    assert "created 1, updated 0, unchanged 0, labels written 0, errors 1" in output
    assert "  lines 3–4 (id X1): title: lines 3–4 were read as one row, but line 4" in output
    assert "  2 rows on 3 lines:" in output
    assert list(Item.objects.values_list("external_id", flat=True)) == ["A1"]


def test_quoted_line_breaks_are_imported_and_counted_in_the_summary(db, tmp_path):
    path = tmp_path / "paragraphs.csv"
    path.write_text(
        'id,title,desc\nA1,Shirt,"Soft, warm.\nWashable, 30 degrees."\nB2,Cap,"One\n\nTwo"\n'
        "C3,Jeans,\n",
        encoding="utf-8",
    )
    output = run(path, "--description-col", "desc", "--quiet")
    assert "created 3, updated 0, unchanged 0, labels written 0, errors 0" in output
    assert "  3 rows on 6 lines:" in output
    assert "    2 records span several lines (quoted line breaks, 3 lines after their first)" in (
        output
    )
