"""Reports and inline corrections on a large catalog (PostgreSQL).

    python benchmarks/bench_reports.py [--items 1000000] [--repeat 20] [--keep-db] [--check]
                                       [--after-publish]

Builds a throwaway PostgreSQL database (``taxoloop_bench_reports``: created, migrated, dropped
at the end) with a 7 x 5 x 4 taxonomy and ``--items`` items, each with a prediction (random
confidence, abstained below 0.5, the previous model's top category different for a fifth of
them); one item in ten has a label. Everything is written with COPY.

Figures (in-process, Django's test client with production settings: view, queries and
template; no network, no HTTP parsing): per report query (filtered, sorted, a later page by
keyset, the htmx partial) p50/p95/max over ``--repeat`` requests; an inline correction
(POST reports/correct/, htmx) p50/p95/max over ``--repeat`` items. Targets: report p95 under
150 ms, correction p95 under 50 ms. The dashboard's time is printed without a target.
Skips with a message when PostgreSQL is not reachable.

``--after-publish``: the same figures right after a publish of v2 (a department renamed, two
groups merged, a leaf split in two, by the real draft services), before v2 has a model: every
prediction is still the v1 model's and each report maps it into v2 in SQL (issue 6).

Environment: ``BENCH_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/taxoloop_bench_reports;
the database is dropped first).
"""

from __future__ import annotations

import argparse
import html
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._pg import in_process_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_reports"
REPORT_P95_MS = 150.0
CORRECT_P95_MS = 50.0
SHAPE = (7, 5, 4)
CHUNK = 100_000


def seed(n_items: int) -> dict[str, Any]:
    """Taxonomy, items, predictions and labels by COPY; ids the queries need."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from labeling.models import Category, ModelVersion, TaxonomyVersion
    from labeling.roles import REVIEWER
    from labeling.services.review.disagreement import disagreement_refresh
    from labeling.services.taxonomy.imports import taxonomy_import_text

    a, b, c = SHAPE
    text = "\n".join(
        f"Dept {i} > Group {i}.{j} > Kind {i}.{j}.{k}"
        for i in range(a)
        for j in range(b)
        for k in range(c)
    )
    taxonomy_import_text(text=text, name="Bench", fmt="paths", publish=True)
    version = TaxonomyVersion.objects.get(is_current=True)
    leaves = list(
        Category.objects.filter(version=version, is_leaf=True).values_list("pk", flat=True)
    )
    mv = ModelVersion.objects.create(taxonomy_version=version, status="active")
    user = User.objects.create_user("bench-reviewer", password="bench-password-123")  # noqa: S106
    user.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        _copy_items(cursor, n_items)
        _copy_predictions(cursor, mv.pk, leaves)
        _copy_labels(cursor, version.pk, user.pk, leaves)
    disagreements = disagreement_refresh()  # as the label and rescore writes keep it
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"seeded {n_items:,} items, predictions and labels ({disagreements:,} disagreeing)"
        f" in {time.perf_counter() - t0:.0f} s"
    )
    dept = Category.objects.get(version=version, path="Dept 0")
    leaf = Category.objects.get(version=version, path="Dept 3 > Group 3.2 > Kind 3.2.1")
    return {"user": user, "dept": dept.pk, "leaf": leaf.pk, "leaves": leaves}


def publish_v2(ids: dict[str, Any]) -> dict[str, Any]:
    """Publish v2 from the seeded v1 (rename, merge, split) with the real services; the ids
    of the report cases become v2's (the predictions stay v1's)."""
    from django.contrib.auth.models import User

    from labeling.models import Category, TaxonomyVersion
    from labeling.services.taxonomy import drafts
    from labeling.services.taxonomy.publish import taxonomy_publish

    admin = User.objects.create_superuser("bench-admin", password="bench-password-123")  # noqa: S106
    v1 = TaxonomyVersion.objects.get(is_current=True)
    key = dict(Category.objects.filter(version=v1).values_list("path", "key"))
    t0 = time.perf_counter()
    draft = drafts.draft_start(taxonomy=v1.taxonomy, author=admin)
    drafts.category_rename(draft=draft, key=key["Dept 0"], name="Department Zero", author=admin)
    drafts.category_merge(
        draft=draft,
        source_keys=[key["Dept 1 > Group 1.1"]],
        target_key=key["Dept 1 > Group 1.0"],
        author=admin,
    )
    leaf = "Dept 3 > Group 3.2 > Kind 3.2.1"
    drafts.category_split(draft=draft, key=key[leaf], names=["Kind A", "Kind B"], author=admin)
    result = taxonomy_publish(draft=draft, author=admin)
    print(f"published v2 in {time.perf_counter() - t0:.0f} s ({result.migrated:,} labels migrated)")
    v2 = Category.objects.filter(version=result.version)
    paths = dict(v2.values_list("path", "pk"))
    leaves = list(v2.filter(is_leaf=True, deprecated=False).values_list("pk", flat=True))
    return ids | {"dept": paths["Department Zero"], "leaf": paths[leaf], "leaves": leaves}


def _copy_items(cursor: Any, n: int) -> None:
    sql = (
        "COPY labeling_item (external_id, title, description, attributes, image, source,"
        " content_hash, created_at, updated_at) FROM STDIN"
    )
    with cursor.cursor.copy(sql) as copy:
        for i in range(n):
            copy.write_row(
                (
                    f"BENCH-{i:07d}",
                    f"Bench product {i}",
                    "",
                    "{}",
                    "",
                    "bench",
                    f"{i:064d}",
                    "now",
                    "now",
                )
            )


def _copy_predictions(cursor: Any, model_id: int, leaves: list[int]) -> None:
    rng = random.Random(0)
    cursor.execute("SELECT id FROM labeling_item ORDER BY id")
    ids = [row[0] for row in cursor.fetchall()]
    sql = (
        "COPY labeling_prediction (item_id, model_version_id, top_category_id,"
        " decided_category_id, previous_top_category_id, candidates, confidence, margin, entropy,"
        " disagreement, novelty, acquisition_score, reason, created_at) FROM STDIN"
    )
    with cursor.cursor.copy(sql) as copy:
        for item_id in ids:
            top, second = rng.sample(leaves, 2)
            conf = round(rng.random(), 4)
            previous = second if rng.random() < 0.2 else top
            cands = f'[{{"category": {top}, "p": {conf}}}, {{"category": {second}, "p": {round(1 - conf, 4)}}}]'
            decided = top if conf >= 0.5 else None
            copy.write_row(
                (
                    item_id,
                    model_id,
                    top,
                    decided,
                    previous,
                    cands,
                    conf,
                    0.1,
                    0.5,
                    0,
                    0,
                    0,
                    "",
                    "now",
                )
            )


def _copy_labels(cursor: Any, version_id: int, user_id: int, leaves: list[int]) -> None:
    """One item in ten gets a label (agreeing with the prediction two times in three)."""
    rng = random.Random(1)
    cursor.execute(
        "SELECT item_id, top_category_id FROM labeling_prediction WHERE item_id % 10 = 0"
    )
    rows = cursor.fetchall()
    sql = (
        "COPY labeling_label (item_id, kind, category_id, taxonomy_version_id, author_id, source,"
        " prediction_shown, is_audit, context, note, created_at) FROM STDIN"
    )
    with cursor.cursor.copy(sql) as copy:
        for item_id, top in rows:
            category = top if rng.random() < 2 / 3 else rng.choice(leaves)
            copy.write_row(
                (
                    item_id,
                    "label",
                    category,
                    version_id,
                    user_id,
                    "review",
                    "{}",
                    False,
                    "",
                    "",
                    "now",
                )
            )
    cursor.execute(
        "UPDATE labeling_item i SET current_label_id = l.id FROM labeling_label l"
        " WHERE l.item_id = i.id"
    )


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm: caches, prepared plans, the category index
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(name: str, ms: list[float], target: float | None) -> bool:
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) > 1 else ms[0]
    ok = target is None or p95 < target
    print(
        f"  {name:<46} p50 {statistics.median(ms):6.1f}  p95 {p95:6.1f}  max {max(ms):6.1f} ms"
        f"  {'no target' if target is None else 'ok' if ok else 'OVER ' + str(target)}"
    )
    return ok


def bench_reports(client: Any, ids: dict[str, Any], repeat: int) -> bool:
    def get(url: str, **headers: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return call

    later = "/reports/catalog/"
    for _ in range(5):  # follow "next page" five times: the keyset cursor of page 6
        page = get(later)().content.decode()
        later = html.unescape(re.search(r'id="next-page" href="([^"]+)"', page).group(1))
    cases = {
        "catalog, confidence high first": "/reports/catalog/",
        "catalog under a department (1/7)": f"/reports/catalog/?node={ids['dept']}",
        "catalog under one leaf (1/140), by item": f"/reports/catalog/?node={ids['leaf']}&sort=item",
        "catalog 0.3–0.6, unlabelled, low first": "/reports/catalog/?conf_min=0.3&conf_max=0.6&labelled=no&sort=confidence",
        "catalog, label disagrees": "/reports/catalog/?disagreement=1",
        "catalog, labelled, newest first": "/reports/catalog/?labelled=yes&sort=-item",
        "low confidence and abstained": "/reports/low-confidence/",
        "changed by the last model": "/reports/changed/",
        "catalog page 6 (keyset)": later,
    }
    ok = True
    print("report pages (server time, in-process):")
    for name, url in cases.items():
        ok &= line(name, timed(get(url), repeat), REPORT_P95_MS)
    ok &= line(
        "htmx partial: changed, 0.5–1",
        timed(get("/reports/changed/?conf_min=0.5", HX_Request="true"), repeat),
        REPORT_P95_MS,
    )
    ok &= line("CSV of a page", timed(get("/reports/low-confidence/csv/"), repeat), REPORT_P95_MS)
    return ok


def bench_corrections(client: Any, ids: dict[str, Any], repeat: int) -> bool:
    from labeling.models import Label

    rng = random.Random(2)
    from labeling.models import Item

    top = Item.objects.order_by("-id").values_list("id", flat=True)[:1][0]
    before = Label.objects.count()
    items = iter(rng.sample(range(top - 900_000 if top > 900_000 else 1, top), repeat + 1))

    def correct() -> None:
        data = {"item": next(items), "category": rng.choice(ids["leaves"]), "report": "catalog"}
        response = client.post("/reports/correct/", data, headers={"HX-Request": "true"})
        assert response.status_code == 200 and b"undo-button" in response.content

    ms = timed(correct, repeat)
    assert Label.objects.count() == before + repeat + 1, "a correction was lost"
    print("inline correction (POST reports/correct/, htmx, row returned):")
    return line("correct one cell", ms, CORRECT_P95_MS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is not met")
    parser.add_argument(
        "--after-publish",
        action="store_true",
        help="time the reports on v2 right after a publish, the predictions still v1's",
    )
    args = parser.parse_args()
    with in_process_django(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0
        from django.test import Client

        ids = seed(args.items)
        if args.after_publish:
            ids = publish_v2(ids)
        client = Client()
        client.force_login(ids["user"])
        met = bench_reports(client, ids, args.repeat)
        met &= bench_corrections(client, ids, args.repeat)
        print("dashboard (every chart; no target in the issue):")
        dash = timed(lambda: client.get("/dashboard/"), max(3, args.repeat // 10))
        line("dashboard page", dash, None)
        print("all targets met" if met else "SOME TARGETS NOT MET")
        return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
