"""Fault drill: the media disk fills up while items and images arrive.

An upload that does not fit is answered 507 with a message that says where to free space; no
item row is written, no partial file stays, and the rest of the app keeps serving. The first
tests force ENOSPC half-way through a write (any database); the last one fills a real 256 kB
tmpfs mounted as MEDIA_ROOT and skips where mounting is not permitted (not root, a container
without CAP_SYS_ADMIN). None of them needs PostgreSQL, Redis or a worker.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from PIL import Image
from rest_framework.test import APIClient

from labeling.models import Item
from labeling.services.catalog import item_images
from labeling.services.catalog import items as item_svc
from labeling.services.catalog.imports import ImportOptions, catalog_import
from labeling.services.catalog.media_files import MEDIA_DISK_FULL, MediaDiskFull
from labeling.unavailable import ServiceUnavailableMiddleware


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png(side: int = 8, *, seed: int = 0) -> bytes:
    """Random pixels: PNG cannot compress them, so the file is about 3 × side² bytes."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def disk_fills_half_way(monkeypatch) -> None:
    """Every storage write puts half of its bytes on disk, then fails like a full disk."""

    def save(self: FileSystemStorage, name: str, content) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.read()
        path.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(FileSystemStorage, "_save", save)


def post_item(user, external_id: str, image: bytes) -> HttpResponse:
    client = APIClient()
    client.force_login(user)
    upload = SimpleUploadedFile("photo.png", image, content_type="image/png")
    data = {"external_id": external_id, "title": "Cap", "image": upload}
    return client.post("/api/items/", data, format="multipart")


def test_an_upload_on_a_full_disk_is_a_507_that_says_where_to_free_space(
    bob, media, disk_fills_half_way
):
    response = post_item(bob, "SKU-1", png())
    assert response.status_code == 507
    assert response.json() == {"detail": MEDIA_DISK_FULL.format(root=media)}
    assert int(response["Retry-After"]) > 0
    assert not Item.objects.exists()
    assert files_under(media) == []  # the half-written file was removed


def test_the_app_keeps_serving_reads_while_the_disk_is_full(bob, media, disk_fills_half_way):
    item_svc.item_create(external_id="OLD", title="Shirt")
    assert post_item(bob, "SKU-1", png()).status_code == 507
    client = APIClient()
    client.force_login(bob)
    listed = client.get("/api/items/")
    assert listed.status_code == 200 and [i["external_id"] for i in listed.json()["results"]] == [
        "OLD"
    ]
    assert client.get("/health/", {"components": "database"}).status_code == 200
    json_only = client.post("/api/items/", {"external_id": "NEW", "title": "Hat"}, format="json")
    assert json_only.status_code == 201  # an item without an image needs no media space


def test_a_truncated_file_left_by_an_older_crash_is_replaced_not_reused(db, media):
    data = png()
    name = item_images.image_store(data=data, filename_hint="a.png")
    Path(default_storage.path(name)).write_bytes(data[:10])  # a write cut off by a crash
    again = item_images.image_store(data=data, filename_hint="a.png")
    assert again == name and Path(default_storage.path(name)).read_bytes() == data


def test_an_import_reports_image_rows_as_disk_full_and_keeps_the_rest(
    db, media, tmp_path, disk_fills_half_way
):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(png())
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("id,title,picture\nA,Shirt,a.png\nB,Jeans,\n")
    summary = catalog_import(
        path=catalog, options=ImportOptions(image_col="picture", images_root=images)
    )
    assert (summary.created, len(summary.errors)) == (1, 1)
    error = summary.errors[0]
    assert (error.line, error.external_id, error.field) == (2, "A", "picture")
    assert error.reason == MEDIA_DISK_FULL.format(root=media)
    assert list(Item.objects.values_list("external_id", "image")) == [("B", "")]
    assert files_under(media) == []


def test_a_bulk_create_on_a_full_disk_writes_no_item(db, media, disk_fills_half_way):
    rows = [{"external_id": "A", "title": "Shirt"}, {"external_id": "B", "title": "Cap"}]
    rows[1]["image"] = png()
    with pytest.raises(MediaDiskFull):
        item_svc.items_bulk_create(rows=rows)
    assert not Item.objects.exists() and files_under(media) == []


def test_a_raw_disk_full_error_from_another_writer_is_a_507_page_too():
    request = RequestFactory().post("/admin/labeling/item/add/")
    error = OSError(errno.EDQUOT, "Disk quota exceeded")
    response = ServiceUnavailableMiddleware(HttpResponse).process_exception(request, error)
    assert response is not None and response.status_code == 507
    assert b"The media disk is full" in response.content
    assert response["Content-Type"].startswith("text/html")


def test_other_os_errors_are_left_to_the_usual_500():
    request = RequestFactory().get("/")
    middleware = ServiceUnavailableMiddleware(HttpResponse)
    assert middleware.process_exception(request, OSError(errno.EACCES, "denied")) is None


# -- a real full disk: a 256 kB tmpfs as MEDIA_ROOT ----------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path, settings) -> Iterator[Path]:
    mount_point = tmp_path / "tiny-media"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: the real full-disk drill needs a tmpfs")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); run as root")
    settings.MEDIA_ROOT = mount_point
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_real_full_disk_refuses_the_upload_and_frees_its_space(bob, tiny_disk):
    free_before = shutil.disk_usage(tiny_disk).free
    big = png(300, seed=1)  # ~270 kB: more than the whole disk
    assert len(big) > free_before
    response = post_item(bob, "BIG", big)
    assert response.status_code == 507, response.content
    assert str(tiny_disk) in response.json()["detail"]
    assert not Item.objects.exists() and files_under(tiny_disk) == []
    assert shutil.disk_usage(tiny_disk).free == free_before  # nothing of it stayed
    small = post_item(bob, "SMALL", png(20, seed=2))
    assert small.status_code == 201  # what fits is still stored
    item = Item.objects.get(external_id="SMALL")
    assert (tiny_disk / item.image.name).read_bytes() == png(20, seed=2)
