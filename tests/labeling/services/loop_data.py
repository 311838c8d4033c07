"""Synthetic data for the learning loop: fake encoders and items with clustered embeddings.

The vectors of items under one leaf lie around that leaf's centre, so a model trained on
them learns; nothing loads real encoder weights.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from labeling.models import Category, Embedding, Item, TaxonomyVersion
from tests.factories import ItemFactory
from tests.labeling.services.fake_encoders import (
    BROKEN_IMAGE,
    FAKE_ENCODERS,
    IMAGE_DIM,
    IMAGE_KEY,
    TEXT_DIM,
    TEXT_KEY,
    FakeEncoder,
    register_fake_encoders,
    seeded,
)

__all__ = ["BROKEN_IMAGE", "FakeEncoder", "IMAGE_DIM", "IMAGE_KEY", "TEXT_DIM", "TEXT_KEY"]


def leaves_of(version: TaxonomyVersion) -> list[Category]:
    return list(Category.objects.filter(version=version, is_leaf=True).order_by("id"))


def centres(leaves: Iterable[Category], dim: int, salt: str = "") -> dict[int, np.ndarray]:
    return {leaf.pk: 3 * seeded(f"{salt}{leaf.key}", dim) for leaf in leaves}


def clustered_items(
    leaves: list[Category], per_leaf: int, *, seed: int = 0, image_every: int = 2
) -> dict[Item, Category]:
    """``per_leaf`` items per leaf with text (and every ``image_every``-th an image) embedding
    near the leaf's centre, stored as float16 like ``embed_items`` stores them."""
    rng = np.random.default_rng(seed)
    text_c, image_c = centres(leaves, TEXT_DIM), centres(leaves, IMAGE_DIM, "img")
    truth: dict[Item, Category] = {}
    rows = []
    for leaf in leaves:
        for i in range(per_leaf):
            item = ItemFactory(title=f"{leaf.name} {i}")
            truth[item] = leaf
            rows.append(_embedding(item, TEXT_KEY, text_c[leaf.pk] + rng.normal(size=TEXT_DIM)))
            if image_every and i % image_every == 0:
                rows.append(
                    _embedding(item, IMAGE_KEY, image_c[leaf.pk] + rng.normal(size=IMAGE_DIM))
                )
    Embedding.objects.bulk_create(rows)
    return truth


def item_with_text(vector: np.ndarray, title: str = "odd one") -> Item:
    """A new item whose only embedding is the text ``vector`` (stored as float16)."""
    item = ItemFactory(title=title)
    _embedding(item, TEXT_KEY, vector).save()
    return item


def _embedding(item: Item, key: str, vector: np.ndarray) -> Embedding:
    v = vector.astype(np.float16)
    return Embedding(
        item=item,
        encoder_key=key,
        vector=v.tobytes(),
        dtype="float16",
        dim=len(v),
        content_hash="synthetic",
    )


@pytest.fixture
def fake_encoders(settings):
    """Configure the fake encoders in settings.TAXOLOOP; yields (text, image)."""
    settings.TAXOLOOP = {**settings.TAXOLOOP, **FAKE_ENCODERS}
    yield register_fake_encoders()


@pytest.fixture
def fresh_caches():
    """Cached trees and models are per process; start each test without them."""
    from labeling.services.learning import ml

    ml.clear_caches()
    yield
    ml.clear_caches()


# Small models that learn the clustered data in a few tenths of a second.
SMALL_MODEL = {"max_epochs": 20, "bottleneck": 16, "patience": 20, "lr": 2e-2}


@pytest.fixture
def one_torch_thread():
    """Tiny tensors on a shared 2-core machine: one thread is several times faster."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
