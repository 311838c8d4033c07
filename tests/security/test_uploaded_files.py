"""Uploaded files are never served as HTML: the type comes from the bytes, not the name."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from labeling.services.catalog.items import item_create
from tests.factories import ItemFactory

HTML = b"<!doctype html><script>alert(document.cookie)</script>"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


def get(client, user, item):
    client.force_login(user)
    return client.get(f"/items/{item.pk}/image/")


def item_with_file(name: str, data: bytes):
    """An item whose image was stored as-is, as the Django admin's file field would do."""
    return ItemFactory(image=default_storage.save(name, ContentFile(data)))


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_a_validated_image_is_sent_inline_with_its_type_and_a_sandbox(
    client, alice, fmt, content_type
):
    item = item_create(external_id="sku", title="Shirt", image=image_bytes(fmt))
    response = get(client, alice, item)
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize("name", ["items/evil.html", "items/evil.svg", "items/evil.png"])
def test_a_stored_html_file_is_an_octet_stream_attachment_whatever_its_name(client, alice, name):
    response = get(client, alice, item_with_file(name, HTML))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == HTML  # the bytes, untouched


def test_the_download_name_comes_from_the_item_not_the_stored_name(client, alice):
    item = item_with_file('items/a";b.html', HTML)
    disposition = get(client, alice, item)["Content-Disposition"]
    assert f'filename="item-{item.pk}.bin"' in disposition


def test_the_django_admin_cannot_upload_an_unvalidated_image(client, django_user_model, tmp_path):
    """The admin's item form shows the image but has no file field: an upload posted to it
    anyway (here HTML posing as a PNG) is ignored and nothing reaches the media folder."""
    staff = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345678")
    item = ItemFactory(title="Shirt")
    client.force_login(staff)
    page = client.get(f"/admin/labeling/item/{item.pk}/change/")
    assert page.status_code == 200
    assert b'type="file"' not in page.content
    form = {"external_id": item.external_id, "title": "Shirt, renamed", "source": item.source}
    form.update({"description": "", "attributes": "{}", "image": ContentFile(HTML, "evil.png")})
    response = client.post(f"/admin/labeling/item/{item.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    item.refresh_from_db()
    assert (item.title, item.image.name) == ("Shirt, renamed", "")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
