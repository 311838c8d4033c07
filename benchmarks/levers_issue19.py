"""Two of issue 19's levers, measured outside the product: a character n-gram view of the title,
and where the temperature is fitted.

    python benchmarks/levers_issue19.py ../shared/data/bigbasket/items.csv --title-col title
    python benchmarks/levers_issue19.py ../shared/data/fashion/items.csv \
        --title-col productDisplayName

Data, classes and the grouped split are the simulator's (``classifier.simulate``: classes with
fewer than 5 items dropped, identical titles on one side). For each ``--labels`` count, a
random sample of the training side trains ``HierarchicalClassifier`` with its defaults, and the
test side is scored:

- ``chars``: text only against text + a second modality, hashed char_wb 2-4-gram counts (log
  tf, L2) randomly projected to ``--char-dim`` columns (stateless: no vocabulary to store);
- ``calibration``: ECE of the text model with its default temperature (cross-fitted below
  5,000 labels: ``calibration_folds=5``), with the fit's own validation split's
  (``calibration_folds=0``, before 2026-12-07), on 5-fold out-of-fold predictions of fully
  refitted models, and on 100 random unseen training-side items (what an audit slice of that
  size could give).

Not part of ``make bench`` (minutes per catalog on 2 cores); figures in the issue's closing note.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier.metrics import evaluate  # noqa: E402
from classifier.model import HierarchicalClassifier  # noqa: E402
from classifier.simulate import data as D  # noqa: E402
from classifier.simulate.run import SimConfig, build_features, load_data, splits  # noqa: E402
from classifier.splits import duplicate_groups  # noqa: E402
from classifier.tree import Tree  # noqa: E402

FOLDS = 5


def char_view(titles: list[str], dim: int) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.preprocessing import normalize
    from sklearn.random_projection import SparseRandomProjection

    counts = HashingVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), n_features=2**20, alternate_sign=False, norm=None
    ).transform(titles)
    counts.data = 1.0 + np.log(counts.data)
    projection = SparseRandomProjection(dim, random_state=0, dense_output=True)
    return np.asarray(projection.fit_transform(normalize(counts)), dtype=np.float32)


def fit(
    tree: Tree, X: dict[str, np.ndarray], y: np.ndarray, rows: np.ndarray, **params: Any
) -> Any:
    model = HierarchicalClassifier(tree, modalities=tuple(X), seed=0, **params)
    return model.fit({m: v[rows] for m, v in X.items()}, y[rows])


def scores(tree: Tree, model: Any, X: dict[str, np.ndarray], y: np.ndarray) -> str:
    proba = model.predict_proba(X)
    r = evaluate(tree, proba, y, thresholds=0.85)
    return f"accuracy {r['leaf_accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  ECE {r['ece']:.4f}"


def out_of_fold_temperature(
    tree: Tree, X: dict[str, np.ndarray], y: np.ndarray, rows: np.ndarray, seed: int
) -> float:
    """The temperature minimising the NLL of ``FOLDS``-fold out-of-fold logits (groups of
    identical rows kept in one fold; partial labels left out)."""
    rng = np.random.default_rng(seed)
    groups = duplicate_groups(vectors=X["text"][rows])
    uniq = np.unique(groups)
    fold = dict(zip(uniq.tolist(), (rng.permutation(len(uniq)) % FOLDS).tolist(), strict=True))
    folds = np.array([fold[g] for g in groups.tolist()])
    logits = np.zeros((len(rows), tree.n_leaves), dtype=np.float64)
    for k in range(FOLDS):
        held = folds == k
        model = fit(tree, X, y, rows[~held])
        proba = model.predict_proba({m: v[rows[held]] for m, v in X.items()})
        # log p * T is the logit up to a per-row constant, which the softmax ignores.
        logits[held] = np.log(np.maximum(proba, 1e-12)) * model.temperature_
    cols = tree.leaf_index[y[rows]]
    keep = cols >= 0
    return _nll_temperature(logits[keep], cols[keep])


def _nll_temperature(logits: np.ndarray, cols: np.ndarray) -> float:
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.3), np.log(5.0), 200)):
        z = logits / t
        z -= z.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(cols)), cols]))
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--title-col", default="title")
    parser.add_argument("--labels", default="500,1000,2000,all")
    parser.add_argument("--char-dim", type=int, default=512)
    parser.add_argument("--cache-dir", type=Path, default=Path("var/cache"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.path.exists():
        print(f"{args.path} not found: this benchmark reads a catalog from ../shared/data")
        return 0
    config = SimConfig(
        path=args.path, out=Path("/dev/null"), title_col=args.title_col, cache_dir=args.cache_dir
    )
    data, _ = load_data(config)
    features, _ = build_features(data, config)
    tree = Tree.from_paths(sorted(set(data.paths)), sep=config.path_sep)
    y = D.node_labels(tree, data.paths, config.path_sep)
    train, test = splits(data, y, config, features["text"])["grouped"]
    both = {"text": features["text"], "chars": char_view(list(data.titles), args.char_dim)}
    text = {"text": features["text"]}
    rng = np.random.default_rng(args.seed)
    print(
        f"{args.path}: {len(data)} items, {tree.n_leaves} leaves, {len(train)} train / {len(test)} test"
    )
    for wanted in args.labels.split(","):
        n = len(train) if wanted == "all" else min(int(wanted), len(train))
        rows = train if n == len(train) else rng.choice(train, n, replace=False)
        model = fit(tree, text, y, rows)
        print(f"n={n} text                 {scores(tree, model, _rows(text, test), y[test])}")
        paired = fit(tree, both, y, rows)
        print(f"n={n} text + chars         {scores(tree, paired, _rows(both, test), y[test])}")
        if n == len(train):
            continue
        old = fit(tree, text, y, rows, calibration_folds=0)
        print(f"n={n} T validation split {scores(tree, old, _rows(text, test), y[test])}")
        oof = copy.deepcopy(model)
        oof.temperature_ = out_of_fold_temperature(tree, text, y, rows, args.seed)
        print(
            f"n={n} T out-of-fold {oof.temperature_:.3f} {scores(tree, oof, _rows(text, test), y[test])}"
        )
        audit = rng.choice(np.setdiff1d(train, rows), min(100, len(train) - n), replace=False)
        slice_t = copy.deepcopy(model).calibrate(_rows(text, audit), y[audit])
        print(
            f"n={n} T on 100 unseen {slice_t.temperature_:.3f} {scores(tree, slice_t, _rows(text, test), y[test])}"
        )
    return 0


def _rows(X: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {m: v[rows] for m, v in X.items()}


if __name__ == "__main__":
    raise SystemExit(main())
