"""Features for the simulator: cached embeddings, labels as node indices, the train/test split.

Embeddings are cached per encoder in a content-addressed store: every input (a composed
text, or an image path with its size and modification time) is hashed, and its vector is
kept under that hash. A re-run, a different ``--max-items`` subsample or another file
that shares items encodes only what is new.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np

from classifier.datasets import LabelledData
from classifier.tree import Tree

Progress = Callable[[int, int], None]
HASH_BYTES = 20


class EmbeddingStore:
    """Vectors of one encoder on disk: ``<dir>/<key>.hashes.npy`` (``(n, 20)`` uint8) and
    ``<dir>/<key>.vectors.npy`` (``(n, dim)`` float32), keyed by a hash of each input."""

    def __init__(self, directory: str | Path, encoder_key: str) -> None:
        self.directory = Path(directory)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder_key)
        self._hashes_file = self.directory / f"{safe}.hashes.npy"
        self._vectors_file = self.directory / f"{safe}.vectors.npy"

    def lookup(self, keys: Sequence[bytes]) -> tuple[np.ndarray | None, np.ndarray]:
        """Vectors ``(n, dim)`` for ``keys`` (rows of missing keys are NaN, or ``None`` when the
        store is empty) and the ``(n,)`` bool mask of keys found."""
        if not self._hashes_file.exists():
            return None, np.zeros(len(keys), dtype=bool)
        hashes = np.load(self._hashes_file)
        vectors = np.load(self._vectors_file, mmap_mode="r")
        where = {h.tobytes(): i for i, h in enumerate(hashes)}
        rows = np.array([where.get(k, -1) for k in keys], dtype=np.int64)
        found = rows >= 0
        out = np.full((len(keys), vectors.shape[1]), np.nan, dtype=np.float32)
        out[found] = vectors[rows[found]]
        return out, found

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Append ``(len(keys), dim)`` vectors; written to temporary files then renamed so a
        reader never sees half a store."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # uint8 rows, not numpy bytes strings: those drop trailing NUL bytes of a digest.
        new_hashes = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), HASH_BYTES)
        new_vectors = np.asarray(vectors, dtype=np.float32)
        if self._hashes_file.exists():
            new_hashes = np.concatenate([np.load(self._hashes_file), new_hashes])
            new_vectors = np.concatenate([np.load(self._vectors_file), new_vectors])
        for target, array in ((self._vectors_file, new_vectors), (self._hashes_file, new_hashes)):
            tmp = target.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, array)
            os.replace(tmp, target)


def input_key(value: str) -> bytes:
    """20-byte hash of one encoder input (text, or an image path with size and mtime)."""
    return hashlib.sha1(value.encode("utf-8")).digest()


def image_key(path: str) -> str:
    try:
        stat = os.stat(path)
    except OSError:
        return f"missing:{path}"
    return f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}"


def cached_encode(
    inputs: Sequence[str],
    keys: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    store: EmbeddingStore,
    chunk: int = 2048,
) -> np.ndarray:
    """``(n, dim)`` float32 vectors of ``inputs``, encoding only those whose key is not stored.

    New vectors are stored every ``chunk`` inputs, so an interrupted run keeps its progress.
    """
    hashed = [input_key(k) for k in keys]
    _, found = store.lookup(hashed)
    # Duplicated inputs (identical titles are common in catalogs) are encoded once.
    todo: dict[bytes, int] = {}
    for i in np.flatnonzero(~found):
        todo.setdefault(hashed[i], int(i))
    pending = list(todo.items())
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        store.add([h for h, _ in part], encode([inputs[i] for _, i in part]))
    out, found = store.lookup(hashed)
    assert out is not None and found.all()
    return out


def encode_with_progress(encoder: object, label: str) -> Callable[[list[str]], np.ndarray]:
    """Wrap ``encoder.encode`` with a tqdm bar on stderr."""
    from tqdm import tqdm

    def run(values: list[str]) -> np.ndarray:
        with tqdm(total=len(values), desc=f"embed {label}", unit="item", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.update(done - bar.n)

            vectors = encoder.encode(values, progress=progress)  # type: ignore[attr-defined]
        return np.asarray(vectors, dtype=np.float32)

    return run


def image_features(
    images: Sequence[str | None], encode: Callable[[list[str]], np.ndarray], store: EmbeddingStore
) -> np.ndarray:
    """``(n, dim)`` vectors; items without an image (``None``) get a row of NaN."""
    present = [i for i, p in enumerate(images) if p]
    if not present:
        raise ValueError("no item has an image: check --image-col and --images-root")
    paths = [str(images[i]) for i in present]
    vectors = cached_encode(paths, [image_key(p) for p in paths], encode, store)
    out = np.full((len(images), vectors.shape[1]), np.nan, dtype=np.float32)
    out[present] = vectors
    return out


# -- labels -------------------------------------------------------------------------------


def filter_small_classes(data: LabelledData, min_class_size: int) -> tuple[LabelledData, int]:
    """Keep items whose category path has at least ``min_class_size`` items, and drop items
    labelled with a path that is a proper prefix of another (an inner node: it has no leaf
    column to score against). Returns the kept data and the number of classes kept."""
    counts = Counter(data.paths)
    kept = {p for p, c in counts.items() if c >= min_class_size}
    prefixes = {p[:d] for p in kept for d in range(1, len(p))}
    keep = [i for i, p in enumerate(data.paths) if p in kept and p not in prefixes]
    return data.subset(keep), len(kept - prefixes)


def node_labels(tree: Tree, paths: Sequence[tuple[str, ...]], sep: str) -> np.ndarray:
    """``(n,)`` int node index of each category path."""
    return np.array([tree.index_of(sep.join(p)) for p in paths], dtype=np.int64)


# -- split --------------------------------------------------------------------------------


def split_indices(
    labels: np.ndarray,
    *,
    test_size: float,
    seed: int,
    groups: Sequence[Hashable] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test split of ``(n,)`` labels; returns sorted (train, test) indices.

    With ``groups`` (``classifier.splits.duplicate_groups``: identical normalised titles or
    embeddings) every group lands wholly on one side, so an identical title cannot be both
    trained on and tested on. Groups are taken in random
    order and sent to the test side while their (majority) class is short of its quota.
    """
    rng = np.random.default_rng(seed)
    n = len(labels)
    group_ids = list(range(n)) if groups is None else list(groups)
    members: dict[object, list[int]] = defaultdict(list)
    for i, g in enumerate(group_ids):
        members[g].append(i)
    totals = Counter(labels.tolist())
    quota = {c: int(round(test_size * t)) if t > 1 else 0 for c, t in totals.items()}
    taken: Counter[int] = Counter()
    test: list[int] = []
    order = list(members.values())
    for k in rng.permutation(len(order)):
        group = order[k]
        label = Counter(labels[group].tolist()).most_common(1)[0][0]
        # A little overshoot lets a big group in; without it large title groups never test.
        slack = max(1, quota[label] // 4)
        if taken[label] < quota[label] and taken[label] + len(group) <= quota[label] + slack:
            taken[label] += len(group)
            test.extend(group)
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
