"""Issue 17's auto-accept policy at fixed audit sizes: how often it certifies, how much, and
how often what it accepts falls below the target (it may, at most ``alpha`` of the time).

    python benchmarks/certify_issue17.py ../shared/data/fashion/items.csv \
        --title-col productDisplayName

Data, classes and the grouped split are the simulator's. For each ``--labels`` count a random
sample of the training side trains ``HierarchicalClassifier`` with its defaults; then, for each
``--audit`` size, ``--draws`` times: that many of the remaining items are drawn uniformly as
the audit slice, ``AutoAcceptPolicy`` is certified on them with the rest as its reference and
applied to the rest, and the oracle measures what it accepted. Unlike the simulator's rounds
(``--target-precision``), the model and the audit size are fixed here, so the draws are
independent and the failure rate can be read against ``alpha``.

Not part of ``make bench`` (minutes per catalog on 2 cores); figures in
docs/results/issue-17/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier.certify import AutoAcceptPolicy  # noqa: E402
from classifier.simulate import data as D  # noqa: E402
from classifier.simulate.loop import LoopSettings, Task, fit_model, take  # noqa: E402
from classifier.simulate.run import SimConfig, build_features, load_data, splits  # noqa: E402
from classifier.tree import Tree  # noqa: E402


def main() -> None:
    args = _parser().parse_args()
    config = SimConfig(
        path=args.path, out=Path("/dev/null"), title_col=args.title_col, cache_dir=args.cache_dir
    )
    task = _task(config)
    rng = np.random.default_rng(args.seed)
    print("| labels | audit | certified | accepted (mean) | accepted when certified | "
          "min true precision | below target |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for n_labels in args.labels:
        trained = rng.choice(task.n_train, n_labels, replace=False)
        model = fit_model(task, trained, LoopSettings(), 0)
        rest = np.setdiff1d(np.arange(task.n_train), trained)  # never audit what it learnt
        proba = model.predict_proba(take(task.X_train, rest))
        for n_audit in args.audit:
            print(_row(task.tree, proba, task.y_train[rest], n_labels, n_audit, args, rng))


def _row(tree: Tree, proba: np.ndarray, y: np.ndarray, n_labels: int, n_audit: int,
         args: argparse.Namespace, rng: np.random.Generator) -> str:  # fmt: skip
    shares, precisions = [], []
    for _ in range(args.draws):
        audit = rng.choice(len(y), n_audit, replace=False)
        pool = np.setdiff1d(np.arange(len(y)), audit)
        policy = AutoAcceptPolicy(tree, target=args.target).fit(
            proba[audit], y[audit], reference_proba=proba[pool]
        )
        decided = policy.apply(proba[pool])
        accepted = decided.accepted
        shares.append(float(accepted.mean()))
        if accepted.any():
            precisions.append(
                float(tree.ancestors[decided.node[accepted], y[pool][accepted]].mean())
            )
    certified = len(precisions)
    when = np.mean([s for s in shares if s > 0]) if certified else 0.0
    low = f"{min(precisions):.4f}" if precisions else "–"
    below = sum(p < args.target for p in precisions)
    return (
        f"| {n_labels:,} | {n_audit:,} | {certified} of {args.draws} | {np.mean(shares):.3f} | "
        f"{when:.3f} | {low} | {below} of {args.draws} |"
    )


def _task(config: SimConfig) -> Task:
    data, _ = load_data(config)
    X, _ = build_features(data, config)
    tree = Tree.from_paths(sorted(set(data.paths)), sep=config.path_sep)
    y = D.node_labels(tree, data.paths, config.path_sep)
    train, test = splits(data, y, config, X.get("text"))["grouped"]
    return Task(tree, "text", take(X, train), y[train], take(X, test), y[test])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("path", type=Path)
    p.add_argument("--title-col", default="title")
    p.add_argument("--cache-dir", type=Path, default=Path("var/cache"))
    p.add_argument("--labels", type=_ints, default=(1000, 2000))
    p.add_argument("--audit", type=_ints, default=(450, 700, 950, 1300))
    p.add_argument("--draws", type=int, default=20)
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--seed", type=int, default=1)
    return p


def _ints(value: str) -> tuple[int, ...]:
    return tuple(int(v) for v in value.split(","))


if __name__ == "__main__":
    main()
