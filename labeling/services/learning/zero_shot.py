"""Category names as vectors: the zero-shot part of the cold-start and trained models.

Each leaf is embedded with the configured text encoder from its name and from each synonym
(the unit mean of those vectors), so the first queue is useful before anyone has labelled.
Cached per taxonomy version in the process: categories never change within a version.
"""

from __future__ import annotations

import threading

import numpy as np
from django.conf import settings

from classifier.encoders import get_encoder
from labeling.models import Category
from labeling.services.errors import ServiceError
from labeling.services.learning.ml import VersionTree

NO_TEXT_ENCODER = "No text encoder is configured (TAXOLOOP TEXT_ENCODER): zero-shot needs one."
NAME_NOT_ENCODED = "The category name {name!r} could not be encoded: {reason}"

# id(VersionTree) -> (that tree, encoder key, vectors); the tree is kept to check identity.
_cache: dict[int, tuple[VersionTree, str, np.ndarray]] = {}
_lock = threading.Lock()


class ZeroShotError(ServiceError):
    pass


def leaf_texts(vt: VersionTree) -> list[list[str]]:
    """Per leaf (in ``vt.tree.leaves`` order) the strings that describe it: name, synonyms."""
    leaf_ids = [int(vt.category_ids[node]) for node in vt.tree.leaves]
    synonyms = dict(Category.objects.filter(pk__in=leaf_ids).values_list("pk", "synonyms"))
    texts = []
    for node, pk in zip(vt.tree.leaves, leaf_ids, strict=True):
        extra = [s.strip() for s in synonyms.get(pk) or [] if isinstance(s, str) and s.strip()]
        texts.append([vt.tree.names[node], *extra])
    return texts


def leaf_name_embeddings(vt: VersionTree) -> np.ndarray:
    """``(n_leaves, d_text)`` float32 unit vectors of the leaves' names and synonyms."""
    key = settings.TAXOLOOP.get("TEXT_ENCODER", "")
    if not key:
        raise ZeroShotError(NO_TEXT_ENCODER)
    with _lock:
        hit = _cache.get(id(vt))
        if hit is not None and hit[0] is vt and hit[1] == key:
            return hit[2]
    texts = leaf_texts(vt)
    flat = [t for group in texts for t in group]
    encoder = get_encoder(key)
    vectors = encoder.encode(flat)
    if encoder.last_errors_:
        row, reason = next(iter(encoder.last_errors_.items()))
        raise ZeroShotError(NAME_NOT_ENCODED.format(name=flat[row], reason=reason))
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    owners = np.repeat(np.arange(len(texts)), [len(g) for g in texts])
    sums = np.zeros((len(texts), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, unit)
    out = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    with _lock:
        _cache[id(vt)] = (vt, key, out)
    return out
