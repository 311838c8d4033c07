"""labeling.services.catalog.embeddings: encode what is new or changed, record broken images."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from classifier.encoders import compose_text, get_encoder
from labeling.models import Embedding, Item
from labeling.services.catalog import embeddings as svc
from labeling.services.learning.ml import item_features
from tests.factories import ItemFactory
from tests.labeling.services.loop_data import (
    BROKEN_IMAGE,
    IMAGE_DIM,
    IMAGE_KEY,
    TEXT_DIM,
    TEXT_KEY,
    fake_encoders,  # noqa: F401
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_encoders")]


def _encoders():
    """The fake encoders the fixture registered (the registry caches one instance per key)."""
    return get_encoder(TEXT_KEY), get_encoder(IMAGE_KEY)


def _image(name: str, data: bytes) -> str:
    return default_storage.save(f"items/test/{name}", ContentFile(data))


def test_it_encodes_every_item_once_per_encoder_and_stores_float16():
    text_encoder, _ = _encoders()
    item = ItemFactory(title="Shirts blue", description="soft", attributes={"colour": "Blue"})
    ItemFactory(title="Jeans")
    report = svc.embed_items()
    assert (report.encoders[TEXT_KEY].encoded, report.encoders[IMAGE_KEY].encoded) == (2, 0)
    row = Embedding.objects.get(item=item, encoder_key=TEXT_KEY)
    expected_text = "Shirts blue. colour: Blue. soft"
    assert text_encoder.encoded[0] == expected_text
    assert row.content_hash == hashlib.sha256(expected_text.encode()).hexdigest()
    assert (row.dtype, row.dim, row.error) == ("float16", TEXT_DIM, "")
    stored = np.frombuffer(row.vector, np.float16)
    direct = text_encoder._vector(expected_text).astype(np.float16)
    np.testing.assert_array_equal(stored, direct)


def test_a_second_run_encodes_nothing():
    text_encoder, _ = _encoders()
    ItemFactory.create_batch(3)
    svc.embed_items()
    text_encoder.encoded.clear()
    report = svc.embed_items()
    assert report.encoded == 0 and report.encoders[TEXT_KEY].unchanged == 3
    assert text_encoder.encoded == []


def test_changed_content_is_encoded_again_and_replaces_the_vector():
    text_encoder, _ = _encoders()
    item, other = ItemFactory(title="Shirts one"), ItemFactory(title="Jeans two")
    svc.embed_items()
    before = Embedding.objects.get(item=item, encoder_key=TEXT_KEY).vector
    Item.objects.filter(pk=item.pk).update(title="Sneakers one")
    text_encoder.encoded.clear()
    report = svc.embed_items()
    assert text_encoder.encoded == ["Sneakers one"]
    assert report.encoders[TEXT_KEY].unchanged == 1  # `other`
    assert Embedding.objects.filter(item=item).count() == 1
    assert bytes(Embedding.objects.get(item=item, encoder_key=TEXT_KEY).vector) != bytes(before)
    assert (
        Embedding.objects.get(item=other, encoder_key=TEXT_KEY).content_hash
        == hashlib.sha256(compose_text(title="Jeans two").encode()).hexdigest()
    )


def test_images_are_encoded_from_storage_and_broken_ones_recorded():
    _, image_encoder = _encoders()
    good = ItemFactory(image=_image("good.jpg", b"jpeg bytes of a shoe"))
    broken = ItemFactory(image=_image("broken.jpg", BROKEN_IMAGE))
    missing = ItemFactory(image="items/test/never-saved.jpg")
    report = svc.embed_items()
    assert (report.encoders[IMAGE_KEY].encoded, report.encoders[IMAGE_KEY].failed) == (1, 2)
    assert image_encoder.encoded == [b"jpeg bytes of a shoe"]
    assert Embedding.objects.get(item=good, encoder_key=IMAGE_KEY).dim == IMAGE_DIM
    failed = Embedding.objects.get(item=broken, encoder_key=IMAGE_KEY)
    assert (failed.vector, failed.error) == (None, "cannot identify image file")
    gone = Embedding.objects.get(item=missing, encoder_key=IMAGE_KEY)
    assert gone.error == svc.IMAGE_MISSING.format(name="items/test/never-saved.jpg")
    # The items go on text-only: a text vector, a NaN image row.
    feats = item_features([broken.pk, missing.pk])
    assert np.isfinite(feats["text"]).all() and np.isnan(feats["image"]).all()


def test_a_broken_image_is_not_retried_until_it_changes():
    _, image_encoder = _encoders()
    item = ItemFactory(image=_image("bad.jpg", BROKEN_IMAGE))
    svc.embed_items()
    assert svc.embed_items().encoders[IMAGE_KEY].unchanged == 1
    Item.objects.filter(pk=item.pk).update(image=_image("fixed.jpg", b"a real picture"))
    svc.embed_items()
    row = Embedding.objects.get(item=item, encoder_key=IMAGE_KEY)
    assert (row.error, row.dim) == ("", IMAGE_DIM)
    assert image_encoder.encoded == [b"a real picture"]


def test_items_without_an_image_get_no_image_row(db):
    ItemFactory()
    svc.embed_items()
    assert list(Embedding.objects.values_list("encoder_key", flat=True)) == [TEXT_KEY]


def test_it_works_in_chunks_and_reports_progress(db):
    ItemFactory.create_batch(5)
    ItemFactory(image=_image("a.jpg", b"img a"))
    calls: list[tuple[int, int]] = []
    svc.embed_items(chunk_size=2, progress=lambda done, total: calls.append((done, total)))
    # 6 texts in chunks of 2, then 1 image.
    assert calls == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7)]


def test_it_can_be_limited_to_some_items_and_encoders():
    text_encoder, _ = _encoders()
    first, _second = ItemFactory(title="A first"), ItemFactory(title="B second")
    report = svc.embed_items(item_ids=[first.pk], keys=[TEXT_KEY])
    assert list(report.encoders) == [TEXT_KEY]
    assert text_encoder.encoded == ["A first"]


def test_an_unknown_encoder_key_names_the_known_ones(db):
    with pytest.raises(svc.EmbeddingError) as err:
        svc.embed_items(keys=["nope"])
    assert str(err.value).startswith("Unknown encoder 'nope': unknown encoder key 'nope'; known")
    assert TEXT_KEY in str(err.value)


def test_the_report_reads_as_lines(db):
    ItemFactory()
    assert svc.embed_items().lines() == [
        f"{TEXT_KEY}: 1 encoded, 0 failed, 0 unchanged",
        f"{IMAGE_KEY}: 0 encoded, 0 failed, 0 unchanged",
    ]


def test_the_report_names_the_items_that_got_a_new_vector():
    old = ItemFactory(title="Shirts old")
    svc.embed_items()
    changed, new = ItemFactory(title="Jeans new"), ItemFactory(title="Watches new")
    Item.objects.filter(pk=old.pk).update(title="Shirts old, relabelled")
    broken_only = ItemFactory(title="Sandals", image=_image("b.jpg", BROKEN_IMAGE))
    Embedding.objects.create(
        item=broken_only,
        encoder_key=TEXT_KEY,
        vector=None,
        dim=0,
        error="x",
        content_hash=svc.input_hash(
            "text", {"title": "Sandals", "description": "", "attributes": {}}
        ),
    )  # its text is up to date (a failure kept), and its image fails: nothing new to score
    report = svc.embed_items()
    assert report.encoded_item_ids == {old.pk, changed.pk, new.pk}
    assert svc.embed_items().encoded_item_ids == set()
