"""Issue 19, "a second view of the text", screened outside the loop: on random samples of the
training side, the neural text model, the char n-gram head (``classifier.lexical``) alone, and
the two pooled with the weight and temperature fitted on 5-fold out-of-fold predictions of the
sample (no test labels); plus, for reference only, the best weight read off the test split.

    python benchmarks/lexical_issue19.py ../shared/data/bigbasket/items.csv --title-col title \
        --cache-dir /tmp/exp/cache
    python benchmarks/lexical_issue19.py --cost ../shared/data/bigbasket/items.csv \
        --title-col title --cache-dir /tmp/exp/cache   # fit + rescore of 100k items, seconds

Data, classes and the grouped split are the simulator's. Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier import lexical  # noqa: E402
from classifier.metrics import evaluate  # noqa: E402
from classifier.model import HierarchicalClassifier  # noqa: E402
from classifier.simulate import data as D  # noqa: E402
from classifier.simulate.run import SimConfig, build_features, load_data, splits  # noqa: E402
from classifier.splits import duplicate_groups  # noqa: E402
from classifier.tree import Tree  # noqa: E402

FOLDS = 5


def figures(tree: Tree, proba: np.ndarray, y: np.ndarray) -> str:
    r = evaluate(tree, proba, y, thresholds=0.85)
    return f"acc {r['leaf_accuracy']:.4f}  mF1 {r['macro_f1']:.4f}  ECE {r['ece']:.4f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("path", type=Path)
    p.add_argument("--title-col", default="title")
    p.add_argument("--labels", default="500,1000,2000")
    p.add_argument("--cache-dir", type=Path, default=Path("var/cache"))
    p.add_argument("--alpha", default="3e-5", help="comma list of head alphas")
    p.add_argument("--ngram", default="2,5")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    config = SimConfig(
        path=args.path, out=Path("/dev/null"), title_col=args.title_col, cache_dir=args.cache_dir
    )
    data, _ = load_data(config)
    X, _ = build_features(data, config)
    tree = Tree.from_paths(sorted(set(data.paths)), sep=config.path_sep)
    y = D.node_labels(tree, data.paths, config.path_sep)
    train, test = splits(data, y, config, X["text"])["grouped"]
    lo, hi = (int(v) for v in args.ngram.split(","))
    t0 = time.perf_counter()
    S = lexical.CharNgramView(ngram_range=(lo, hi)).fit_transform(list(data.titles))
    print(f"{args.path.parent.name}: {tree.n_leaves} leaves; view {time.perf_counter() - t0:.1f}s")
    cols = tree.leaf_index[y]
    rng = np.random.default_rng(args.seed)
    text = X["text"]
    for n in (int(v) for v in args.labels.split(",")):
        rows = rng.choice(train, n, replace=False)
        model = HierarchicalClassifier(tree, modalities=("text",), seed=0)
        model.fit({"text": text[rows]}, y[rows])
        p_nn = model.predict_proba({"text": text[test]})
        print(f"n={n} neural           {figures(tree, p_nn, y[test])}")
        for c in (float(v) for v in args.alpha.split(",")):
            t0 = time.perf_counter()
            head = lexical.LexicalHead(tree.n_leaves, alpha=c).fit(S[rows], cols[rows])
            p_lex = head.predict_proba(S[test])
            secs = time.perf_counter() - t0
            print(f"n={n} lexical a={c:<6} {figures(tree, p_lex, y[test])}  fit+pred {secs:.1f}s")
            oof_nn, oof_lex = out_of_fold(tree, text, S, y, cols, rows, c)
            t0 = time.perf_counter()
            w, t = lexical.fit_pool(oof_nn, oof_lex, cols[rows])
            secs = time.perf_counter() - t0
            fused = lexical.pool(p_nn, p_lex, w, t)
            print(
                f"n={n} pooled w={w:.1f} T={t:.2f} {figures(tree, fused, y[test])}  fit {secs:.1f}s"
            )
            for w2 in (0.3, 0.5):
                print(
                    f"   (fixed w={w2}, T=1) {figures(tree, lexical.pool(p_nn, p_lex, w2), y[test])}"
                )
            am = 0.5 * p_nn + 0.5 * p_lex
            print(f"   (arith 0.5)         {figures(tree, am, y[test])}")
    return 0


def out_of_fold(tree, text, S, y, cols, rows, c):  # type: ignore[no-untyped-def]
    groups = duplicate_groups(vectors=text[rows])
    uniq = np.unique(groups)
    rng = np.random.default_rng(0)
    fold_of = dict(zip(uniq.tolist(), (rng.permutation(len(uniq)) % FOLDS).tolist(), strict=True))
    folds = np.array([fold_of[g] for g in groups.tolist()])
    oof_nn = np.zeros((len(rows), tree.n_leaves), dtype=np.float32)
    oof_lex = np.zeros_like(oof_nn)
    for k in range(FOLDS):
        held, rest = rows[folds == k], rows[folds != k]
        m = HierarchicalClassifier(tree, modalities=("text",), seed=0)
        m.fit({"text": text[rest]}, y[rest])
        oof_nn[folds == k] = m.predict_proba({"text": text[held]})
        h = lexical.LexicalHead(tree.n_leaves, alpha=c).fit(S[rest], cols[rest])
        oof_lex[folds == k] = h.predict_proba(S[held])
    return oof_nn, oof_lex


def cost(argv: list[str] | None = None) -> int:
    """Per-round cost at ``--labels`` (one count) random labels: fit, then rescore 100,000 items
    (the catalog's titles repeated), today's model against ``--lexical both``; seconds."""
    import torch

    from classifier.simulate.lexical_loop import CHARS, fit_with_lexical

    p = argparse.ArgumentParser()
    p.add_argument("path", type=Path)
    p.add_argument("--title-col", default="title")
    p.add_argument("--labels", type=int, default=2000)
    p.add_argument("--cache-dir", type=Path, default=Path("var/cache"))
    args = p.parse_args(argv)
    config = SimConfig(
        path=args.path, out=Path("/dev/null"), title_col=args.title_col, cache_dir=args.cache_dir
    )
    data, _ = load_data(config)
    X, _ = build_features(data, config)
    torch.set_num_threads(1)  # as the simulator fits (--threads 1): shared cores thrash otherwise
    tree = Tree.from_paths(sorted(set(data.paths)), sep=config.path_sep)
    y = D.node_labels(tree, data.paths, config.path_sep)
    titles = list(data.titles)
    view = lexical.CharNgramView().fit(titles)
    rows = np.random.default_rng(0).choice(len(y), args.labels, replace=False)
    big = np.resize(np.arange(len(y)), 100_000)
    kwargs = {"modalities": ("text",), "seed": 0}
    X_big = {"text": X["text"][big]}
    texts = [titles[i] for i in rows]
    for attempt in (1, 2):  # the second of two: the machine is shared
        t0 = time.perf_counter()
        plain = HierarchicalClassifier(tree, **kwargs).fit({"text": X["text"][rows]}, y[rows])
        t1 = time.perf_counter()
        plain.predict_topk(X_big, k=5)
        t2 = time.perf_counter()
        both = fit_with_lexical(
            tree, {"text": X["text"][rows], CHARS: view.transform(texts)}, y[rows], "both",
            dict(kwargs),
        )  # fmt: skip
        t3 = time.perf_counter()
        S = view.transform([titles[i] for i in big])
        t4 = time.perf_counter()
        both.predict_topk({**X_big, CHARS: S}, k=5)
        t5 = time.perf_counter()
        print(f"{args.path.parent.name} {args.labels} labels, rescore 100k (try {attempt}):")
        print(f"  today: fit {t1 - t0:.1f}s  rescore {t2 - t1:.1f}s  total {t2 - t0:.1f}s")
        print(
            f"  lexical both: fit {t3 - t2:.1f}s  view of 100k titles {t4 - t3:.1f}s  "
            f"rescore {t5 - t4:.1f}s  total {t5 - t2:.1f}s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cost"]:
        raise SystemExit(cost(sys.argv[2:]))
    raise SystemExit(main())
