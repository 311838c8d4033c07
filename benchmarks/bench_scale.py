"""The whole product at 100k and 1M items over the Google Product Taxonomy (PostgreSQL).

    python benchmarks/bench_scale.py [--sizes 100000 1000000] [--label-share 0.1]
                                     [--train-labels N] [--rescore-sample 0]
                                     [--repeat 5] [--decisions 200] [--keep-db]
                                     [--rules 200]

About 45 minutes with the defaults on 2 quiet cores (mostly the 1M rescore and training).

For each size, in a fresh process and a fresh scratch database
(``taxoloop_bench_scale_<size>``: created, migrated, dropped at the end unless ``--keep-db``)
with the Google Product Taxonomy (../shared/data/google_taxonomy, 5,595 nodes) as the
current version, times these stages with their peak resident memory (sampled; absolute and
above the stage's start):

1. import: a synthetic catalog CSV of N items (id, title, description, two attributes)
   through the real catalog import (``catalog_import``, as ``manage.py import_catalog``);
2. embeddings: synthetic 384-d text embeddings for every item, clustered per leaf as in
   bench_loop, by COPY: this stands in for the encoder (its own figures: bench_encoders.py);
3. labels: ``--label-share`` of N items labelled on their true leaf through the ledger's
   bulk path (10% by default: 10,000 at 100k, 100,000 at 1M: the issue's 100,000 labels, the
   same label density at both sizes). ``--train-labels`` of them (default: all) are written
   before training, the rest after it: see 4;
4. train: a manual training run (gather, fit, calibrate, evaluate, promote) on the labels
   written so far (80% of them train, 20% are the honest evaluation). On the Google taxonomy
   (4,719 leaves) an optimiser step costs ~80 ms on 2 quiet cores, linear in the leaves; a
   fit runs at most ``LEAF_STEP_BUDGET`` / leaves (~3,200) steps, so 100,000 labels no
   longer take 60 epochs (~45 minutes) but ~9;
5. rescore: the promoted model on every item (default), or with ``--rescore-sample`` on that
   many random items, the time then projected linearly to N (rescore is independent chunks
   of ids). The other items then get a copy of a scored item's prediction (set-up, not
   timed), so the queue and the reports see N predictions;
6. queue rebuild;
7. report pages: median of ``--repeat`` requests of the catalog report, a node filter (the
   biggest department) and the disagreement filter (in-process test client);
8. review round trip: ``--decisions`` times "decide + next" (in-process test client).

With ``--rules N`` (issue 17), after the rescore stage the same items are rescored again
twice without and twice with N rules, alternating, and the overhead is printed
(``_scale_rules.py``).

Then a table: seconds at each size, the ratio between the two largest sizes, peak RSS, and a
flag where a stage grew faster than the catalog (ratio above 1.2 x the size ratio). The
machine's load average is printed before and after: figures on a shared machine are under
load. Skips with a message (exit 0) when PostgreSQL or the taxonomy file is missing.

Environment: ``BENCH_DATABASE_URL`` (overrides the per-size database URL; dropped first),
``TAXOLOOP_SHARED_DATA`` (default ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._pg import admin_connect, in_process_django  # noqa: E402
from benchmarks.bench_publish import TAXONOMY_FILE  # noqa: E402

URL_TEMPLATE = "postgres://postgres@127.0.0.1:5432/taxoloop_bench_scale_{size}"
DEFAULT_SIZES = (100_000, 1_000_000)
SUPERLINEAR = 1.2  # a ratio above 1.2 x the size ratio is flagged
STAGES = (
    "import",
    "embeddings",
    "labels",
    "train",
    "rescore",
    "queue rebuild",
    "report pages",
    "review round trip",
)
# What each stage should grow like, and why (the table's explanation column).
EXPECTED = {
    "import": "linear: chunks of 1,000, each an indexed lookup + COPY",
    "embeddings": "linear: COPY (stands in for the encoder)",
    "labels": "linear in labels (10% of N)",
    "train": "linear in labels up to the step budget (~3,200 steps), then flat",
    "rescore": "linear: independent chunks of ids (see items_per_s)",
    "queue rebuild": "linear pool read + boundary; shortlist fixed",
    "report pages": "flat: keyset pages of 50 on indexes",
    "review round trip": "flat: leased entry by index",
}


# -- one size, in its own process ------------------------------------------------------------


def run_size(size: int, args: argparse.Namespace, out: Path) -> int:
    """Every stage at ``size`` items; the figures go to ``out`` as JSON."""
    import numpy as np

    url = os.environ.get("BENCH_DATABASE_URL", URL_TEMPLATE.format(size=size))
    with in_process_django(url, keep=args.keep_db) as ready:
        if ready is None:
            return 0
        from django.test import Client

        from benchmarks import _scale_stages as st
        from benchmarks.bench_publish import taxonomy_import

        figures: dict[str, Any] = {"size": size, "load_before": os.getloadavg()}
        version = taxonomy_import()
        leaves, names = st.leaves_of(version)
        truth = leaves[np.random.default_rng(args.seed).integers(0, len(leaves), size)]
        n_labels = int(size * args.label_share)
        with tempfile.TemporaryDirectory(prefix="taxoloop-bench-scale-") as tmp:
            scratch = Path(tmp)
            t0 = time.perf_counter()
            st.catalog_csv_write(
                scratch / "catalog.csv", truth, dict(zip(leaves, names, strict=True))
            )
            print(f"set-up (not a stage): catalog CSV written in {time.perf_counter() - t0:.0f} s")
            results = {"import": st.stage_import(scratch / "catalog.csv", scratch, size)}
            ids = st.item_ids()
            results["embeddings"] = st.stage_embeddings(version, ids, truth, args.seed)
            before, after = st.label_rows(
                size, n_labels, min(n_labels, args.train_labels or n_labels), args.seed
            )
            first = st.stage_labels(version, ids, truth, before)
            results["train"], model = st.stage_train(version)
            results["labels"] = merged(first, st.stage_labels(version, ids, truth, after))
            results["rescore"] = st.stage_rescore(model, ids, args.rescore_sample, args.seed)
            if results["rescore"].details.get("projected"):
                t0 = time.perf_counter()
                filled = st.predictions_fill(model)
                print(
                    f"set-up (not a stage): {filled:,} predictions copied from the sampled"
                    f" ones in {time.perf_counter() - t0:.0f} s"
                )
            if args.rules:
                from benchmarks._scale_rules import rules_overhead

                figures["rules"] = rules_overhead(model, version, ids, args)
            results["queue rebuild"] = st.stage_queue(version)
            client = Client()
            client.force_login(st.reviewer())
            results["report pages"] = st.stage_reports(client, version, args.repeat)
            results["review round trip"] = st.stage_review(client, args.decisions)
        figures["stages"] = {name: r.as_dict() for name, r in results.items()}
        figures["labels"] = n_labels
        figures["train_labels"] = len(before)
        figures["load_after"] = os.getloadavg()
        out.write_text(json.dumps(figures, indent=1, default=str))
    return 0


def merged(first: Any, second: Any) -> Any:
    """One stage written in two parts (labels before and after training) as one result."""
    first.seconds += second.seconds
    first.peak_mb = max(first.peak_mb, second.peak_mb)
    first.delta_mb = max(first.delta_mb, second.delta_mb)
    first.details = {"labels": first.details["labels"] + second.details["labels"]}
    return first


# -- the table -------------------------------------------------------------------------------


def stage_seconds(figures: dict[str, Any], stage: str) -> float:
    """The figure compared across sizes: wall seconds, or for the request stages the median
    request time (their wall time is a fixed number of requests)."""
    entry = figures["stages"][stage]
    if stage == "report pages":
        return float(max(entry["details"]["median_ms"].values())) / 1000
    if stage == "review round trip":
        return float(entry["details"]["median_ms"]) / 1000
    return float(entry["seconds"])


def table(runs: list[dict[str, Any]]) -> list[str]:
    """Stage by stage: time at each size, the ratio of the last two, peak RSS, flag."""
    sizes = [r["size"] for r in runs]
    lines = []
    head = "".join(f"{f'{s:,}':>12}" for s in sizes)
    rss = "".join(f"{f'RSS {s // 1000}k':>11}" for s in sizes)
    lines.append(f"{'stage':<19}{head}  {'ratio':>6}{rss}  growth")
    ratio_limit = SUPERLINEAR * sizes[-1] / sizes[-2] if len(sizes) > 1 else None
    for stage in STAGES:
        values = [stage_seconds(r, stage) for r in runs]
        unit = "ms" if stage in ("report pages", "review round trip") else "s"
        cells = "".join(f"{v * 1000:10.1f}ms" if unit == "ms" else f"{v:11.1f}s" for v in values)
        ratio = values[-1] / values[-2] if len(values) > 1 and values[-2] else float("nan")
        peaks = "".join(f"{r['stages'][stage]['peak_mb']:9.0f}MB" for r in runs)
        flag = "SUPER-LINEAR " if ratio_limit and ratio > ratio_limit else ""
        lines.append(f"{stage:<19}{cells}  {ratio:6.2f}{peaks}  {flag}{EXPECTED[stage]}")
    return lines


def details(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in runs:
        load = "/".join(f"{x:.1f}" for x in r["load_before"][:1] + r["load_after"][:1])
        lines.append(f"{r['size']:,} items, {r['labels']:,} labels, load before/after {load}:")
        for stage in STAGES:
            entry = r["stages"][stage]
            extra = json.dumps(entry["details"]) if entry["details"] else ""
            lines.append(
                f"  {stage:<18} {entry['seconds']:8.1f} s  +{entry['delta_mb']:.0f} MB  {extra}"
            )
    return lines


# -- main ------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument(
        "--label-share", type=float, default=0.1, help="share of items labelled (default 10%%)"
    )
    parser.add_argument(
        "--train-labels",
        type=int,
        default=0,
        help="labels present when training runs (the rest are written after it; 0 = all)",
    )
    parser.add_argument(
        "--rescore-sample",
        type=int,
        default=0,
        help="items rescored for real, time projected to all (0 = every item, the default)",
    )
    parser.add_argument(
        "--rules",
        type=int,
        default=0,
        help="after the rescore, time it again without and with this many rules (issue 17)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="requests per report page")
    parser.add_argument("--decisions", type=int, default=200, help="review decisions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-db", action="store_true", help="leave the databases for a look")
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def child_args(args: argparse.Namespace, size: int, out: Path) -> list[str]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--one-size", str(size)]
    argv += ["--json-out", str(out), "--label-share", str(args.label_share)]
    argv += ["--repeat", str(args.repeat), "--decisions", str(args.decisions)]
    argv += ["--train-labels", str(args.train_labels)]
    argv += ["--rescore-sample", str(args.rescore_sample), "--rules", str(args.rules)]
    argv += ["--seed", str(args.seed)] + (["--keep-db"] if args.keep_db else [])
    return argv


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.one_size:
        return run_size(args.one_size, args, args.json_out)
    if not TAXONOMY_FILE.exists():
        print(
            f"skipped: the Google Product Taxonomy is not at {TAXONOMY_FILE}"
            " (set TAXOLOOP_SHARED_DATA)"
        )
        return 0
    admin = admin_connect(
        os.environ.get("BENCH_DATABASE_URL", URL_TEMPLATE.format(size=args.sizes[0]))
    )
    if admin is None:
        return 0  # admin_connect said why
    admin.close()
    runs = []
    with tempfile.TemporaryDirectory(prefix="taxoloop-bench-scale-") as tmp:
        for size in args.sizes:
            print(
                f"=== {size:,} items (load average {os.getloadavg()[0]:.1f}"
                f" on {os.cpu_count()} CPUs)",
                flush=True,
            )
            out = Path(tmp) / f"{size}.json"
            done = subprocess.run(child_args(args, size, out), cwd=ROOT, check=False)
            if done.returncode != 0 or not out.exists():
                print(f"the {size:,}-item run failed (exit {done.returncode})")
                return 1
            runs.append(json.loads(out.read_text()))
    print("\n" + "\n".join(details(runs)))
    print("\nscale (report pages: slowest median of the three; review: median decide+next)")
    print("\n".join(table(runs)))
    from benchmarks._scale_rules import rules_lines

    for run in runs:
        print("\n".join(rules_lines(run)))
    print(
        "figures under the load printed above (a shared machine); peak RSS is this"
        " process's, PostgreSQL's own memory is not in it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
