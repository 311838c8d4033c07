"""Issue 17, suspected label errors: confident learning against injected label noise.

    python benchmarks/label_errors.py ../shared/data/fashion/items.csv \
        --title-col productDisplayName --cache-dir /tmp/exp/cache
    python benchmarks/label_errors.py ../shared/data/bigbasket/items.csv --title-col title

Data, classes, features and the grouped train/test split are the simulator's
(``classifier.simulate``: titles only, classes with fewer than 5 items dropped, identical titles
on one side). For each ``--sizes`` count and seed, a random sample of the training side is the
labelled set; ``--noise`` (5%) of it gets a wrong leaf:

- ``uniform``: any other leaf of the tree;
- ``sibling``: another leaf under the same parent (under the grandparent when the parent has no
  other child, and so on up): the confusable kind a reviewer makes.

5-fold out-of-fold probabilities (``classifier.label_errors.out_of_fold_proba``: identical
titles in one fold, ``HierarchicalClassifier`` defaults) feed ``label_issues``. Reported:
precision and recall of the flags against the injected errors, for each filter and ranking, at
the method's own count and truncated to 1x and 2x the injected count (a fixed-size queue of the
flags, most suspect first); for comparison, today's re-review rule (the in-sample model
contradicts the label at p > 0.9) and the same rule out of fold; and the test accuracy of a model
trained on the noisy labels, on them with the flags corrected by the oracle (all of "both"'s,
its top 1x only, or all of PBNR's), and on the clean labels. Precision counts only injected errors as true: a flag on an error the catalog
already had counts against it, so it is a lower bound.

Not part of ``make bench`` (about a minute per size and seed on 2 cores); figures in
``docs/results/issue-17/label-errors.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier import label_errors as le  # noqa: E402
from classifier.model import HierarchicalClassifier  # noqa: E402
from classifier.simulate import data as D  # noqa: E402
from classifier.simulate.run import SimConfig, build_features, load_data, splits  # noqa: E402
from classifier.splits import duplicate_groups  # noqa: E402
from classifier.tree import Tree  # noqa: E402

NOISE_KINDS = ("uniform", "sibling")
RE_REVIEW_CONFIDENCE = 0.9  # labeling/services/review/queue_candidates.py
Features = dict[str, np.ndarray]


def inject(
    y: np.ndarray, tree: Tree, rate: float, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copy of ``(n,)`` leaf node labels and the ``(n,)`` bool mask of the changed ones."""
    n_wrong = int(round(rate * len(y)))
    wrong = np.zeros(len(y), dtype=bool)
    wrong[rng.choice(len(y), n_wrong, replace=False)] = True
    noisy = y.copy()
    for row in np.flatnonzero(wrong):
        choices = _alternatives(tree, int(y[row]), kind)
        noisy[row] = choices[rng.integers(len(choices))]
    return noisy, wrong


def _alternatives(tree: Tree, leaf: int, kind: str) -> np.ndarray:
    """Leaf nodes that ``leaf`` may be mislabelled as."""
    if kind == "uniform":
        return tree.leaves[tree.leaves != leaf]
    for ancestor in reversed(tree.path(leaf)[:-1]):
        others = tree.leaves[tree.leaves_under(ancestor)]
        others = others[others != leaf]
        if len(others):
            return others
    return tree.leaves[tree.leaves != leaf]


def fit(tree: Tree, X: Features, y: np.ndarray, seed: int) -> HierarchicalClassifier:
    return HierarchicalClassifier(tree, modalities=("text",), seed=seed).fit(X, y)


def accuracy(model: HierarchicalClassifier, X: Features, y: np.ndarray) -> float:
    return float((model.tree.leaves[model.predict_proba(X).argmax(axis=1)] == y).mean())


def precision_recall(flagged: np.ndarray, wrong: np.ndarray) -> tuple[float, float, int]:
    hits = int(wrong[flagged].sum())
    return hits / max(len(flagged), 1), hits / max(int(wrong.sum()), 1), len(flagged)


def contradicted(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Rows of today's re-review rule, most confident first: the top leaf is not the label and
    its probability is above ``RE_REVIEW_CONFIDENCE``."""
    top, conf = proba.argmax(axis=1), proba.max(axis=1)
    rows = np.flatnonzero((top != labels) & (conf > RE_REVIEW_CONFIDENCE))
    return rows[np.argsort(-conf[rows], kind="stable")]


def one_noise(
    tree: Tree,
    X: Features,
    y: np.ndarray,
    groups: np.ndarray,
    test: tuple[Features, np.ndarray],
    kind: str,
    rate: float,
    seed: int,
) -> dict[str, float]:
    """Every figure of one labelled set under one kind of noise."""
    rng = np.random.default_rng([seed, NOISE_KINDS.index(kind)])
    noisy, wrong = inject(y, tree, rate, kind, rng)
    n_wrong = int(wrong.sum())
    oof = le.out_of_fold_proba(
        tree, X, noisy, groups=groups, seed=seed, params={"modalities": ("text",)}
    )
    labels = tree.leaf_index[noisy]
    out: dict[str, float] = {}
    for filter_by in le.FILTERS:
        for rank_by in le.RANKINGS:
            issues = le.label_issues(labels, oof, filter_by=filter_by, rank_by=rank_by)
            for name, cut in (("own", len(issues)), ("1x", n_wrong), ("2x", 2 * n_wrong)):
                figures = precision_recall(issues.index[:cut], wrong)
                out.update(_named(f"{filter_by}/{rank_by}/{name}", figures))
    noisy_model = fit(tree, X, noisy, seed)
    out["acc/noisy"] = accuracy(noisy_model, *test)
    in_sample = noisy_model.predict_proba(X)
    for name, proba in (("rule in-sample", in_sample), ("rule out-of-fold", oof)):
        out.update(_named(f"{name}/own", precision_recall(contradicted(labels, proba), wrong)))
    corrections = {
        "both": le.label_issues(labels, oof).index,
        "both 1x": le.label_issues(labels, oof).index[:n_wrong],
        "prune_by_noise_rate": le.label_issues(labels, oof, filter_by="prune_by_noise_rate").index,
    }
    for name, flagged in corrections.items():
        corrected = noisy.copy()
        corrected[flagged] = y[flagged]  # the oracle's answer: the label before the noise
        out[f"acc/corrected {name}"] = accuracy(fit(tree, X, corrected, seed), *test)
    return out


def _named(prefix: str, figures: tuple[float, float, int]) -> dict[str, float]:
    return {f"{prefix}/{k}": float(v) for k, v in zip("prn", figures, strict=True)}


def run(args: argparse.Namespace) -> dict[tuple[int, str], list[dict[str, float]]]:
    config = SimConfig(
        path=args.path,
        out=Path("/dev/null"),
        title_col=args.title_col,
        cache_dir=args.cache_dir,
        modalities=("text",),
    )
    data, _ = load_data(config)
    features, _ = build_features(data, config)
    tree = Tree.from_paths(sorted(set(data.paths)), sep=config.path_sep)
    y = D.node_labels(tree, data.paths, config.path_sep)
    groups = duplicate_groups(titles=data.titles, vectors=features["text"])
    train, test = splits(data, y, config, features["text"])["grouped"]
    X_test = ({"text": features["text"][test]}, y[test])
    print(
        f"{args.path}: {len(data)} items, {tree.n_leaves} leaves, {len(train)} train / {len(test)} test",
        flush=True,
    )
    results: dict[tuple[int, str], list[dict[str, float]]] = defaultdict(list)
    for size in args.sizes:
        for seed in range(args.seeds):
            started = time.perf_counter()
            rows = np.sort(np.random.default_rng([seed, size]).choice(train, size, replace=False))
            X = {"text": features["text"][rows]}
            clean = accuracy(fit(tree, X, y[rows], seed), *X_test)
            for kind in NOISE_KINDS:
                figures = one_noise(tree, X, y[rows], groups[rows], X_test, kind, args.noise, seed)
                figures["acc/clean"] = clean
                results[(size, kind)].append(figures)
                print(f"  n={size} seed={seed} {kind}: {_brief(figures)}", flush=True)
            print(f"  n={size} seed={seed}: {time.perf_counter() - started:.0f} s", flush=True)
    return results


def _brief(f: dict[str, float]) -> str:
    own = "both/self_confidence/own"
    return (
        f"flags {f[own + '/n']:.0f} P {f[own + '/p']:.3f} R {f[own + '/r']:.3f}; "
        f"acc noisy {f['acc/noisy']:.4f} corrected {f['acc/corrected both']:.4f} clean {f['acc/clean']:.4f}"
    )


def _table_rows() -> list[tuple[str, str]]:
    """(method, queue) rows: a filter's own count once (the ranking does not change the set),
    then each ranking truncated to 1x and 2x the injected count; then the re-review rule."""
    rows: list[tuple[str, str]] = []
    for filter_by in le.FILTERS:
        rows.append((f"{filter_by}/{le.RANKINGS[0]}", "own"))
        rows += [(f"{filter_by}/{r}", cut) for r in le.RANKINGS for cut in ("1x", "2x")]
    return [*rows, ("rule in-sample", "own"), ("rule out-of-fold", "own")]


def _cell(values: list[float], digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def report(results: dict[tuple[int, str], list[dict[str, float]]], args: argparse.Namespace) -> str:
    """Markdown: flags table and accuracy table, mean (min–max) over seeds."""
    lines = [
        f"Catalog `{args.path}`; noise {args.noise:.0%}; {args.seeds} seeds; mean (min–max).",
        "",
        "| labels | noise | method | queue | flagged | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for (size, kind), runs in sorted(results.items()):
        for method, cut in _table_rows():
            key = f"{method}/{cut}"
            cells = [_cell([r[f"{key}/{m}"] for r in runs]) for m in "pr"]
            n = _cell([r[f"{key}/n"] for r in runs], 0)
            shown = method.split("/")[0] if cut == "own" else method
            lines.append(f"| {size} | {kind} | {shown} | {cut} | {n} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        "| labels | noise | noisy | corrected: both | corrected: both, top 1x | corrected: PBNR"
        " | clean |",
        "|---|---|---|---|---|---|---|",
    ]
    for (size, kind), runs in sorted(results.items()):
        keys = (
            "acc/noisy",
            "acc/corrected both",
            "acc/corrected both 1x",
            "acc/corrected prune_by_noise_rate",
            "acc/clean",
        )
        cells = " | ".join(_cell([r[k] for r in runs], 4) for k in keys)
        lines.append(f"| {size} | {kind} | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--title-col", default="title")
    parser.add_argument("--cache-dir", type=Path, default=Path("var/cache"))
    parser.add_argument(
        "--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[2000, 5000]
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (small fits: 1)")
    parser.add_argument("--out", type=Path, help="also write the markdown tables here")
    args = parser.parse_args(argv)
    if not args.path.exists():
        print(
            f"skipped: {args.path} not found (this benchmark reads a catalog from ../shared/data)"
        )
        return 0
    import torch

    torch.set_num_threads(args.threads)
    text = report(run(args), args)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
