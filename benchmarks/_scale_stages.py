"""The stages ``bench_scale.py`` times at one catalog size, each on the real service path.

Runs inside a process that has Django set up on a scratch PostgreSQL database (see
``benchmarks._pg.in_process_django``) with the Google Product Taxonomy as the current version.
Set-up that is not a product step (writing the synthetic CSV) is timed apart and reported as
set-up, never mixed into a stage.
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._scale_memory import StageResult, measured  # noqa: E402
from benchmarks.bench_loop import TEXT_DIM, _centres, labels_create  # noqa: E402
from benchmarks.bench_reports import timed  # noqa: E402

EMBED_CHUNK = 50_000
COLOURS = ("red", "blue", "green", "black", "white", "grey", "navy", "beige")
BRANDS = tuple(f"Brand {i}" for i in range(200))
# What the review card carries (the same patterns as locust_review.py, which imports Locust).
ITEM_RE = re.compile(r'data-item="(\d+)"')
SHOWN_RE = re.compile(r'name="shown" value="([^"]+)"')
TOP_RE = re.compile(r'name="category" value="(\d+)" class="candidate top"')


def leaves_of(version: Any) -> tuple[np.ndarray, list[str]]:
    """Leaf ids (ascending) and their names: the truth every synthetic item is drawn from."""
    from labeling.models import Category

    rows = list(
        Category.objects.filter(version=version, is_leaf=True)
        .order_by("id")
        .values_list("id", "name")
    )
    return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]


def catalog_csv_write(path: Path, truth: np.ndarray, names: dict[int, str]) -> None:
    """A catalog file as a merchant sends it: id, title, description and two attributes.

    Titles carry the true leaf's name, so the text looks like a product of that category.
    """
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "description", "brand", "colour"])
        for i, leaf in enumerate(truth):
            name = names[int(leaf)]
            writer.writerow(
                [
                    f"SCALE-{i:07d}",
                    f"{BRANDS[i % len(BRANDS)]} {name} model {i}",
                    f"A {COLOURS[i % len(COLOURS)]} {name.lower()} for everyday use.",
                    BRANDS[i % len(BRANDS)],
                    COLOURS[i % len(COLOURS)],
                ]
            )


def stage_import(path: Path, scratch: Path, n: int) -> StageResult:
    """The catalog import as ``manage.py import_catalog`` runs it (chunks of 1,000, COPY)."""
    from labeling.models import Item
    from labeling.services.catalog.imports import ImportOptions, catalog_import

    options = ImportOptions(
        title_col="title",
        description_col="description",
        attribute_cols=("brand", "colour"),
        progress=False,
        errors_file=scratch / "scale.errors.csv",
    )
    with measured("import") as result:
        summary = catalog_import(path=path, options=options)
    if summary.created != n or summary.errors:
        raise SystemExit(f"import wrote {summary.created:,} of {n:,} items: {summary.report()}")
    assert Item.objects.count() == n
    result.details = {"rows_per_s": round(summary.rows_per_second)}
    return result


def item_ids() -> np.ndarray:
    """Item ids in import order (COPY keeps the file's order, ids are a sequence)."""
    from labeling.models import Item

    return np.fromiter(
        Item.objects.order_by("id").values_list("id", flat=True).iterator(chunk_size=50_000),
        dtype=np.int64,
    )


def stage_embeddings(version: Any, ids: np.ndarray, truth: np.ndarray, seed: int) -> StageResult:
    """Synthetic 384-d float16 text embeddings, clustered per leaf the way bench_loop makes
    them (a node's centre is its parent's plus noise, so siblings overlap), written by COPY.

    This stands in for the text encoder: the real encoder's time (minutes per 100k items on
    a CPU) belongs to bench_encoders.py, not to this table.
    """
    from django.db import connection, transaction

    from labeling.services.learning.ml import encoder_keys

    rng = np.random.default_rng(seed)
    key = encoder_keys()["text"]
    with measured("embeddings (synthetic)") as result:
        centres = _centres(version, TEXT_DIM, rng)
        by_leaf = {leaf: np.asarray(vector, dtype=np.float32) for leaf, vector in centres.items()}
        sql = (
            "COPY labeling_embedding (item_id, encoder_key, vector, dtype, dim, content_hash,"
            " error, created_at) FROM STDIN"
        )
        for start in range(0, len(ids), EMBED_CHUNK):
            block = slice(start, start + EMBED_CHUNK)
            centre = np.stack([by_leaf[int(leaf)] for leaf in truth[block]])
            vectors = (centre + rng.normal(scale=1.0, size=centre.shape)).astype(np.float16)
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy(sql) as copy,
            ):
                for item_id, vector in zip(ids[block].tolist(), vectors, strict=True):
                    row = (item_id, key, vector.tobytes(), "float16", TEXT_DIM, "synthetic")
                    copy.write_row((*row, "", "now"))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE labeling_embedding")
    return result


def label_rows(n_items: int, n_labels: int, first: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Which item rows get a label: ``first`` of them before training, the rest after."""
    chosen = np.random.default_rng(seed + 2).choice(n_items, size=n_labels, replace=False)
    return chosen[:first], chosen[first:]


def stage_labels(version: Any, ids: np.ndarray, truth: np.ndarray, rows: np.ndarray) -> StageResult:
    """Labels on ``rows``, each on its item's true leaf, through the ledger's bulk path
    (bench_loop.labels_create: label_bulk_create in transactions of 5,000)."""
    from django.db import connection

    with measured(f"labels ({len(rows):,})") as result:
        if len(rows):
            labels_create(version, ids[rows].tolist(), truth[rows], len(rows), seed=0)
    with connection.cursor() as cursor:  # fresh statistics for the next stages, not timed
        cursor.execute("ANALYZE")
    result.details = {"labels": len(rows)}
    return result


def stage_train(version: Any) -> tuple[StageResult, Any]:
    """A manual training run, executed here (as ``manage.py train`` does); the model it
    promoted. Takes over the run the labels may already have queued."""
    from labeling.models import TrainingRun
    from labeling.services.learning import ml
    from labeling.services.learning.training import training_request, training_run

    with measured("train") as result:
        run = training_request(version, trigger="manual", enqueue=False) or (
            TrainingRun.objects.get(taxonomy_version=version, status=TrainingRun.Status.QUEUED)
        )
        run = training_run(run.pk)
    model = ml.active_model_version(version)
    if model is None:
        raise SystemExit(
            f"training did not promote a model: {run.status} {run.outcome} {run.error}"
        )
    fitted = ml.load_model(model)
    result.details = {
        "timings": {k: round(v, 1) for k, v in (run.timings or {}).items()},
        "n_train": (model.metrics or {}).get("n_train"),
        "epochs": getattr(fitted, "n_epochs_", None),
    }
    return result, model


def stage_rescore(model: Any, ids: np.ndarray, sample: int, seed: int) -> StageResult:
    """``scoring.rescore`` of every item, or (``sample`` > 0) of a random ``sample`` of them
    spread over the whole table, the seconds then projected linearly to every item: rescore
    is independent chunks of 5,000 ids, so its per-item cost is what can grow with N."""
    from django.db import connection

    from labeling.services.learning import scoring

    n = len(ids)
    subset = None
    if 0 < sample < n:
        subset = np.sort(np.random.default_rng(seed + 3).choice(ids, size=sample, replace=False))
    label = "rescore" if subset is None else f"rescore ({sample:,} sampled)"
    with measured(label) as result:
        written = scoring.rescore(model, item_ids=None if subset is None else subset.tolist())
    expected = n if subset is None else sample
    if written != expected:
        raise SystemExit(f"rescore wrote {written:,} predictions for {expected:,} items")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE labeling_prediction")
    scored = n if subset is None else sample
    result.details = {"items_per_s": round(scored / result.seconds), "scored": scored}
    if subset is not None:
        result.details["measured_s"] = round(result.seconds, 1)
        result.seconds = result.seconds * n / sample
        result.details["projected"] = True
    return result


def predictions_fill(model: Any) -> int:
    """Give every item the sampled rescore left out a copy of a scored item's prediction
    (round robin), in one INSERT ... SELECT, so the queue and the reports see N predictions.
    Set-up, not a stage: it stands in for the part of the rescore that was projected."""
    from django.db import connection

    from labeling.models import Prediction
    from labeling.services.review.disagreement import disagreement_refresh

    columns = [
        f.column
        for f in Prediction._meta.concrete_fields
        if f.column not in ("id", "item_id") and not f.primary_key
    ]
    listed = ", ".join(columns)
    copied = ", ".join(f"s.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM labeling_prediction WHERE model_version_id = %s", [model.pk]
        )
        scored = int(cursor.fetchone()[0])
        cursor.execute(
            f"INSERT INTO labeling_prediction (item_id, {listed})"
            f" SELECT i.id, {copied} FROM"
            " (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM labeling_item it"
            "  WHERE NOT EXISTS (SELECT 1 FROM labeling_prediction p WHERE p.item_id = it.id)) i"
            " JOIN (SELECT *, row_number() OVER (ORDER BY item_id) - 1 AS rn"
            "  FROM labeling_prediction WHERE model_version_id = %s) s ON s.rn = i.rn %% %s",
            [model.pk, scored],
        )
        filled = cursor.rowcount
    disagreement_refresh()  # the copies took their source's flag; each item needs its own
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE labeling_prediction")
    return int(filled)


def stage_queue(version: Any) -> StageResult:
    from labeling.services.review.queue_build import rebuild_queue

    with measured("queue rebuild") as result:
        counts = rebuild_queue(version)
    result.details = {"entries": counts}
    return result


def reviewer() -> Any:
    from django.contrib.auth.models import Group, User

    from labeling.roles import REVIEWER

    user = User.objects.create_user("scale-reviewer", password="bench-password-123")  # noqa: S106
    user.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    return user


def biggest_department(version: Any) -> int:
    """The top-level category with the most leaves under it: items are spread evenly over
    the leaves, so it holds the most items and is the heaviest node filter."""
    from collections import Counter

    from labeling.models import Category

    cats = Category.objects.filter(version=version).values_list("id", "path", "depth", "is_leaf")
    tops = {path: pk for pk, path, depth, _ in cats if depth == 1}
    under = Counter(path.split(" > ")[0] for _, path, _, leaf in cats if leaf)
    return tops[under.most_common(1)[0][0]]


def stage_reports(client: Any, version: Any, repeat: int) -> StageResult:
    """Median server time (in-process test client) of the main report page, a node filter
    (the biggest department) and the disagreement filter, after one warm-up each."""
    node = biggest_department(version)
    cases = {
        "catalog": "/reports/catalog/",
        "node filter": f"/reports/catalog/?node={node}",
        "disagreement": "/reports/catalog/?disagreement=1",
    }

    def get(url: str) -> Any:
        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return call

    with measured("report pages") as result:
        medians = {name: statistics.median(timed(get(url), repeat)) for name, url in cases.items()}
    result.details = {"median_ms": {k: round(v, 1) for k, v in medians.items()}}
    print("    median ms: " + ", ".join(f"{k} {v:.1f}" for k, v in medians.items()))
    return result


def stage_review(client: Any, decisions: int) -> StageResult:
    """``decisions`` times "decide and get the next item" (POST review/decide/, htmx) with the
    top candidate, as a reviewer's browser does; median and p95 milliseconds."""
    import time

    from labeling.models import Label

    card = client.get("/review/", headers={"HX-Request": "true"}).content.decode()
    before = Label.objects.filter(source="review").count()
    ms: list[float] = []
    with measured("review round trip") as result:
        for _ in range(decisions):
            shown, top = SHOWN_RE.search(card), TOP_RE.search(card)
            if shown is None or top is None:
                raise SystemExit(f"the review card has no item to decide:\n{card[:2000]}")
            t0 = time.perf_counter()
            response = client.post(
                "/review/decide/",
                {"shown": shown[1], "category": top[1]},
                headers={"HX-Request": "true"},
            )
            ms.append((time.perf_counter() - t0) * 1000)
            card = response.content.decode()
            if response.status_code != 200 or "notice error" in card:
                raise SystemExit(f"decide failed ({response.status_code}):\n{card[:2000]}")
    written = Label.objects.filter(source="review").count() - before
    if written != decisions:
        raise SystemExit(f"{decisions} decisions made but {written} review labels written")
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1]
    result.details = {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1)}
    print(f"    decide+next: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms")
    return result
