from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from labeling.models import Item
from labeling.services.catalog import item_fields, item_images
from labeling.services.catalog import items as svc
from tests.factories import ItemFactory


def png_bytes(size=(4, 3), color=(200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_it_creates_an_item_with_a_content_hash(db):
    item = svc.item_create(external_id=" A-1 ", title=" Blue shirt ", attributes={"colour": "blue"})
    item.refresh_from_db()
    assert (item.external_id, item.title, item.source) == ("A-1", "Blue shirt", "api")
    assert item.content_hash == item_fields.item_content_hash(
        title="Blue shirt", description="", attributes={"colour": "blue"}
    )


def test_the_content_hash_ignores_attribute_order_but_not_content():
    one = item_fields.item_content_hash(title="t", description="", attributes={"a": 1, "b": 2})
    same = item_fields.item_content_hash(title="t", description="", attributes={"b": 2, "a": 1})
    other = item_fields.item_content_hash(title="t", description="", attributes={"a": 1, "b": 3})
    with_image = item_fields.item_content_hash(
        title="t", description="", attributes={"a": 1, "b": 2}, image_sha256="ab"
    )
    assert one == same
    assert len({one, other, with_image}) == 3


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"external_id": " ", "title": "t"}, "external_id", item_fields.ITEM_EXTERNAL_ID_REQUIRED),
        ({"external_id": "x", "title": ""}, "title", item_fields.ITEM_TITLE_REQUIRED),
        ({"external_id": "x" * 300, "title": "t"}, "external_id", "longer than 255"),
        (
            {"external_id": "x", "title": "t", "attributes": [1]},
            "attributes",
            item_fields.ITEM_ATTRIBUTES_NOT_OBJECT,
        ),
        ({"external_id": "x", "title": 5}, "title", "must be text"),
    ],
)
def test_it_refuses_invalid_fields_and_names_the_field(db, kwargs, field, message):
    with pytest.raises(item_fields.ItemError, match=message[:20]) as caught:
        svc.item_create(**kwargs)
    assert caught.value.field == field
    assert not Item.objects.exists()


def test_it_refuses_an_external_id_that_exists(db):
    ItemFactory(external_id="A-1")
    with pytest.raises(item_fields.ItemError, match="already exists") as caught:
        svc.item_create(external_id="A-1", title="again")
    assert caught.value.field == "external_id"


def test_an_uploaded_image_is_stored_content_addressed_with_a_safe_name(db, media):
    data = png_bytes()
    upload = SimpleUploadedFile("../../evil.php", data, content_type="image/png")
    item = svc.item_create(external_id="A-1", title="t", image=upload)
    sha = hashlib.sha256(data).hexdigest()
    assert item.image.name == f"items/{sha[:2]}/{sha}.png"
    assert (media / item.image.name).read_bytes() == data
    assert item.content_hash == item_fields.item_content_hash(
        title="t", description="", attributes={}, image_sha256=sha
    )


def test_storing_the_same_image_twice_reuses_the_file(db, media):
    first = item_images.image_store(data=png_bytes(), filename_hint="a.png")
    second = item_images.image_store(data=png_bytes(), filename_hint="b.png")
    assert first == second
    assert len(list((media / "items").rglob("*.png"))) == 1


def test_it_refuses_bytes_that_are_not_an_image(db, media):
    with pytest.raises(item_fields.ItemError, match="was refused") as caught:
        svc.item_create(external_id="A-1", title="t", image=b"<?php echo 1; ?>")
    assert caught.value.field == "image"
    assert not Item.objects.exists()
    assert not (media / "items").exists()


def test_it_refuses_an_oversized_upload_before_reading_it(db, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "MAX_IMAGE_BYTES": 10}
    upload = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    with pytest.raises(item_fields.ItemError, match="too large"):
        svc.item_create(external_id="A-1", title="t", image=upload)


def test_it_refuses_a_decompression_bomb(db, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "MAX_IMAGE_PIXELS": 100}
    with pytest.raises(item_fields.ItemError, match="decompression bomb"):
        item_images.image_store(data=png_bytes(size=(20, 20)), filename_hint="bomb.png")


def test_an_update_recomputes_the_hash(db):
    item = svc.item_create(external_id="A-1", title="old")
    updated = svc.item_update(item=item, title="new", attributes={"k": "v"})
    updated.refresh_from_db()
    assert updated.title == "new"
    assert updated.content_hash == item_fields.item_content_hash(
        title="new", description="", attributes={"k": "v"}
    )


def test_an_update_keeps_the_image_hash_unless_the_image_changes(db):
    item = svc.item_create(external_id="A-1", title="t", image=png_bytes())
    with_image = item.content_hash
    svc.item_update(item=item, title="t")
    assert item.content_hash == with_image
    svc.item_update(item=item, image=None)
    item.refresh_from_db()
    assert item.image.name == ""
    assert item.content_hash == item_fields.item_content_hash(
        title="t", description="", attributes={}
    )


def test_an_update_without_changes_writes_nothing(db, django_assert_num_queries):
    item = svc.item_create(external_id="A-1", title="t")
    with django_assert_num_queries(0):
        svc.item_update(item=item, title="t", description="")


def test_an_update_refuses_unknown_fields(db):
    item = ItemFactory()
    with pytest.raises(item_fields.ItemError, match="Unknown item field") as caught:
        svc.item_update(item=item, colour="red")
    assert caught.value.field == "colour"


def test_an_update_refuses_an_external_id_that_is_taken(db):
    ItemFactory(external_id="taken")
    item = svc.item_create(external_id="A-1", title="t")
    with pytest.raises(item_fields.ItemError, match="already exists"):
        svc.item_update(item=item, external_id="taken")


def test_bulk_create_creates_every_row(db):
    rows = [{"external_id": f"B-{i}", "title": f"t{i}", "attributes": {"i": i}} for i in range(3)]
    items = svc.items_bulk_create(rows=rows, source="bulk-api")
    assert [i.external_id for i in items] == ["B-0", "B-1", "B-2"]
    assert Item.objects.filter(source="bulk-api").count() == 3


def test_bulk_create_stores_images(db, media):
    items = svc.items_bulk_create(rows=[{"external_id": "B-1", "title": "t", "image": png_bytes()}])
    assert items[0].image.name.startswith("items/")
    assert default_storage.exists(items[0].image.name)


def test_bulk_create_is_all_or_nothing_and_names_the_row(db):
    rows = [{"external_id": "B-1", "title": "t"}, {"external_id": "B-2", "title": ""}]
    with pytest.raises(item_fields.ItemError, match="^Row 1: The title is required") as caught:
        svc.items_bulk_create(rows=rows)
    assert (caught.value.index, caught.value.field) == (1, "title")
    assert not Item.objects.exists()


def test_bulk_create_refuses_a_duplicate_id_within_the_batch(db):
    rows = [{"external_id": "B-1", "title": "a"}, {"external_id": "B-1", "title": "b"}]
    with pytest.raises(item_fields.ItemError, match="Row 1: .*also appears in row 0") as caught:
        svc.items_bulk_create(rows=rows)
    assert caught.value.field == "external_id"


def test_bulk_create_refuses_an_id_that_already_exists(db):
    ItemFactory(external_id="B-2")
    rows = [{"external_id": "B-1", "title": "a"}, {"external_id": "B-2", "title": "b"}]
    with pytest.raises(item_fields.ItemError, match="Row 1: .*already exists"):
        svc.items_bulk_create(rows=rows)
    assert Item.objects.count() == 1


def test_bulk_create_refuses_too_many_rows(db, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "BULK_CREATE_LIMIT": 2}
    rows = [{"external_id": f"B-{i}", "title": "t"} for i in range(3)]
    with pytest.raises(item_fields.ItemError, match="Too many rows: 3"):
        svc.items_bulk_create(rows=rows)


def test_bulk_create_refuses_an_empty_batch_and_unknown_keys(db):
    with pytest.raises(item_fields.ItemError, match=svc.ITEM_BULK_EMPTY):
        svc.items_bulk_create(rows=[])
    with pytest.raises(item_fields.ItemError, match="Row 0: Unknown item field"):
        svc.items_bulk_create(rows=[{"external_id": "B-1", "title": "t", "price": 3}])
