"""POST /api/items/, POST /api/items/bulk/, PATCH /api/items/<id>/."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from labeling.api.errors import BULK_TOO_MANY
from labeling.models import Item
from labeling.services.catalog.items import (
    ITEM_ALREADY_EXISTS,
    ITEM_BULK_DUPLICATE_IN_BATCH,
    ITEM_BULK_ROW,
)
from tests.factories import ItemFactory


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_taxonomy_admin_creates_an_item_from_json(bob):
    payload = {"external_id": "SKU-1", "title": "Blue jacket", "attributes": {"colour": "blue"}}
    response = client_for(bob).post("/api/items/", payload, format="json")
    assert response.status_code == 201
    item = Item.objects.get(external_id="SKU-1")
    assert (item.title, item.attributes, item.source) == ("Blue jacket", {"colour": "blue"}, "api")
    assert response.json()["id"] == item.pk
    assert response.json()["current_label"] is None


def test_a_multipart_post_stores_the_image(bob):
    upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")
    data = {
        "external_id": "SKU-2",
        "title": "Red cap",
        "attributes": '{"size": "M"}',
        "image": upload,
    }
    response = client_for(bob).post("/api/items/", data, format="multipart")
    assert response.status_code == 201
    item = Item.objects.get(external_id="SKU-2")
    assert item.attributes == {"size": "M"}
    assert item.image.name.endswith(".png")
    assert response.json()["image"].startswith("http://testserver/")


def test_a_file_that_is_not_an_image_is_a_400_naming_image(bob):
    upload = SimpleUploadedFile("photo.png", b"not an image", content_type="image/png")
    data = {"external_id": "SKU-3", "title": "Cap", "image": upload}
    response = client_for(bob).post("/api/items/", data, format="multipart")
    assert response.status_code == 400
    assert "image" in response.json()
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "No id"}, "external_id"),
        ({"external_id": "X"}, "title"),
        ({"external_id": "X", "title": "T", "attributes": [1, 2]}, "attributes"),
        ({"external_id": "X", "title": "T" * 1001}, "title"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(bob, payload, field):
    response = client_for(bob).post("/api/items/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_duplicate_external_id_is_a_400_with_the_service_message(bob):
    ItemFactory(external_id="SKU-1")
    response = client_for(bob).post(
        "/api/items/", {"external_id": "SKU-1", "title": "T"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"external_id": [ITEM_ALREADY_EXISTS.format(external_id="SKU-1")]}


def test_a_reviewer_may_not_write_items(alice, charlie):
    payload = {"external_id": "SKU-1", "title": "T"}
    assert client_for(alice).post("/api/items/", payload, format="json").status_code == 403
    assert (
        client_for(charlie)
        .post("/api/items/bulk/", {"items": [payload]}, format="json")
        .status_code
        == 403
    )
    assert client_for().post("/api/items/", payload, format="json").status_code == 401
    assert not Item.objects.exists()


def test_patch_changes_the_given_fields_only(bob):
    item = ItemFactory(title="Old", description="keep")
    response = client_for(bob).patch(f"/api/items/{item.pk}/", {"title": "New"}, format="json")
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.title, item.description) == ("New", "keep")
    assert response.json()["title"] == "New"


def test_patch_with_a_bad_field_is_a_400(bob):
    item = ItemFactory()
    response = client_for(bob).patch(f"/api/items/{item.pk}/", {"title": ""}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()


def test_patch_is_refused_to_a_reviewer_and_unknown_items_are_404(bob, alice):
    item = ItemFactory(title="Old")
    assert (
        client_for(alice).patch(f"/api/items/{item.pk}/", {"title": "X"}, format="json").status_code
        == 403
    )
    assert (
        client_for(bob).patch("/api/items/999999/", {"title": "X"}, format="json").status_code
        == 404
    )
    assert Item.objects.get().title == "Old"


def test_bulk_creates_every_row(bob):
    rows = [{"external_id": f"B-{n}", "title": f"Item {n}"} for n in range(3)]
    response = client_for(bob).post("/api/items/bulk/", {"items": rows}, format="json")
    assert response.status_code == 201
    assert response.json()["count"] == 3
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["B-0", "B-1", "B-2"]
    assert {r["external_id"] for r in response.json()["items"]} == {"B-0", "B-1", "B-2"}


def test_bulk_errors_name_the_row_and_write_nothing(bob):
    rows = [{"external_id": "B-0", "title": "ok"}, {"external_id": "B-1"}]
    response = client_for(bob).post("/api/items/bulk/", {"items": rows}, format="json")
    assert response.status_code == 400
    assert list(response.json()["items"]) == ["1"]
    assert "title" in response.json()["items"]["1"]
    assert not Item.objects.exists()


def test_bulk_errors_name_every_bad_row(bob):
    rows = [{"external_id": "B-0"}, {"external_id": "B-1", "title": "ok"}, {"title": "no id"}]
    response = client_for(bob).post("/api/items/bulk/", {"items": rows}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "items": {
            "0": {"title": ["This field is required."]},
            "2": {"external_id": ["This field is required."]},
        }
    }
    assert not Item.objects.exists()


def test_bulk_refuses_an_external_id_already_in_the_catalog_and_writes_nothing(bob):
    ItemFactory(external_id="OLD")
    rows = [{"external_id": "NEW", "title": "a"}, {"external_id": "OLD", "title": "b"}]
    response = client_for(bob).post("/api/items/bulk/", {"items": rows}, format="json")
    assert response.status_code == 400
    assert response.json()["items"]["1"]["external_id"] == [
        ITEM_BULK_ROW.format(index=1, message=ITEM_ALREADY_EXISTS.format(external_id="OLD"))
    ]
    assert list(Item.objects.values_list("external_id", flat=True)) == ["OLD"]


def test_bulk_service_errors_name_the_row_too(bob):
    rows = [{"external_id": "B-0", "title": "a"}, {"external_id": "B-0", "title": "b"}]
    response = client_for(bob).post("/api/items/bulk/", {"items": rows}, format="json")
    assert response.status_code == 400
    message = response.json()["items"]["1"]["external_id"][0]
    assert ITEM_BULK_DUPLICATE_IN_BATCH.format(external_id="B-0", first=0) in message


def test_bulk_refuses_more_than_the_limit_before_reading_any_row(bob):
    rows = [{"external_id": f"B-{n}"} for n in range(1001)]  # no titles: never looked at
    response = client_for(bob).post("/api/items/bulk/", {"items": rows}, format="json")
    assert response.status_code == 400
    message = BULK_TOO_MANY.format(max_length=1000, count=1001)
    assert response.json() == {"items": [message]}
    assert message.startswith("At most 1,000 items per request, this one has 1,001")
    assert not Item.objects.exists()


def test_bulk_accepts_exactly_the_limit(bob):
    rows = [{"external_id": f"B-{n}", "title": "t"} for n in range(1000)]
    response = client_for(bob).post("/api/items/bulk/", {"items": rows}, format="json")
    assert response.status_code == 201
    assert Item.objects.count() == 1000


def test_bulk_refuses_an_empty_list_and_get(bob):
    response = client_for(bob).post("/api/items/bulk/", {"items": []}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()
    assert client_for(bob).get("/api/items/bulk/").status_code == 405
