"""``bench_rules.py --rescore N``: a real rescore of N items on PostgreSQL, without and with the
benchmark's 200 rules, through the product's own code path (``scoring.rescore``).

A throwaway database (``taxoloop_bench_rules``, ``BENCH_DATABASE_URL`` overrides; created,
migrated, dropped) gets bench_loop.py's synthetic catalog (140 leaves, text embeddings
clustered per leaf, labels) with the rule benchmark's titles, descriptions and attributes; a
model is trained and promoted (not timed). Then the whole catalog is rescored without rules,
the rules are written (switched on) and it is rescored again, three times each, alternating; the
predictions are emptied before each run so every run inserts. Prints each run, the time
spent inside the rules (``apply_to_scores``: reading the items' text, the engine, the stats,
rescoring forbid rows), and the overhead.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._pg import bench_env, django_setup, scratch_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_rules"


def run(items: int, labels: int, rules: list[Any], batch: Any, tree: Any) -> int:
    with scratch_database(DEFAULT_URL) as url:
        if url is None:
            return 0
        with tempfile.TemporaryDirectory(prefix="taxoloop-bench-") as tmp:
            django_setup(bench_env(url, Path(tmp), CELERY_BROKER_URL="memory://"))
            return _measure(items, labels, rules, batch, tree)


def _measure(items: int, labels: int, rules: list[Any], batch: Any, tree: Any) -> int:
    from benchmarks.bench_loop import catalog_create, labels_create, taxonomy_create
    from benchmarks.bench_rescore_workers import model_train, predictions_clear
    from labeling.services.learning import scoring
    from labeling.services.rules import scoring as rules_scoring

    version = taxonomy_create()
    ids, truth = catalog_create(version, items, 0.0, seed=0)
    _texts(ids, batch)
    labels_create(version, ids, truth, labels, seed=0)
    model = model_train(version)
    inside = [0.0]
    original = rules_scoring.apply_to_scores

    profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            return original(*args, **kwargs)
        finally:
            if profile is not None:
                profile.disable()
            inside[0] += time.perf_counter() - started

    rules_scoring.apply_to_scores = timed  # type: ignore[assignment]
    parts = _split(rules_scoring)
    runs: dict[str, list[float]] = {"without": [], "with": []}
    for repeat in range(3):
        for name in ("without", "with"):
            _rules_write(version, rules, tree, on=name == "with")
            predictions_clear()
            inside[0] = 0.0
            parts.clear()
            started, cpu = time.perf_counter(), time.process_time()
            scoring.rescore(model)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            runs[name].append(seconds)
            split = ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
            load = os.getloadavg()[0]
            print(
                f"rescore {repeat + 1} {name} rules: {seconds:.1f} s, {cpu:.1f} CPU s "
                f"(rules {inside[0]:.1f} s; load average {load:.1f})"
            )
            if split:
                print(f"  within the rules: {split}")
    if profile is not None:  # where the rules' time goes (BENCH_PROFILE=1)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    without, with_rules = min(runs["without"]), min(runs["with"])
    print(
        f"{items:,} items: best without {without:.1f} s, with 200 rules {with_rules:.1f} s: "
        f"overhead {with_rules / without - 1:+.1%}"
    )
    return 0


def _split(module: Any) -> dict[str, float]:
    """Seconds inside the rules' parts: reading the items, the engine, rescoring forbid rows,
    counting (replaced on the module, where ``apply_to_scores`` looks them up)."""
    parts: dict[str, float] = {}
    for name, label in (
        ("_batch", "reading items"),
        ("_forbid", "forbid rows rescored"),
        ("_record", "counts"),
    ):
        original = getattr(module, name)

        def timed(*args: Any, _original: Any = original, _label: str = label) -> Any:
            started = time.perf_counter()
            try:
                return _original(*args)
            finally:
                parts[_label] = parts.get(_label, 0.0) + time.perf_counter() - started

        setattr(module, name, timed)
    return parts


def _texts(ids: list[int], batch: Any) -> None:
    """The rule benchmark's titles, descriptions and attributes on the catalog's items."""
    from labeling.models import Item

    step = 5000
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        rows = Item.objects.in_bulk(chunk)
        for offset, pk in enumerate(chunk):
            i = (start + offset) % len(batch.titles)
            item = rows[pk]
            item.title, item.description = batch.titles[i], batch.descriptions[i]
            item.attributes = batch.attributes[i]
        Item.objects.bulk_update(list(rows.values()), ["title", "description", "attributes"])


def _rules_write(version: Any, rules: list[Any], tree: Any, *, on: bool) -> None:
    """The benchmark's rules as rows of ``version``: nodes of the synthetic tree mapped onto
    the version's categories of the same depth (leaf for leaf)."""
    from labeling.models import Category, Rule, RuleCondition

    Rule.objects.filter(taxonomy_version=version).delete()
    if not on:
        return
    by_depth: dict[int, list[int]] = {}
    for pk, depth, leaf in Category.objects.filter(version=version).values_list(
        "pk", "depth", "is_leaf"
    ):
        by_depth.setdefault(3 if leaf else depth, []).append(pk)

    def category(node: int) -> int:
        depth = min(int(tree.depth[node]), 3) if not tree.is_leaf(node) else 3
        pool = by_depth[depth]
        return pool[node % len(pool)]

    for i, rule in enumerate(rules):
        row = Rule.objects.create(
            taxonomy_version=version,
            name=f"bench {i}",
            action=rule.action,
            category_id=category(rule.node) if rule.node >= 0 else None,
            reason=rule.reason,
            priority=i,
            enabled=True,
        )
        RuleCondition.objects.bulk_create(
            RuleCondition(
                rule=row,
                position=n,
                kind=c.kind,
                field=c.field,
                value=_stored(c),
                category_id=category(c.node) if c.node >= 0 else None,
            )
            for n, c in enumerate(rule.conditions)
        )


def _stored(condition: Any) -> Any:
    value = condition.value
    if condition.kind == "attribute_range":
        return {"min": value[0], "max": value[1]}
    if isinstance(value, tuple):
        return [v.item() if isinstance(v, np.generic) else v for v in value]
    return value.item() if isinstance(value, np.generic) else value
