"""How many held-out titles were seen in training: the loop's evaluation split by item id
(before issue 14) against the split by duplicate group (``classifier.splits``).

    python benchmarks/bench_split_leakage.py ../shared/data/fashion/items.csv \
        --title-col productDisplayName
    python benchmarks/bench_split_leakage.py ../shared/data/bigbasket/items.csv

Each row is one labelled item (its id, title and ``category_path``); the split holds out
``--fraction`` of each category as ``labeling.services.learning.training_data.evaluation_mask`` does
(no audit labels here). Prints the share of held-out rows whose normalised title also occurs
among the training rows, for both splits.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier.splits import (  # noqa: E402
    duplicate_groups,
    group_units,
    holdout_mask,
    normalise_title,
    title_leakage,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--id-col", default="id")
    parser.add_argument("--title-col", default="title")
    parser.add_argument("--label-col", default="category_path")
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--salt", default="1", help="the taxonomy version id in the loop")
    args = parser.parse_args()
    with args.csv.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r[args.label_col] and r[args.title_col]]
    ids = [r[args.id_col] for r in rows]
    titles = [r[args.title_col] for r in rows]
    labels = np.unique([r[args.label_col] for r in rows], return_inverse=True)[1]
    by_id = np.arange(len(rows))  # every item its own group: the split before issue 14
    splits = {
        "by item id": holdout_mask(
            labels, by_id, group_units(by_id, ids, args.salt), args.fraction
        ),
    }
    groups = duplicate_groups(titles=titles)
    keys = [normalise_title(t) for t in titles]
    splits["by title group"] = holdout_mask(
        labels, groups, group_units(groups, keys, args.salt), args.fraction
    )
    print(f"{args.csv}: {len(rows):,} items, {groups.max() + 1:,} distinct titles")
    for name, held in splits.items():
        leaked = title_leakage(titles, held)
        print(
            f"  {name:15s} held out {held.sum():6,}: {leaked:6.1%} of their titles seen in training"
        )


if __name__ == "__main__":
    main()
