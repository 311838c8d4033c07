"""Derive the demo's fashion inputs from ../shared/data/fashion/items.csv into a folder under var/.

Writes taxonomy.txt (every category path, one per line) and items.csv (the catalog with the label
kept on 5% of rows, chosen with a fixed seed, so the demo has something for the loop to learn).
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path


def main(src: str, out_dir: str, keep: float = 0.05) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    paths = sorted({r["category_path"] for r in rows if r["category_path"]})
    (out / "taxonomy.txt").write_text("\n".join(paths) + "\n", encoding="utf-8")
    rng = random.Random(0)
    for row in rows:
        if rng.random() >= keep:
            row["category_path"] = ""
    with open(out / "items.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} items, {len(paths)} category paths → {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
