"""Catalog import throughput on PostgreSQL: text-only rows/s and images/s.

    python benchmarks/bench_import.py [--image-rows 10000] [--keep-db] [--check]

Imports ``../shared/data/fashion/items.csv`` (44k rows: id, productDisplayName as the title,
gender/baseColour/season/year/usage as attributes, category_path as labels) into a throwaway
PostgreSQL database (created, migrated, and dropped at the end), the way ``import_catalog``
does. Figures: a first text-only import with labels (target ≥ 2,000 rows/s), a re-import of
the same file (every row unchanged: the no-op path), and an import with images from
``--images-root ../shared/data/fashion`` (target ≥ 200 images/s) on the first
``--image-rows`` rows. Skips with a message when the data or PostgreSQL is missing.

Environment: ``TAXOLOOP_SHARED_DATA`` (default ../shared/data), ``BENCH_DATABASE_URL``
(default postgres://postgres@127.0.0.1:5432/taxoloop_bench; the database is dropped first).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._pg import bench_env, django_setup, scratch_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/taxoloop_bench"
ATTRIBUTES = ("gender", "baseColour", "season", "year", "usage")
TEXT_TARGET = 2000.0
IMAGE_TARGET = 200.0


def shared_data() -> Path:
    default = ROOT / ".." / "shared" / "data"
    return Path(os.environ.get("TAXOLOOP_SHARED_DATA", default)).resolve()


def taxonomy_load(items_csv: Path) -> None:
    """The fashion taxonomy is every category path of the catalog, published as current."""
    from labeling.services.taxonomy.imports import taxonomy_import_text

    with items_csv.open(newline="", encoding="utf-8") as handle:
        paths = sorted(
            {row["category_path"] for row in csv.DictReader(handle) if row["category_path"]}
        )
    taxonomy_import_text(text="\n".join(paths), name="Fashion", fmt="paths", publish=True)


def subset_write(items_csv: Path, target: Path, rows: int) -> Path:
    with (
        items_csv.open(newline="", encoding="utf-8") as source,
        target.open("w", newline="") as out,
    ):
        reader = csv.reader(source)
        writer = csv.writer(out)
        writer.writerow(next(reader))
        for index, row in enumerate(reader):
            if rows and index >= rows:
                break
            writer.writerow(row)
    return target


def run_import(path: Path, scratch: Path, *, images_root: Path | None = None):  # noqa: ANN201
    from labeling.services.catalog.imports import ImportOptions, catalog_import

    options = ImportOptions(
        title_col="productDisplayName",
        attribute_cols=ATTRIBUTES,
        label_col="category_path",
        image_col="image" if images_root else "",
        images_root=images_root,
        progress=False,
        errors_file=scratch / f"{path.stem}.errors.csv",
    )
    return catalog_import(path=path, options=options)


def items_clear() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE labeling_item, labeling_label CASCADE")


def verdict(value: float, target: float) -> str:
    return f"target ≥ {target:,.0f}: {'met' if value >= target else 'NOT MET'}"


def report(title: str, summary) -> None:  # noqa: ANN001
    print(f"\n{title}")
    for line in summary.report():
        print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-rows", type=int, default=10000, help="0 = all rows")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is not met")
    args = parser.parse_args()

    data = shared_data() / "fashion"
    items_csv = data / "items.csv"
    if not items_csv.is_file():
        print(f"skipped: shared data not found at {items_csv} (set TAXOLOOP_SHARED_DATA)")
        return 0
    with scratch_database(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0
        with tempfile.TemporaryDirectory(prefix="taxoloop-bench-") as tmp:
            met = bench(items_csv, data, Path(tmp), url, args.image_rows)
            return 1 if args.check and not met else 0


def bench(items_csv: Path, data: Path, scratch: Path, url: str, image_rows: int) -> bool:
    """Run the three imports and print their figures; whether both targets were met."""
    django_setup(bench_env(url, scratch))
    taxonomy_load(items_csv)
    print(f"PostgreSQL {urlsplit(url).hostname}/{urlsplit(url).path.lstrip('/')}, {items_csv}")

    text = run_import(items_csv, scratch)
    report("1. text only, with labels (first import)", text)
    again = run_import(items_csv, scratch)
    report("2. the same file again (every row unchanged)", again)

    items_clear()
    subset = subset_write(items_csv, scratch / "items-subset.csv", image_rows)
    images = run_import(subset, scratch, images_root=data)
    report(f"3. with images from {data} (first {image_rows or 'all'} rows)", images)

    print("\nSummary")
    print(
        f"  text-only import: {text.rows_per_second:,.0f} rows/s ({verdict(text.rows_per_second, TEXT_TARGET)})"
    )
    print(f"  unchanged re-import: {again.rows_per_second:,.0f} rows/s")
    print(
        f"  import with images: {images.images_per_second:,.0f} images/s "
        f"({verdict(images.images_per_second, IMAGE_TARGET)})"
    )
    return text.rows_per_second >= TEXT_TARGET and images.images_per_second >= IMAGE_TARGET


if __name__ == "__main__":
    sys.exit(main())
