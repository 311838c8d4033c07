"""Throughput of Taxoloop's encoders against calling the libraries directly.

    python benchmarks/bench_encoders.py [--titles 2000] [--images 300] [--repeats 3]

Text: ``get_encoder("minilm-l6").encode`` vs ``SentenceTransformer.encode`` (same model files,
same batch size) on real titles. Images: ``get_encoder("effnet-lite0").encode`` on JPEG paths vs
the same timm model called directly, both end to end from JPEG (PIL decode + bicubic resize)
and on pre-decoded tensors (model only). Runs alternate so that background load hits both
sides alike; the best of ``--repeats`` runs is reported, with the median beside it.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier.encoders import build_effnet_lite0, get_encoder  # noqa: E402
from classifier.encoders.pixels import images_to_tensor  # noqa: E402
from classifier.encoders.sentence import minilm_model_dir  # noqa: E402


def shared_data() -> Path:
    default = ROOT / ".." / "shared" / "data"
    return Path(os.environ.get("TAXOLOOP_SHARED_DATA", default)).resolve()


def read_items(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def timed_rounds(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Alternate the runs ``repeats`` times after one warm-up each; seconds per run."""
    for run in runs.values():
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def report(unit: str, n: int, seconds: dict[str, list[float]], ours: str, direct: str) -> None:
    for name, times in seconds.items():
        best, median = n / min(times), n / statistics.median(times)
        print(f"  {name:<34} {best:8.1f} {unit}/s (best)  {median:8.1f} {unit}/s (median)")
    ratio = min(seconds[direct]) / min(seconds[ours])
    print(f"  ratio ours / direct (best): {ratio:.3f}")


def bench_text(titles: list[str], batch_size: int, repeats: int) -> None:
    from sentence_transformers import SentenceTransformer

    direct = SentenceTransformer(str(minilm_model_dir()), device="cpu", local_files_only=True)
    ours = get_encoder("minilm-l6").load()

    def run_direct() -> np.ndarray:
        return direct.encode(
            titles, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )

    def run_ours() -> np.ndarray:
        return ours.encode(titles, batch_size=batch_size)

    diff = float(np.abs(run_direct() - run_ours()).max())
    print(f"\nText: {len(titles)} titles, batch {batch_size}; max |ours - direct| = {diff:.2e}")
    seconds = timed_rounds(
        {"ours (minilm-l6)": run_ours, "direct SentenceTransformer": run_direct}, repeats
    )
    report("titles", len(titles), seconds, "ours (minilm-l6)", "direct SentenceTransformer")


def bench_images(paths: list[Path], batch_size: int, repeats: int) -> None:
    import torch
    from PIL import Image

    model = build_effnet_lite0().to(memory_format=torch.channels_last)
    ours = get_encoder("effnet-lite0").load()

    def direct_batches(batches: list[Any]) -> np.ndarray:
        with torch.inference_mode():
            return np.concatenate([model(x).numpy() for x in batches])

    def run_direct() -> np.ndarray:
        chunks = [paths[i : i + batch_size] for i in range(0, len(paths), batch_size)]
        tensors = [images_to_tensor([Image.open(p).convert("RGB") for p in c]) for c in chunks]
        return direct_batches(tensors)

    decoded = [
        images_to_tensor([Image.open(p).convert("RGB") for p in paths[i : i + batch_size]])
        for i in range(0, len(paths), batch_size)
    ]

    def run_ours() -> np.ndarray:
        return ours.encode(paths, batch_size=batch_size)

    diff = float(np.abs(run_direct() - run_ours()).max())
    print(f"\nImages: {len(paths)} JPEGs, batch {batch_size}; max |ours - direct| = {diff:.2e}")
    seconds = timed_rounds(
        {
            "ours (effnet-lite0, from JPEG)": run_ours,
            "direct timm, from JPEG": run_direct,
            "direct timm, model only": lambda: direct_batches(decoded),
        },
        repeats,
    )
    report(
        "images", len(paths), seconds, "ours (effnet-lite0, from JPEG)", "direct timm, from JPEG"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=2000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    items_csv = shared_data() / "fashion" / "items.csv"
    if not items_csv.is_file():
        print(f"skipped: shared data not found at {items_csv} (set TAXOLOOP_SHARED_DATA)")
        return 0
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    items = read_items(items_csv)
    bench_text(
        [r["productDisplayName"] for r in items[: args.titles]], args.batch_size, args.repeats
    )
    with_images = [items_csv.parent / r["image_224"] for r in items if r["image_224"]]
    bench_images(with_images[: args.images], args.batch_size, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
