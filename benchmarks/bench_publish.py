"""Publishing a new version of the Google Product Taxonomy with 1,000,000 labels (PostgreSQL).

    python benchmarks/bench_publish.py [--items 1000000] [--split-share 0.02] [--rollback]
                                       [--keep-db] [--check]

Builds a throwaway database (``taxoloop_bench_publish``: created, migrated, dropped at the
end), imports the Google Product Taxonomy (../shared/data/google_taxonomy) as the current
version, and writes with COPY ``--items`` items, one current label each (spread over leaves
and inner nodes with a long tail; ``--split-share`` of them on the one leaf the draft splits)
and predictions of the old model for the items of that leaf (the publish ranks their
re-review by its uncertainty). A draft then gets a realistic release's worth of operations
(renames, subtree moves, merges, one big and a few small splits, deprecations, additions).

Figures: set-up, the draft edits, the diff (``draft_diff`` and the whole draft page, in
process), and ``taxonomy_publish`` with its steps and the rows it wrote. Target: publish under
2 minutes. Then checks that nothing was lost: the ledger grew by exactly the migrated labels,
the old labels are all still there, every old current label has exactly one migrated label
on the category the mapping names, and the split's items, and only they, wait in re-review.
``--rollback`` also times the rollback and checks every item points at its old label again.

At 1M labels the publish writes 1M ledger rows (14 indexes each), re-points 1M items and checks
their foreign keys at commit: it is bound by WAL volume and checkpoints as much as by the CPU,
so the figures print the server's ``max_wal_size``/``shared_buffers`` and the machine's load.
Skips with a message when PostgreSQL or the taxonomy file is missing.

Environment: ``BENCH_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/taxoloop_bench_publish;
the database is dropped first), ``TAXOLOOP_SHARED_DATA`` (default ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._pg import in_process_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_publish"
SHARED_DATA = Path(os.environ.get("TAXOLOOP_SHARED_DATA", ROOT.parent / "shared" / "data"))
TAXONOMY_FILE = SHARED_DATA / "google_taxonomy" / "taxonomy-with-ids.en-US.txt"
PUBLISH_TARGET_S = 120.0
INNER_SHARE = 0.15  # labels on inner nodes: reviewers who stop at a coarse category
# A plausible release's worth of changes: a few hundred operations of every kind.
MIX = {"rename": 120, "move": 15, "merge": 40, "split": 5, "deprecate": 60, "add": 120}


@dataclass
class Plan:
    """Which categories (by key) each draft operation touches; disjoint, so none undoes
    another. ``big_split`` is the leaf holding ``--split-share`` of the labels."""

    big_split: str
    ops: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


# -- set-up ----------------------------------------------------------------------------------


def taxonomy_import() -> Any:
    from labeling.models import TaxonomyVersion
    from labeling.services.taxonomy.imports import taxonomy_import_text

    text = TAXONOMY_FILE.read_text(encoding="utf-8")
    result = taxonomy_import_text(text=text, name="Google", fmt="google", publish=True)
    print(f"  taxonomy: {result.categories:,} categories, depth {result.max_depth}")
    return TaxonomyVersion.objects.get(is_current=True)


def categories_of(version: Any) -> list[dict[str, Any]]:
    from labeling.models import Category

    return list(
        Category.objects.filter(version=version)
        .order_by("id")
        .values("id", "key", "parent_id", "name", "depth", "is_leaf")
    )


def plan_operations(cats: list[dict[str, Any]], rng: random.Random) -> Plan:
    """Pick disjoint categories for each kind of operation (see MIX)."""
    by_id = {c["id"]: c for c in cats}
    children: dict[int, list[dict[str, Any]]] = {}
    for c in cats:
        children.setdefault(c["parent_id"], []).append(c)
    used: set[int] = set()

    def take(pool: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
        picked = [c for c in rng.sample(pool, len(pool)) if c["id"] not in used][:n]
        used.update(c["id"] for c in picked)
        return picked

    leaves = [c for c in cats if c["is_leaf"] and c["depth"] >= 3]
    big = take([c for c in leaves if c["depth"] == 3], 1)[0]
    plan = Plan(big_split=big["key"])
    plan.ops.append(("split", {"key": big["key"], "names": ["Part A", "Part B", "Part C"]}))
    plan.ops += [
        ("split", {"key": c["key"], "names": ["Kind 1", "Kind 2"]})
        for c in take(leaves, MIX["split"] - 1)
    ]
    plan.ops += _merges(take, leaves, children, by_id)
    plan.ops += [("deprecate", {"key": c["key"]}) for c in take(leaves, MIX["deprecate"])]
    plan.ops += _moves(take, cats, children, rng)
    plan.ops += [
        ("rename", {"key": c["key"], "name": f"{c['name']} (renamed)"})
        for c in take([c for c in cats if c["depth"] >= 2], MIX["rename"])
    ]
    inner = [c for c in cats if not c["is_leaf"]]
    plan.ops += [
        ("add", {"parent_key": rng.choice(inner)["key"], "name": f"New category {i}"})
        for i in range(MIX["add"])
    ]
    return plan


def _merges(take: Callable, leaves: list, children: dict, by_id: dict) -> list[tuple[str, dict]]:
    """Leaves merged into a sibling leaf (the usual "two names for one thing")."""
    out: list[tuple[str, dict]] = []
    for source in take(leaves, MIX["merge"]):
        siblings = [c for c in children[source["parent_id"]] if c["is_leaf"] and c is not source]
        target = take(siblings, 1)
        if target:
            out.append(("merge", {"source_keys": [source["key"]], "target_key": target[0]["key"]}))
    return out


def _moves(
    take: Callable, cats: list, children: dict, rng: random.Random
) -> list[tuple[str, dict]]:
    """Depth-3 subtrees moved under another top-level category."""
    tops = [c for c in cats if c["depth"] == 1]
    subtrees = [c for c in cats if c["depth"] == 3 and not c["is_leaf"]]
    out: list[tuple[str, dict]] = []
    for node in take(subtrees, MIX["move"]):
        names = {c["name"] for t in tops for c in children.get(t["id"], [])}
        if node["name"] not in names:
            out.append(("move", {"key": node["key"], "parent_key": rng.choice(tops)["key"]}))
    return out


def label_weights(cats: list[dict[str, Any]], plan: Plan, rng: random.Random) -> tuple[list, list]:
    """A long tail: Zipf weights over shuffled leaves, INNER_SHARE of the mass on inner nodes."""
    leaves = [c["id"] for c in cats if c["is_leaf"] and c["key"] != plan.big_split]
    inner = [c["id"] for c in cats if not c["is_leaf"]]
    rng.shuffle(leaves)
    rng.shuffle(inner)
    leaf_w = [1 / (rank + 10) for rank in range(len(leaves))]
    inner_w = [1 / (rank + 10) for rank in range(len(inner))]
    scale = INNER_SHARE * sum(leaf_w) / ((1 - INNER_SHARE) * sum(inner_w))
    return leaves + inner, leaf_w + [w * scale for w in inner_w]


def catalog_copy(cursor: Any, n: int, version_id: int, categories: list[int]) -> None:
    """Items 1..n with labels 1..n (label i on item i, its current label), by COPY: the
    item → label and label → item foreign keys are deferred, so both fit one transaction."""
    with cursor.copy(
        "COPY labeling_item (id, external_id, title, description, attributes, image, source,"
        " content_hash, current_label_id, created_at, updated_at) FROM STDIN"
    ) as copy:
        for i in range(1, n + 1):
            copy.write_row(
                (
                    i,
                    f"GPT-{i:07d}",
                    f"Product {i}",
                    "",
                    "{}",
                    "",
                    "bench",
                    f"{i:064d}",
                    i,
                    "now",
                    "now",
                )
            )
    with cursor.copy(
        "COPY labeling_label (id, item_id, kind, category_id, taxonomy_version_id, source,"
        " prediction_shown, is_audit, context, note, created_at) FROM STDIN"
    ) as copy:
        for i, category in enumerate(categories, start=1):
            copy.write_row(
                (i, i, "label", category, version_id, "review", "{}", i % 50 == 0, "", "", "now")
            )
    for table in ("labeling_item", "labeling_label"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


def predictions_copy(cursor: Any, version: Any, split_id: int, rng: random.Random) -> int:
    """The old model's predictions for the items labelled with the leaf to be split."""
    from labeling.models import ModelVersion

    model = ModelVersion.objects.create(taxonomy_version=version, status="active")
    cursor.execute("SELECT id FROM labeling_label WHERE category_id = %s", [split_id])
    items = [row[0] for row in cursor.fetchall()]  # label i is on item i
    with cursor.copy(
        "COPY labeling_prediction (item_id, model_version_id, top_category_id, candidates,"
        " confidence, margin, entropy, disagreement, novelty, acquisition_score, reason,"
        " created_at) FROM STDIN"
    ) as copy:
        for item in items:
            conf = round(rng.random(), 4)
            copy.write_row(
                (
                    item,
                    model.pk,
                    split_id,
                    f'[{{"category": {split_id}, "p": {conf}}}]',
                    conf,
                    0,
                    0,
                    0,
                    0,
                    0,
                    "",
                    "now",
                )
            )
    return len(items)


def seed(n_items: int, split_share: float) -> tuple[Any, Plan]:
    from django.db import connection, transaction

    rng = random.Random(0)
    version = taxonomy_import()
    cats = categories_of(version)
    plan = plan_operations(cats, rng)
    ids, weights = label_weights(cats, plan, rng)
    big_id = next(c["id"] for c in cats if c["key"] == plan.big_split)
    n_big = int(n_items * split_share)
    labels = rng.choices(ids, weights, k=n_items - n_big) + [big_id] * n_big
    rng.shuffle(labels)
    with transaction.atomic(), connection.cursor() as cursor:
        catalog_copy(cursor.cursor, n_items, version.pk, labels)
        n_pred = predictions_copy(cursor.cursor, version, big_id, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    used = len(set(labels))
    print(
        f"  catalog: {n_items:,} items, {n_items:,} labels on {used:,} categories,"
        f" {n_pred:,} predictions"
    )
    return version, plan


# -- the draft -------------------------------------------------------------------------------


def draft_edit(version: Any, plan: Plan, user: Any) -> tuple[Any, Counter]:
    from labeling.services.taxonomy import drafts
    from labeling.services.taxonomy.draft_checks import TaxonomyDraftError

    draft = drafts.draft_start(taxonomy=version.taxonomy, author=user)
    services = {
        "rename": drafts.category_rename,
        "move": drafts.category_move,
        "merge": drafts.category_merge,
        "split": drafts.category_split,
        "deprecate": drafts.category_deprecate,
        "add": drafts.category_add,
    }
    done: Counter = Counter()
    for kind, kwargs in plan.ops:
        try:
            services[kind](draft=draft, author=user, **kwargs)
            done[kind] += 1
        except TaxonomyDraftError as error:
            print(f"  refused {kind} {kwargs}: {error}")
    return draft, done


def diff_timings(client: Any, draft: Any) -> None:
    from django.urls import reverse

    from labeling.services.taxonomy.publish_mapping import draft_diff

    diff, secs = timed(lambda: draft_diff(draft=draft))
    kinds = Counter(row.kind for row in diff)
    print(
        f"  draft_diff: {secs:.2f} s, {len(diff)} changes {dict(kinds)},"
        f" {sum(r.labels for r in diff):,} labels touched"
    )
    url = reverse("taxonomy:draft", args=[draft.pk])
    response, first = timed(lambda: client.get(url))
    assert response.status_code == 200, response.status_code
    again = timed(lambda: client.get(url))[1]
    print(
        f"  draft page (diff, tree, forms): {first:.2f} s first, {again:.2f} s again,"
        f" {len(response.content):,} bytes"
    )


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


# -- checks ----------------------------------------------------------------------------------


def server_settings() -> str:
    """The PostgreSQL settings and machine load a publish's time depends on most: a bulk
    write of this size is bound by WAL volume and checkpoints as much as by the CPU."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(name || '=' || current_setting(name), ', ') FROM pg_settings"
            " WHERE name IN ('shared_buffers', 'max_wal_size', 'work_mem')"
        )
        found = cursor.fetchone()[0]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{found}; load average {load} on {os.cpu_count()} CPUs"


def scalar(sql: str, params: list[Any]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def snapshot(version: Any) -> dict[str, Any]:
    from labeling.models import Label
    from labeling.services.taxonomy.publish_mapping import label_counts

    return {
        "ledger": Label.objects.count(),
        "old_labels": Label.objects.filter(taxonomy_version=version).count(),
        "per_category": label_counts(version=version),
    }


def verify_publish(before: dict[str, Any], result: Any, base: Any, draft: Any) -> list[str]:
    """What the service promises, checked with set-based queries; the broken promises."""
    from labeling.models import CategoryMapping, Label, QueueEntry
    from labeling.services.taxonomy.publish_mapping import label_counts

    expected = sum(before["per_category"].values())
    mapping = dict(
        CategoryMapping.objects.filter(new_version=draft).values_list(
            "old_category_id", "new_category_id"
        )
    )
    moved: Counter = Counter()
    for old, n in before["per_category"].items():
        moved[mapping[old]] += n
    checks = {
        "every current label migrated": result.migrated == expected,
        "ledger grew by exactly the migrated labels": Label.objects.count()
        == before["ledger"] + result.migrated,
        "old labels all kept": Label.objects.filter(taxonomy_version=base).count()
        == before["old_labels"],
        "label counts per new category follow the mapping": label_counts(version=draft)
        == dict(moved),
        "each old current label has exactly one migrated label": scalar(
            "SELECT count(*) FROM (SELECT migrated_from_id FROM labeling_label"
            " WHERE taxonomy_version_id = %s GROUP BY 1 HAVING count(*) = 1) x",
            [draft.pk],
        )
        == expected,
        "each migrated label is on its old category's mapped category": scalar(
            "SELECT count(*) FROM labeling_label n JOIN labeling_label o ON o.id = n.migrated_from_id"
            " JOIN labeling_categorymapping m ON m.old_category_id = o.category_id"
            " AND m.new_version_id = %s WHERE n.taxonomy_version_id = %s"
            " AND n.category_id <> m.new_category_id",
            [draft.pk, draft.pk],
        )
        == 0,
        "every item points at its migrated label": scalar(
            "SELECT count(*) FROM labeling_item i JOIN labeling_label l ON l.id = i.current_label_id"
            " WHERE l.taxonomy_version_id = %s AND l.source = 'migration'",
            [draft.pk],
        )
        == expected,
        "re-review holds exactly the split categories' items": _re_review_exact(draft),
        "re-review entries counted": QueueEntry.objects.filter(reason="re-review").count()
        == result.re_review,
    }
    return [name for name, ok in checks.items() if not ok]


def _re_review_exact(draft: Any) -> bool:
    """Items whose old label was on a split category versus items waiting in re-review."""
    split_items = scalar(
        "SELECT count(*) FROM labeling_label n JOIN labeling_label o ON o.id = n.migrated_from_id"
        " JOIN labeling_categorymapping m ON m.old_category_id = o.category_id"
        " AND m.new_version_id = %s WHERE n.taxonomy_version_id = %s AND m.re_review",
        [draft.pk, draft.pk],
    )
    both = scalar(
        "SELECT count(*) FROM labeling_queueentry q JOIN labeling_item i ON i.id = q.item_id"
        " JOIN labeling_label n ON n.id = i.current_label_id"
        " JOIN labeling_label o ON o.id = n.migrated_from_id"
        " JOIN labeling_categorymapping m ON m.old_category_id = o.category_id"
        " AND m.new_version_id = %s WHERE q.reason = 're-review' AND m.re_review",
        [draft.pk],
    )
    entries = scalar("SELECT count(*) FROM labeling_queueentry WHERE reason = 're-review'", [])
    return split_items == both == entries > 0


def rollback_and_verify(draft: Any, base: Any, before: dict[str, Any], user: Any) -> list[str]:
    from labeling.models import TrainingRun
    from labeling.services.taxonomy.publish_mapping import label_counts
    from labeling.services.taxonomy.rollback import taxonomy_rollback

    result, secs = timed(lambda: taxonomy_rollback(version=draft, author=user))
    print(
        f"rollback: {secs:.1f} s ({result.retracted:,} retractions written,"
        f" {result.restored:,} items restored, {result.dropped_from_queue:,} re-review dropped)"
    )
    checks = {
        "rollback restores every label": label_counts(version=base) == before["per_category"],
        "rollback leaves no training of the rolled-back version in flight": not TrainingRun.objects.filter(
            taxonomy_version=draft, status__in=["queued", "running"]
        ).exists(),
    }
    return [name for name, ok in checks.items() if not ok]


# -- main ------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> bool:
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from labeling.roles import TAXONOMY_ADMIN
    from labeling.services.taxonomy.publish import taxonomy_publish

    print("set-up:")
    (base, plan), secs = timed(lambda: seed(args.items, args.split_share))
    print(f"  set-up {secs:.0f} s")
    user = User.objects.create_user("bench-admin", password="bench-password-123")  # noqa: S106
    user.groups.add(Group.objects.get_or_create(name=TAXONOMY_ADMIN)[0])
    (draft, done), secs = timed(lambda: draft_edit(base, plan, user))
    print(f"draft: {sum(done.values())} operations {dict(done)} in {secs:.1f} s")
    client = Client()
    client.force_login(user)
    diff_timings(client, draft)
    before = snapshot(base)
    print(f"server: {server_settings()}")
    result, secs = timed(lambda: taxonomy_publish(draft=draft, author=user))
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    # The rest is the commit: the deferred foreign-key checks of every row written.
    steps += f", commit {secs - sum(result.timings.values()):.1f} s"
    ok = secs < PUBLISH_TARGET_S
    print(
        f"publish: {secs:.1f} s ({steps})  {'ok' if ok else 'OVER'} (target"
        f" {PUBLISH_TARGET_S:.0f} s)"
    )
    print(
        f"  rows written: {result.mappings:,} category mappings, {result.migrated:,} migrated"
        f" labels (and as many items re-pointed), {result.re_review:,} re-review entries,"
        f" {1 if result.training_run else 0} training run"
    )
    broken = verify_publish(before, result, base, draft)
    if args.rollback:
        broken += rollback_and_verify(draft, base, before, user)
    print("nothing lost: every check passed" if not broken else "BROKEN: " + "; ".join(broken))
    return ok and not broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument(
        "--split-share",
        type=float,
        default=0.02,
        help="share of the labels on the leaf the draft splits",
    )
    parser.add_argument("--rollback", action="store_true", help="also time the rollback")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    if not TAXONOMY_FILE.exists():
        print(
            f"skipped: the Google Product Taxonomy is not at {TAXONOMY_FILE}"
            " (set TAXOLOOP_SHARED_DATA)"
        )
        return 0
    with in_process_django(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0
        met = run(args)
        return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
