from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from labeling.models import Item, Label
from labeling.services.catalog import imports as svc
from labeling.services.catalog.imports import reader, rows, spans, writer
from labeling.services.catalog.item_fields import (
    ITEM_EXTERNAL_ID_REQUIRED,
    ITEM_TITLE_REQUIRED,
    item_content_hash,
)
from labeling.services.catalog.item_images import ITEM_IMAGE_INVALID
from labeling.services.review.labels import NO_CURRENT_VERSION, LabelError

HEADER = ["sku", "name", "desc", "colour", "size", "category", "picture"]
SHIRTS = "Apparel > Topwear > Shirts"
JEANS = "Apparel > Bottomwear > Jeans"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    return root


def bomb_bytes(side):
    """A side x side single-colour PNG: tiny on disk (20000² is ~90 kB), huge once decoded."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 1).save(buffer, format="PNG")
    return buffer.getvalue()


def png(path, size=(6, 4), color=(200, 10, 10)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def write_csv(tmp_path, records, name="catalog.csv"):
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        out.writerows([[r.get(c, "") for c in HEADER] for r in records])
    return path


def options(images_root=None, **changes):
    mapping = {
        "id_col": "sku",
        "title_col": "name",
        "description_col": "desc",
        "attribute_cols": ("colour", "size"),
        "label_col": "category",
        "image_col": "picture",
        "images_root": images_root,
        "progress": False,
    }
    return svc.ImportOptions(**{**mapping, **changes})


def errors_of(summary):
    with summary.errors_file.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def good(sku, **fields):
    return {"sku": sku, "name": f"Product {sku}", "category": SHIRTS, **fields}


def test_it_imports_mapped_columns_as_items_with_import_labels(tree, tmp_path, images):
    path = write_csv(
        tmp_path, [good("A", desc=" Soft ", colour="blue", size="M"), good("B", category=JEANS)]
    )
    summary = svc.catalog_import(path=path, options=options(images))
    a = Item.objects.get(external_id="A")
    assert (a.title, a.description, a.attributes, a.source) == (
        "Product A",
        "Soft",
        {"colour": "blue", "size": "M"},
        "import",
    )
    assert a.content_hash == item_content_hash(
        title="Product A", description="Soft", attributes={"colour": "blue", "size": "M"}
    )
    assert (a.current_label.category, a.current_label.source) == (tree[SHIRTS], "import")
    assert Item.objects.get(external_id="B").current_label.category == tree[JEANS]
    assert (summary.rows, summary.created, summary.labels_written, summary.errors) == (2, 2, 2, [])
    assert summary.errors_file is None


def test_it_stores_an_image_under_its_content_address(tree, tmp_path, images, media):
    data = png(images / "a.png")
    svc.catalog_import(
        path=write_csv(tmp_path, [good("A", picture="a.png")]), options=options(images)
    )
    sha = hashlib.sha256(data).hexdigest()
    item = Item.objects.get(external_id="A")
    assert item.image.name == f"items/{sha[:2]}/{sha}.png"
    assert (media / item.image.name).read_bytes() == data
    assert item.content_hash == item_content_hash(
        title="Product A", description="", attributes={}, image_sha256=sha
    )


def test_it_imports_json_lines_with_numeric_ids_and_another_path_separator(tree, tmp_path):
    path = tmp_path / "catalog.jsonl"
    lines = [
        {
            "sku": 7,
            "name": "Jeans",
            "colour": "blue",
            "size": 32,
            "category": "Apparel/Bottomwear/Jeans",
        }
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    summary = svc.catalog_import(path=path, options=options(image_col="", path_sep="/"))
    item = Item.objects.get(external_id="7")
    assert (item.title, item.attributes) == ("Jeans", {"colour": "blue", "size": 32})
    assert item.current_label.category == tree[JEANS]
    assert (summary.rows, summary.created) == (1, 1)


def test_reimporting_unchanged_rows_writes_nothing(tree, tmp_path, images):
    png(images / "a.png")
    path = write_csv(tmp_path, [good("A", picture="a.png", colour="red"), good("B")])
    svc.catalog_import(path=path, options=options(images))
    before = list(
        Item.objects.order_by("id").values_list("id", "updated_at", "content_hash", "current_label")
    )
    again = svc.catalog_import(path=path, options=options(images))
    after = list(
        Item.objects.order_by("id").values_list("id", "updated_at", "content_hash", "current_label")
    )
    assert (again.created, again.updated, again.unchanged, again.labels_written) == (0, 0, 2, 0)
    assert after == before
    assert Label.objects.count() == 2


def test_a_changed_row_updates_the_item_and_a_changed_label_supersedes_the_old_one(
    tree, tmp_path, alice
):
    svc.catalog_import(path=write_csv(tmp_path, [good("A"), good("B")]), options=options())
    first_b = Item.objects.get(external_id="B").current_label
    changed = write_csv(
        tmp_path, [good("A", name="New title"), good("B", category=JEANS)], "v2.csv"
    )
    summary = svc.catalog_import(path=changed, options=options(author=alice))
    a, b = Item.objects.get(external_id="A"), Item.objects.get(external_id="B")
    assert a.title == "New title"
    assert a.content_hash == item_content_hash(title="New title", description="", attributes={})
    assert (b.current_label.category, b.current_label.supersedes, b.current_label.author) == (
        tree[JEANS],
        first_b,
        alice,
    )
    assert (summary.updated, summary.unchanged, summary.labels_written) == (1, 1, 1)
    assert Label.objects.filter(item=a).count() == 1


def test_columns_the_file_does_not_map_keep_their_stored_values(tree, tmp_path):
    svc.catalog_import(
        path=write_csv(tmp_path, [good("A", desc="Long text", colour="red")]), options=options()
    )
    summary = svc.catalog_import(
        path=write_csv(tmp_path, [good("A", name="Renamed")], "titles.csv"),
        options=options(description_col="", attribute_cols=()),
    )
    item = Item.objects.get(external_id="A")
    assert (item.title, item.description, item.attributes) == (
        "Renamed",
        "Long text",
        {"colour": "red"},
    )
    assert summary.updated == 1


# -- bad rows: each is reported with its line and reason, and the good rows still land --------


def import_with_bad_row(tmp_path, images, bad, **changes):
    """Import good row G1 (line 2), ``bad`` (line 3) and good row G2 (line 4)."""
    png(images / "ok.png")
    path = write_csv(tmp_path, [good("G1", picture="ok.png"), bad, good("G2")])
    summary = svc.catalog_import(path=path, options=options(images, **changes))
    assert set(Item.objects.values_list("external_id", flat=True)) == {"G1", "G2"}
    assert Label.objects.count() == 2
    assert (summary.rows, summary.created) == (3, 2)
    return errors_of(summary)


def error_row(id_, field, reason, line="3"):
    return [{"line": line, "last_line": line, "id": id_, "field": field, "reason": reason}]


def test_a_row_without_an_id_is_reported(tree, tmp_path, images):
    errors = import_with_bad_row(tmp_path, images, good("", name="No id"))
    assert errors == error_row("", "sku", ITEM_EXTERNAL_ID_REQUIRED)


def test_a_row_without_a_title_is_reported(tree, tmp_path, images):
    errors = import_with_bad_row(tmp_path, images, good("X", name="  "))
    assert errors == error_row("X", "name", ITEM_TITLE_REQUIRED)


def test_a_row_with_an_unknown_category_path_is_reported(tree, tmp_path, images, version):
    errors = import_with_bad_row(tmp_path, images, good("X", category="Apparel > Hats"))
    reason = rows.ROW_UNKNOWN_CATEGORY.format(path="Apparel > Hats", version=str(version))
    assert errors == error_row("X", "category", reason)
    assert "Shop v" in reason


def test_a_row_with_a_deprecated_category_is_reported(tree, tmp_path, images):
    tree[JEANS].deprecated = True
    tree[JEANS].save()
    errors = import_with_bad_row(tmp_path, images, good("X", category=JEANS))
    assert errors == error_row("X", "category", rows.ROW_DEPRECATED_CATEGORY.format(path=JEANS))


def test_a_row_whose_image_file_is_missing_is_reported(tree, tmp_path, images):
    errors = import_with_bad_row(tmp_path, images, good("X", picture="gone.png"))
    assert errors == error_row("X", "picture", "the image file 'gone.png' does not exist")


def test_a_row_whose_image_path_is_a_folder_is_reported(tree, tmp_path, images):
    (images / "folder.png").mkdir()
    errors = import_with_bad_row(tmp_path, images, good("X", picture="folder.png"))
    assert errors == error_row("X", "picture", "the image path 'folder.png' is not a regular file")


def test_a_row_whose_image_leaves_the_images_root_is_reported(tree, tmp_path, images):
    png(tmp_path / "secret.png")
    errors = import_with_bad_row(tmp_path, images, good("X", picture="../secret.png"))
    assert errors == error_row(
        "X", "picture", "the image path '../secret.png' is outside the images root"
    )


def test_a_row_whose_image_is_not_an_image_is_reported(tree, tmp_path, images):
    (images / "fake.png").write_text("<?php echo 1; ?>")
    errors = import_with_bad_row(tmp_path, images, good("X", picture="fake.png"))
    reason = "not an image, or not one of JPEG, PNG, WEBP, GIF, BMP"
    assert errors == error_row(
        "X", "picture", ITEM_IMAGE_INVALID.format(name="fake.png", reason=reason)
    )


def test_a_row_whose_image_is_truncated_is_reported(tree, tmp_path, images):
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buffer, format="JPEG")
    (images / "cut.jpg").write_bytes(buffer.getvalue()[:600])
    errors = import_with_bad_row(tmp_path, images, good("X", picture="cut.jpg"))
    assert errors[0]["reason"].startswith(
        "The image 'cut.jpg' was refused: image data is truncated"
    )
    assert (errors[0]["line"], errors[0]["id"], errors[0]["field"]) == ("3", "X", "picture")


def test_a_row_whose_image_is_over_the_byte_limit_is_reported(tree, tmp_path, images, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "MAX_IMAGE_BYTES": 1000}
    Image.effect_noise((64, 64), 80).convert("RGB").save(images / "noise.png")
    size = (images / "noise.png").stat().st_size
    assert size > 1000
    errors = import_with_bad_row(tmp_path, images, good("X", picture="noise.png"))
    reason = rows.ROW_IMAGE_TOO_LARGE.format(path="noise.png", size=size, limit=1000)
    assert errors == error_row("X", "picture", reason)


@pytest.mark.parametrize(
    ("side", "reason"),
    [
        # Past twice PIL's own limit, PIL refuses it while reading the header.
        (
            20000,
            "image rejected as a decompression bomb: 400,000,000 pixels (limit 40,000,000)",
        ),
        # Under PIL's limit but over the configured MAX_IMAGE_PIXELS (40 million).
        (
            8000,
            "image rejected as a decompression bomb: 8000x8000 = 64,000,000 pixels (limit 40,000,000)",
        ),
    ],
)
def test_a_decompression_bomb_is_reported_and_not_stored(
    tree, tmp_path, images, media, side, reason
):
    (images / "bomb.png").write_bytes(bomb_bytes(side))
    errors = import_with_bad_row(tmp_path, images, good("X", picture="bomb.png"))
    assert (errors[0]["line"], errors[0]["id"], errors[0]["field"]) == ("3", "X", "picture")
    assert errors[0]["reason"].startswith(
        ITEM_IMAGE_INVALID.format(name="bomb.png", reason=reason).rstrip(".")
    )
    assert len(errors) == 1
    assert len(list(media.rglob("*.png"))) == 1  # only G1's image


def test_a_duplicate_id_in_the_file_is_reported(tree, tmp_path, images):
    errors = import_with_bad_row(tmp_path, images, good("G1", name="Again"))
    assert errors == error_row("G1", "sku", rows.ROW_DUPLICATE_ID.format(external_id="G1", first=2))
    assert Item.objects.get(external_id="G1").title == "Product G1"


def test_a_csv_row_with_too_many_fields_is_reported(tree, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nA,One\nB,Two,extra\nC,Three\n", encoding="utf-8")
    summary = svc.catalog_import(
        path=path, options=svc.ImportOptions(id_col="sku", title_col="name", progress=False)
    )
    assert errors_of(summary) == error_row(
        "B", "", reader.READER_TOO_MANY_FIELDS.format(count=3, expected=2)
    )
    assert set(Item.objects.values_list("external_id", flat=True)) == {"A", "C"}


def test_bad_json_lines_are_reported_with_their_line_numbers(db, tmp_path):
    path = tmp_path / "catalog.jsonl"
    path.write_bytes(
        b'{"id": "A", "title": "One"}\n{"id": "B",\n[1, 2]\n{"id": "C", "title": "Caf\xe9"}\n{"id": "D", "title": "Four"}\n'
    )
    summary = svc.catalog_import(path=path, options=svc.ImportOptions(progress=False))
    assert [(e["line"], e["reason"]) for e in errors_of(summary)] == [
        (
            "2",
            reader.READER_INVALID_JSON.format(
                error="Expecting property name enclosed in double quotes"
            ),
        ),
        ("3", reader.READER_NOT_OBJECT.format(kind="list")),
        ("4", reader.READER_UNDECODABLE),
    ]
    assert set(Item.objects.values_list("external_id", flat=True)) == {"A", "D"}


def test_the_summary_lists_bad_rows_and_names_the_errors_file(tree, tmp_path, images):
    path = write_csv(tmp_path, [good("A"), good("B", name="")])
    summary = svc.catalog_import(path=path, options=options(images))
    assert summary.errors_file == tmp_path / "catalog.csv.errors.csv"
    assert f"  line 3 (id B): name: {ITEM_TITLE_REQUIRED}" in summary.report()
    assert f"  errors written to {summary.errors_file}" in summary.report()


# -- nothing half-written ---------------------------------------------------------------------


def test_a_row_whose_label_cannot_be_written_leaves_no_item_and_no_image(
    tree, tmp_path, images, media, monkeypatch
):
    for name, color in (("a.png", (1, 2, 3)), ("b.png", (4, 5, 6)), ("c.png", (7, 8, 9))):
        png(images / name, color=color)
    real = writer.label_bulk_create

    def failing(*, pairs, **kwargs):
        if any(item.external_id == "B" for item, _ in pairs):
            raise RuntimeError("disk full")
        return real(pairs=pairs, **kwargs)

    monkeypatch.setattr(writer, "label_bulk_create", failing)
    records = [good(sku, picture=f"{sku.lower()}.png") for sku in "ABC"]
    summary = svc.catalog_import(path=write_csv(tmp_path, records), options=options(images))
    assert errors_of(summary) == error_row(
        "B", "", svc.CATALOG_ROW_WRITE_FAILED.format(error="disk full")
    )
    assert set(Item.objects.values_list("external_id", flat=True)) == {"A", "C"}
    assert set(Label.objects.values_list("item__external_id", flat=True)) == {"A", "C"}
    stored = {path.relative_to(media).as_posix() for path in media.rglob("*.png")}
    assert stored == set(Item.objects.values_list("image", flat=True))


def test_an_image_an_existing_item_uses_is_kept_when_another_row_fails(
    tree, tmp_path, images, monkeypatch
):
    png(images / "same.png")
    svc.catalog_import(
        path=write_csv(tmp_path, [good("A", picture="same.png")]), options=options(images)
    )
    monkeypatch.setattr(
        writer, "items_create", lambda fields: (_ for _ in ()).throw(RuntimeError("boom"))
    )
    summary = svc.catalog_import(
        path=write_csv(tmp_path, [good("B", picture="same.png")], "b.csv"), options=options(images)
    )
    assert errors_of(summary) == error_row("B", "", "the row could not be written: boom", line="2")
    assert default_storage.exists(Item.objects.get(external_id="A").image.name)


# -- every physical line accounted for --------------------------------------------------------

PLAIN = "sku,name,desc,colour,size\n"


def import_text(tmp_path, text, name="catalog.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    opts = svc.ImportOptions(id_col="sku", title_col="name", description_col="desc", progress=False)
    return svc.catalog_import(path=path, options=opts)


def balanced(summary):
    """Each line read is a record's first line, a continuation of one, or blank."""
    return summary.rows + summary.continuation_lines + summary.blank_lines == summary.lines


def test_an_unclosed_quote_that_swallows_the_next_row_is_an_error_naming_both_lines(db, tmp_path):
    summary = import_text(
        tmp_path,
        PLAIN + 'A1,First,,,\nX1,"unterminated quote title,desc,,\nB10,Row after broken quote,,,\n',
    )
    reason = spans.SPAN_ROW_INSIDE_FIELD.format(first=3, last=4, at=4)
    assert errors_of(summary) == [
        {"line": "3", "last_line": "4", "id": "X1", "field": "name", "reason": reason}
    ]
    assert list(Item.objects.values_list("external_id", flat=True)) == ["A1"]
    assert f"  lines 3–4 (id X1): name: {reason}" in summary.report()
    assert (summary.rows, summary.created, summary.lines, summary.multiline) == (2, 1, 3, 1)
    assert balanced(summary)


def test_a_quote_closed_rows_later_is_one_error_over_every_line_it_joined(db, tmp_path):
    text = PLAIN + 'X1,"broken,,,\nB10,Short\nC7,"Closed here",,,\nD4,Fine,,,\n'
    summary = import_text(tmp_path, text)
    reason = spans.SPAN_ROW_INSIDE_FIELD.format(first=2, last=4, at=3)
    assert [(e.line, e.last_line, e.field, e.reason) for e in summary.errors] == [
        (2, 4, "name", reason)
    ]
    assert list(Item.objects.values_list("external_id", flat=True)) == ["D4"]
    assert balanced(summary) and summary.lines == 4


def test_a_quote_never_closed_swallows_up_to_the_end_and_is_reported(db, tmp_path):
    summary = import_text(tmp_path, PLAIN + 'A1,One,,,\nX1,Two,"broken\nB1,Three\nC1,Four\n')
    assert [(e.line, e.last_line, e.field) for e in summary.errors] == [(3, 5, "desc")]
    assert (summary.rows, summary.created, summary.lines) == (2, 1, 4)


def test_a_full_width_row_is_recognised_even_when_its_id_has_a_new_shape(db, tmp_path):
    text = PLAIN + 'X-1,"broken,,,\nB10,Next row,blue,M,\n'
    summary = import_text(tmp_path, text)
    assert summary.errors[0].reason == spans.SPAN_ROW_INSIDE_FIELD.format(first=2, last=3, at=3)


def test_quoted_line_breaks_in_prose_import_and_the_summary_says_why_lines_differ(db, tmp_path):
    desc = "Soft cotton, machine washable.\n\nMade in Portugal, 2021, by hand.\n12, 14 and 16 cm"
    text = PLAIN + f'A1,Shirt,"{desc}",blue,M\nB2,Jeans,,,\n\nC3,"Cap ",,,\n'
    summary = import_text(tmp_path, text)
    assert summary.errors == []
    assert Item.objects.get(external_id="A1").description == desc
    assert (summary.rows, summary.lines, summary.multiline, summary.blank_lines) == (3, 7, 1, 1)
    assert balanced(summary)
    report = summary.report()
    assert "  3 rows on 7 lines:" in report
    assert "    1 record spans several lines (quoted line breaks, 3 lines after their first)" in (
        report
    )
    assert "    1 blank lines skipped" in report


def test_one_row_per_line_says_nothing_about_lines(tree, tmp_path):
    summary = svc.catalog_import(
        path=write_csv(tmp_path, [good("A"), good("B")]), options=options()
    )
    assert (summary.rows, summary.lines) == (2, 2)
    assert not any("lines" in line for line in summary.report())


def test_a_title_with_a_line_break_is_an_error_naming_both_lines(db, tmp_path):
    summary = import_text(tmp_path, PLAIN + 'A1,"Blue\nshirt",,,\nB2,Jeans,,,\n')
    assert [(e.line, e.last_line, e.field, e.reason) for e in summary.errors] == [
        (2, 3, "name", rows.ROW_TITLE_LINE_BREAK)
    ]
    assert f"  lines 2–3 (id A1): name: {rows.ROW_TITLE_LINE_BREAK}" in summary.report()
    assert list(Item.objects.values_list("external_id", flat=True)) == ["B2"]


def test_json_lines_are_one_record_each_and_a_title_with_a_line_break_is_refused(db, tmp_path):
    text = '{"id": "A", "title": "One"}\n\n{"id": "B", "title": "Two\\nlines"}\n{"id": "C",\n"title": "x"}\n'
    path = tmp_path / "c.jsonl"
    path.write_text(text, encoding="utf-8")
    summary = svc.catalog_import(path=path, options=svc.ImportOptions(progress=False))
    assert [(e.line, e.last_line, e.field) for e in summary.errors] == [
        (3, 0, "title"), (4, 0, ""), (5, 0, ""),
    ]  # fmt: skip
    assert summary.errors[0].reason == rows.ROW_TITLE_LINE_BREAK
    assert (summary.rows, summary.lines, summary.blank_lines, summary.multiline) == (4, 5, 1, 0)
    assert balanced(summary)


@pytest.mark.parametrize(
    ("text", "is_row"),
    [
        ("B10,Row after broken quote,,,,,,", True),  # full width, no spaces around fields
        ("77,Short", True),  # the shape of the ids seen (digits), then the delimiter
        ("cream, muesli, cakes, desserts, trail mixes, halva, kheer, custard etc.", False),
        ("Made in Portugal, 2021", False),
        ("12", False),  # an id shape, but no delimiter after it
        ("12 cm, 14 cm", False),
        ("", False),
    ],
)
def test_what_looks_like_a_row_inside_a_field(text, is_row):
    check = spans.SpanCheck(header=["id", "title", "d", "b", "p", "m", "r", "c"], id_col="id")
    check.check(reader.Record(2, {"id": "15970", "title": "x"}))
    assert check.looks_like_row(text) is is_row


# -- refused before any row is read -----------------------------------------------------------


def test_a_missing_file_is_refused(db, tmp_path):
    with pytest.raises(svc.CatalogImportError, match="does not exist"):
        svc.catalog_import(path=tmp_path / "nope.csv", options=options())


def test_a_mapped_column_missing_from_the_header_is_refused(tree, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,title\n1,x\n", encoding="utf-8")
    message = svc.CATALOG_MISSING_COLUMNS.format(missing="category", columns="id, title")
    with pytest.raises(svc.CatalogImportError) as caught:
        svc.catalog_import(
            path=path, options=svc.ImportOptions(label_col="category", progress=False)
        )
    assert str(caught.value) == message
    assert not Item.objects.exists()


def test_labels_need_a_current_taxonomy_version(db, tmp_path):
    with pytest.raises(LabelError, match=NO_CURRENT_VERSION):
        svc.catalog_import(path=write_csv(tmp_path, [good("A")]), options=options())


def test_an_unknown_taxonomy_name_is_refused(tree, tmp_path):
    with pytest.raises(svc.CatalogImportError, match="There is no taxonomy named 'Nope'"):
        svc.catalog_import(path=write_csv(tmp_path, [good("A")]), options=options(taxonomy="Nope"))


def test_a_missing_images_root_is_refused(tree, tmp_path):
    with pytest.raises(svc.CatalogImportError, match="is not a folder"):
        svc.catalog_import(
            path=write_csv(tmp_path, [good("A")]), options=options(tmp_path / "none")
        )


def test_a_small_chunk_size_gives_the_same_result(tree, tmp_path):
    records = [good(f"S{i}", category=JEANS if i % 2 else SHIRTS) for i in range(7)]
    summary = svc.catalog_import(path=write_csv(tmp_path, records), options=options(chunk_size=3))
    assert (summary.created, summary.labels_written) == (7, 7)
    assert Item.objects.filter(current_label__category=tree[JEANS]).count() == 3


def test_an_import_that_adds_items_sends_one_embedding_task(
    tree, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from labeling.services import dispatch

    sent = []
    monkeypatch.setattr(dispatch, "enqueue_now", lambda name, *args: sent.append((name, *args)))
    path = write_csv(tmp_path, [good("A"), good("B")])
    with django_capture_on_commit_callbacks(execute=True):
        svc.catalog_import(path=path, options=options())
    with django_capture_on_commit_callbacks(execute=True):
        svc.catalog_import(path=path, options=options())  # unchanged: nothing new to encode
    assert sent == [("embed_items_task",)]
