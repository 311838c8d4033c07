"""The seam between ORM rows and ``classifier`` arrays: trees, features, model artifacts.

Everything that turns categories, embeddings and model files into numpy/torch objects lives
here, so that training (``training.py``) and scoring (``scoring.py``) agree on one node
numbering and one feature layout.

Caches are per process and keyed by more than the primary key: test databases roll back and
reuse ids, so a taxonomy version is identified by (id, created_at) and a model by (id,
artifact name). Both are immutable once written, which is what makes caching them safe.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from classifier.model import HierarchicalClassifier
from classifier.model.serialization import CONFIG, WEIGHTS
from classifier.tree import NO_PARENT, Tree
from labeling.models import Category, Embedding, ModelVersion, TaxonomyVersion
from labeling.services.errors import ServiceError

NO_CATEGORIES = "Taxonomy version {version} has no categories: import a taxonomy first."
CATEGORY_NOT_IN_TREE = "Category #{category} is not part of taxonomy version {version}."
NO_ARTIFACT = "Model version #{pk} has no artifact yet (status {status}); it cannot be loaded."
ARTIFACT_DIRECTORY = "models"
MODEL_CACHE_SIZE = 4
# Ids in the IN list of one embeddings query (capped by the backend: 999 on SQLite).
FEATURE_QUERY_CHUNK = 5000

_tree_cache: dict[tuple[int, str], VersionTree] = {}
_model_cache: OrderedDict[tuple[int, str], HierarchicalClassifier] = OrderedDict()
_lock = threading.Lock()


class MLError(ServiceError):
    pass


@dataclass(frozen=True)
class VersionTree:
    """A taxonomy version as a ``classifier.tree.Tree`` plus the way back to categories.

    ``category_ids[node]`` is the ``Category.id`` of node ``node``; tree keys are the
    categories' stable keys, so a saved model names its nodes independently of row ids.
    """

    tree: Tree
    category_ids: np.ndarray
    version_id: int = 0

    def node_of(self, category_id: int) -> int:
        """Node index of a category of this version (raises MLError for any other id)."""
        index = self._index.get(int(category_id))
        if index is None:
            raise MLError(
                CATEGORY_NOT_IN_TREE.format(category=category_id, version=self.version_id)
            )
        return index

    def nodes_of(self, category_ids: Sequence[int]) -> np.ndarray:
        """``(n,)`` int64 node indices of several categories."""
        return np.array([self.node_of(c) for c in category_ids], dtype=np.int64)

    @property
    def _index(self) -> dict[int, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {int(c): i for i, c in enumerate(self.category_ids)}
            self.__dict__["_index_cache"] = cached
        return cached


def version_tree(version: TaxonomyVersion) -> VersionTree:
    """The category tree of ``version`` (cached: categories never change within a version).

    Nodes are numbered in category id order; deprecated categories stay in the tree because
    old labels may name them and a saved model's tree must match the version's.
    """
    key = (version.pk, version.created_at.isoformat() if version.created_at else "")
    cached = _tree_cache.get(key)
    if cached is not None:
        return cached
    rows = list(
        Category.objects.filter(version=version)
        .order_by("id")
        .values_list("id", "parent_id", "key", "name")
    )
    if not rows:
        raise MLError(NO_CATEGORIES.format(version=version.pk))
    index = {row[0]: i for i, row in enumerate(rows)}
    parents = np.array([index[p] if p is not None else NO_PARENT for _, p, _, _ in rows])
    tree = Tree(keys=tuple(r[2] for r in rows), parents=parents, names=tuple(r[3] for r in rows))
    result = VersionTree(
        tree=tree,
        category_ids=np.array([r[0] for r in rows], dtype=np.int64),
        version_id=version.pk,
    )
    with _lock:
        _tree_cache[key] = result
    return result


def encoder_keys() -> dict[str, str]:
    """``{modality: encoder key}`` of the configured encoders (a blank key turns one off)."""
    configured = {
        "text": settings.TAXOLOOP.get("TEXT_ENCODER", ""),
        "image": settings.TAXOLOOP.get("IMAGE_ENCODER", ""),
    }
    return {m: k for m, k in configured.items() if k}


def item_features(item_ids: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """``{"text": (n, d) float32, "image": (n, d) float32}`` in the order of ``item_ids``.

    A row is NaN where the item has no embedding for that encoder or its encoding failed
    (``Embedding.error``); the classifier treats such a modality as missing.
    """
    ids = np.asarray(list(item_ids), dtype=np.int64)
    position = {int(item_id): row for row, item_id in enumerate(ids)}
    return {
        modality: _modality_features(key, ids, position) for modality, key in encoder_keys().items()
    }


def _modality_features(key: str, ids: np.ndarray, position: dict[int, int]) -> np.ndarray:
    out: np.ndarray | None = None
    chunk = in_list_size(FEATURE_QUERY_CHUNK)
    for start in range(0, len(ids), chunk):
        rows = Embedding.objects.filter(
            encoder_key=key, item_id__in=ids[start : start + chunk].tolist(), vector__isnull=False
        ).values_list("item_id", "vector", "dtype", "dim")
        for item_id, vector, dtype, dim in rows.iterator(chunk_size=2000):
            if out is None:
                out = np.full((len(ids), dim), np.nan, dtype=np.float32)
            out[position[item_id]] = np.frombuffer(bytes(vector), dtype=dtype)
    if out is None:
        out = np.full((len(ids), _encoder_dim(key)), np.nan, dtype=np.float32)
    return out


def in_list_size(wanted: int) -> int:
    """``wanted``, capped at the database's limit on query parameters (999 on SQLite)."""
    return min(wanted, connection.features.max_query_params or wanted)


def _encoder_dim(key: str) -> int:
    """The output size of an encoder without loading its weights (0 when it is unknown)."""
    from classifier.encoders import get_encoder

    try:
        return int(get_encoder(key).dim)
    except KeyError:
        return 0


def save_artifact(model: HierarchicalClassifier, model_version: ModelVersion) -> None:
    """Write the model's files to default storage, then point ``model_version.artifact`` at them.

    The weights go first and the config last, and the row is saved only after both exist, so
    a row never names a half-written artifact. Each save gets a fresh folder: storage names
    are never reused, so a cached model can never be a stale copy of another one.
    """
    folder = f"{ARTIFACT_DIRECTORY}/{model_version.taxonomy_version_id}/{model_version.pk}-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="taxoloop-model-") as tmp:
        model.save(tmp)
        default_storage.save(f"{folder}/{WEIGHTS}", ContentFile((Path(tmp) / WEIGHTS).read_bytes()))
        config_name = default_storage.save(
            f"{folder}/{CONFIG}", ContentFile((Path(tmp) / CONFIG).read_bytes())
        )
    model_version.artifact.name = config_name
    model_version.save(update_fields=["artifact"])


def load_model(model_version: ModelVersion) -> HierarchicalClassifier:
    """The fitted classifier of ``model_version`` (cached in-process, a few models at most)."""
    name = model_version.artifact.name if model_version.artifact else ""
    if not name:
        raise MLError(NO_ARTIFACT.format(pk=model_version.pk, status=model_version.status))
    key = (model_version.pk, name)
    with _lock:
        if key in _model_cache:
            _model_cache.move_to_end(key)
            return _model_cache[key]
    model = _read_artifact(name)
    with _lock:
        _model_cache[key] = model
        while len(_model_cache) > MODEL_CACHE_SIZE:
            _model_cache.popitem(last=False)
    return model


def _read_artifact(config_name: str) -> HierarchicalClassifier:
    folder = config_name.rsplit("/", 1)[0]
    with tempfile.TemporaryDirectory(prefix="taxoloop-model-") as tmp:
        for filename in (CONFIG, WEIGHTS):
            with default_storage.open(f"{folder}/{filename}", "rb") as source:
                (Path(tmp) / filename).write_bytes(source.read())
        return HierarchicalClassifier.load(tmp)


def active_model_version(version: TaxonomyVersion) -> ModelVersion | None:
    """The one active model of ``version``, or None before the first promotion."""
    return ModelVersion.objects.filter(
        taxonomy_version=version, status=ModelVersion.Status.ACTIVE
    ).first()


def clear_caches() -> None:
    """Forget cached trees and models (tests; a long-lived process never needs it)."""
    with _lock:
        _tree_cache.clear()
        _model_cache.clear()
