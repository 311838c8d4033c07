"""``bench_scale.py --rules N``: what N rules add to the rescore of the Google taxonomy catalog.

After the rescore stage, the items that stage scored (all, or its ``--rescore-sample``) get
the rule benchmark's titles, descriptions and attributes (``bench_rules.py``: a Zipf-like
vocabulary, sizes, four attributes; set-up, not timed), and the same items are rescored
again through the product's path (``scoring.rescore``) twice without and twice with
``bench_rules``' N rules (its ``MIX`` of kinds, nodes mapped onto the Google taxonomy by
depth), alternating, so a drift of the machine's load falls on both sides. The overhead is
the best run with the rules over the best run without; the time inside the rules
(``apply_to_scores``: reading the items' text, the engine, the counts, re-scoring the rows
a forbid rule hits) is printed beside each run.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np


def rules_overhead(model: Any, version: Any, ids: np.ndarray, args: Any) -> dict[str, Any]:
    from benchmarks import bench_rules
    from benchmarks._rules_rescore import _rules_write, _split, _texts
    from labeling.services.learning import scoring
    from labeling.services.rules import scoring as rules_scoring

    subset = ids
    if 0 < args.rescore_sample < len(ids):  # the rescore stage's sample (same seed)
        rng = np.random.default_rng(args.seed + 3)
        subset = np.sort(rng.choice(ids, size=args.rescore_sample, replace=False))
    rng = np.random.default_rng(args.seed)
    tree = bench_rules.synthetic_tree()
    vocab = bench_rules.words_by_rank(rng)
    rules = bench_rules.rule_set(args.rules, tree, rng, vocab)
    started = time.perf_counter()
    _texts([int(i) for i in subset], bench_rules.catalog(len(subset), tree, rng, vocab))
    print(
        f"set-up (not a stage): rule benchmark texts on {len(subset):,} items"
        f" in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    inside = [0.0]
    original = rules_scoring.apply_to_scores

    def timed(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            inside[0] += time.perf_counter() - t0

    rules_scoring.apply_to_scores = timed  # type: ignore[assignment]
    parts = _split(rules_scoring)
    runs: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    try:
        for repeat in range(2):
            for name in ("without", "with"):
                _rules_write(version, rules, tree, on=name == "with")
                inside[0] = 0.0
                parts.clear()
                t0, cpu = time.perf_counter(), time.process_time()
                scoring.rescore(model, item_ids=[int(i) for i in subset])
                seconds = time.perf_counter() - t0
                run = {
                    "seconds": seconds,
                    "cpu": time.process_time() - cpu,
                    "inside": inside[0],
                    "load": os.getloadavg()[0],
                }
                runs[name].append(run)
                print(
                    f"rescore of {len(subset):,} items, {name} {args.rules} rules, run"
                    f" {repeat + 1}: {seconds:.1f} s ({run['cpu']:.1f} CPU s; inside the"
                    f" rules {inside[0]:.1f} s; load average {run['load']:.1f})",
                    flush=True,
                )
                if parts:
                    print(
                        "  within the rules: "
                        + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
                    )
    finally:
        rules_scoring.apply_to_scores = original  # type: ignore[assignment]
        _rules_write(version, rules, tree, on=False)
    best_without = min(r["seconds"] for r in runs["without"])
    best_with = min(r["seconds"] for r in runs["with"])
    scale = len(ids) / len(subset)
    return {
        "rules": args.rules,
        "items": len(subset),
        "projected_to": len(ids),
        "runs": runs,
        "best_without_s": round(best_without * scale, 1),
        "best_with_s": round(best_with * scale, 1),
        "overhead": best_with / best_without - 1,
        "inside_rules_s": round(min(r["inside"] for r in runs["with"]) * scale, 1),
    }


def rules_lines(figures: dict[str, Any]) -> list[str]:
    r = figures.get("rules")
    if not r:
        return []
    projected = r["items"] != r["projected_to"]
    where = f" (projected from {r['items']:,})" if projected else ""
    return [
        f"rules at {r['projected_to']:,} items{where}: rescore best without"
        f" {r['best_without_s']:.1f} s, with {r['rules']} rules {r['best_with_s']:.1f} s:"
        f" overhead {r['overhead']:+.1%} (target at most +10%); inside the rules"
        f" {r['inside_rules_s']:.1f} s"
    ]
