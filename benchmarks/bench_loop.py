"""The learning loop on PostgreSQL: train on 10,000 labels, rescore 100,000 items, rebuild the queue.

    python benchmarks/bench_loop.py [--items 100000] [--labels 10000] [--image-share 1.0] [--keep-db]
                                    [--skip-latency]

Builds a throwaway database (``taxoloop_bench_loop``: created, migrated, dropped at the end)
with a 3-level taxonomy of 7 x 5 x 4 = 140 leaves, ``--items`` items with synthetic cached
embeddings inserted directly (float16 bytes, 384-d text for every item, 1280-d image for
``--image-share`` of them; vectors clustered per leaf so the model has something to learn)
and ``--labels`` labels. Then times, as the loop runs them after enough new labels:

1. ``training_run`` (L1's service: gather labels, fit the committee, calibrate, evaluate,
   promote),
2. ``rescore`` of every item with the promoted model,
3. ``rebuild_queue`` (``QUEUE_SIZE`` entries by quota).

Target: the three together under 90 s on 2 cores. Prints each stage, where the rescore's
time goes (reading embeddings, the model, writing predictions) and a projection to
1,000,000 items. Skips with a message when PostgreSQL is not reachable.

Then (unless ``--skip-latency``) the label-to-active-model latency with default settings:
a real ``celery worker -B`` on Redis (``BENCH_REDIS_URL``), one label saved at t0, polled
until an active model trained on it exists (target < 300 s; see _loop_latency.py).

Environment: ``BENCH_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/taxoloop_bench_loop;
the database is dropped first).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._loop_latency import latency_measure  # noqa: E402
from benchmarks._pg import bench_env, django_setup, scratch_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_loop"
TARGET_SECONDS = 90.0
PROJECT_TO = 1_000_000
TEXT_DIM, IMAGE_DIM = 384, 1280
SHAPE = (7, 5, 4)  # children per level: 7 top-level, 35 inner, 140 leaves
INSERT_CHUNK = 10_000


def taxonomy_create() -> Any:
    from labeling.models import TaxonomyVersion
    from labeling.services.taxonomy.imports import taxonomy_import_text

    a, b, c = SHAPE
    paths = [
        f"Dept {i} > Group {i}.{j} > Kind {i}.{j}.{k}"
        for i in range(a)
        for j in range(b)
        for k in range(c)
    ]
    taxonomy_import_text(text="\n".join(paths), name="Bench", fmt="paths", publish=True)
    return TaxonomyVersion.objects.get(is_current=True)


def catalog_create(
    version: Any, n_items: int, image_share: float, seed: int
) -> tuple[list[int], Any]:
    """Items and their embeddings (COPY); returns item ids and each item's true leaf id."""
    import numpy as np

    from labeling.models import Category, Item
    from labeling.services.learning.ml import encoder_keys
    from labeling.services.review.labels import rows_insert

    rng = np.random.default_rng(seed)
    leaves = np.array(
        Category.objects.filter(version=version, is_leaf=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    # Siblings share most of their centre: some items sit near a boundary, like real data.
    text_c = _centres(version, TEXT_DIM, rng)
    image_c = _centres(version, IMAGE_DIM, rng)
    truth = leaves[rng.integers(0, len(leaves), n_items)]
    keys = encoder_keys()
    for start in range(0, n_items, INSERT_CHUNK):
        stop = min(start + INSERT_CHUNK, n_items)
        rows_insert(objects=[_item(i) for i in range(start, stop)])
    ids = list(Item.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, n_items, INSERT_CHUNK):
        block = range(start, min(start + INSERT_CHUNK, n_items))
        rows = []
        for i in block:
            t = text_c[truth[i]] + rng.normal(scale=1.0, size=TEXT_DIM)
            rows.append(_embedding(ids[i], keys["text"], t))
            if rng.random() < image_share:
                v = image_c[truth[i]] + rng.normal(scale=1.5, size=IMAGE_DIM)
                rows.append(_embedding(ids[i], keys["image"], v))
        rows_insert(objects=rows)
    return ids, truth


def _centres(version: Any, dim: int, rng: Any) -> dict[int, Any]:
    from labeling.models import Category

    cats = list(Category.objects.filter(version=version).order_by("depth", "id"))
    centre: dict[int, Any] = {}
    for cat in cats:
        base = centre[cat.parent_id] if cat.parent_id else 0.0
        centre[cat.pk] = base + rng.normal(scale=1.0, size=dim)
    return centre


def _item(i: int) -> Any:
    from labeling.models import Item

    ext = f"BENCH-{i:07d}"
    return Item(
        external_id=ext,
        title=f"Synthetic product {i}",
        content_hash=hashlib.sha256(ext.encode()).hexdigest(),
        source="bench",
    )


def _embedding(item_id: int, key: str, vector: Any) -> Any:
    import numpy as np

    from labeling.models import Embedding

    v = vector.astype(np.float16)
    return Embedding(
        item_id=item_id,
        encoder_key=key,
        vector=v.tobytes(),
        dtype="float16",
        dim=len(v),
        content_hash="synthetic",
    )


def labels_create(version: Any, ids: list[int], truth: Any, n_labels: int, seed: int) -> None:
    import numpy as np
    from django.db import transaction

    from labeling.models import Category, Item
    from labeling.services.review.labels import label_bulk_create

    rng = np.random.default_rng(seed + 1)
    chosen = rng.choice(len(ids), size=n_labels, replace=False)
    cats = Category.objects.in_bulk([int(truth[i]) for i in chosen])
    items = Item.objects.in_bulk([ids[i] for i in chosen])
    pairs = [(items[ids[i]], cats[int(truth[i])]) for i in chosen]
    for start in range(0, len(pairs), 5000):
        with transaction.atomic():
            label_bulk_create(
                pairs=pairs[start : start + 5000], author=None, source="import", version=version
            )


class Meter:
    """Wall time spent inside a few functions, by name (to say what dominates)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t0

        setattr(owner, name, timed)


@contextmanager
def stage(name: str, results: dict[str, float]) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    results[name] = time.perf_counter() - t0
    print(f"  {name:<14} {results[name]:7.1f} s", flush=True)


def loop_run(version: Any, n_items: int) -> dict[str, float]:
    from labeling.models import Prediction, TrainingRun
    from labeling.services.learning import prediction_writes, scoring
    from labeling.services.learning.ml import active_model_version
    from labeling.services.learning.training import training_request, training_run
    from labeling.services.review import queue_build, queue_candidates

    meter = Meter()
    meter.wrap(scoring.ml, "item_features", "read embeddings")
    meter.wrap(prediction_writes, "upsert_chunk", "write predictions")
    results: dict[str, float] = {}
    print("timed stages:")
    with stage("train", results):
        # The labels may already have queued a run (N new labels): take that one over.
        run = training_request(version, trigger="manual", enqueue=False) or (
            TrainingRun.objects.get(taxonomy_version=version, status=TrainingRun.Status.QUEUED)
        )
        run = training_run(run.pk)
    model = active_model_version(version)
    if model is None:
        raise SystemExit(
            f"training did not promote a model: {run.status} {run.outcome} {run.error}"
        )
    with stage("rescore", results):
        written = scoring.rescore(model)
    rescore_parts = dict(meter.seconds)
    meter.seconds.clear()
    meter.wrap(queue_candidates, "load_pool", "read predictions")
    meter.wrap(queue_candidates, "boundary_margins", "boundary margins")
    with stage("rebuild_queue", results):
        counts = queue_build.rebuild_queue(version)
    # The per-item part; the shortlist's embeddings and diversity are bounded by QUEUE_SIZE.
    linear = meter.seconds["read predictions"] + meter.seconds["boundary margins"]
    print(f"rebuild_queue: per-item part {linear:.1f} s ({dict(meter.seconds)}), rest fixed")
    report(results, rescore_parts, run, counts, written, n_items, linear)
    assert Prediction.objects.filter(model_version=model).count() == written
    return results


def report(
    results: dict[str, float],
    parts: dict[str, float],
    run: Any,
    counts: dict,
    written: int,
    n: int,
    queue_linear: float,
) -> None:
    total = sum(results.values())
    verdict = "OK" if total < TARGET_SECONDS else "OVER TARGET"
    print(f"  {'total':<14} {total:7.1f} s   (target < {TARGET_SECONDS:.0f} s: {verdict})")
    print(f"training run: {run.status}, {run.outcome}; timings {run.timings}")
    print(f"model: {written} predictions; queue: {counts}")
    model_s = results["rescore"] - sum(parts.values())
    print(
        "rescore breakdown: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
        + f", model + rest {model_s:.1f} s ({n / results['rescore']:,.0f} items/s)"
    )
    scale = PROJECT_TO / n
    projected = {
        "train": results["train"],  # the same 10,000 labels: independent of the catalog size
        "rescore": results["rescore"] * scale,
        "rebuild_queue": results["rebuild_queue"]
        * scale,  # upper bound: the shortlist part is fixed
    }
    print(f"projection to {PROJECT_TO:,} items (linear in items, same labels):")
    for name, seconds in projected.items():
        print(f"  {name:<14} {seconds:7.0f} s")
    print(f"  {'total':<14} {sum(projected.values()):7.0f} s")
    biggest = max(parts, key=lambda name: parts[name]) if parts else "the model"
    print(
        f"dominant: rescore ({projected['rescore']:.0f} s), within it {biggest}; "
        "rescore chunks are independent, so more Celery workers split it (one id range each)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--image-share", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--skip-latency", action="store_true", help="no worker -B label-to-model latency (~4 min)"
    )
    args = parser.parse_args(argv)
    with scratch_database(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0
        with tempfile.TemporaryDirectory(prefix="taxoloop-bench-loop-") as scratch:
            env = bench_env(url, Path(scratch))
            # An in-memory broker here, so the promotion's rescore task is a no-op; the latency
            # part's worker gets Redis (and nothing here sends it anything).
            django_setup({**env, "CELERY_BROKER_URL": "memory://"})
            t0 = time.perf_counter()
            version = taxonomy_create()
            ids, truth = catalog_create(version, args.items, args.image_share, args.seed)
            labels_create(version, ids, truth, args.labels, args.seed)
            print(
                f"setup (not timed): {args.items:,} items, {args.labels:,} labels, "
                f"image share {args.image_share:.0%}, in {time.perf_counter() - t0:.0f} s"
            )
            loop_run(version, args.items)
            if not args.skip_latency:
                latency_measure(env, ROOT, Path(scratch), version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
