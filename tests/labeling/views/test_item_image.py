"""Item images are served behind the login and the role check, never from a public URL."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from labeling.services.catalog.items import item_create
from tests.factories import ItemFactory


@pytest.fixture
def png_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def item(db, png_bytes, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return item_create(external_id="sku-1", title="Green shirt", image=png_bytes)


def test_a_reviewer_gets_the_stored_bytes(client, alice, item, png_bytes):
    client.force_login(alice)
    response = client.get(reverse("labeling:item_image", args=[item.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == png_bytes


def test_anonymous_visitors_are_sent_to_login_and_outsiders_refused(client, charlie, item):
    url = reverse("labeling:item_image", args=[item.pk])
    assert client.get(url).status_code == 302
    client.force_login(charlie)
    assert client.get(url).status_code == 403


def test_an_item_without_an_image_or_unknown_is_404_and_post_is_405(client, alice, item):
    client.force_login(alice)
    bare = ItemFactory()
    assert client.get(reverse("labeling:item_image", args=[bare.pk])).status_code == 404
    assert client.get(reverse("labeling:item_image", args=[999999])).status_code == 404
    assert client.post(reverse("labeling:item_image", args=[item.pk])).status_code == 405
