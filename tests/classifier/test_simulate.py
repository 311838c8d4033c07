"""The active-learning simulator on tiny synthetic files, with a fake encoder (no model loads)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifier.datasets import MISSING_COLUMN, DatasetError, load_labelled
from classifier.encoders import register_encoder
from classifier.encoders.base import Encoder
from classifier.simulate.cli import main
from classifier.simulate.data import split_indices
from classifier.simulate.report import labels_to_reach, summarise

LEAVES = {
    "Apparel > Topwear > Shirts": "shirt",
    "Apparel > Topwear > Tshirts": "tshirt",
    "Apparel > Bottomwear > Jeans": "jeans",
    "Footwear > Shoes > Sneakers": "sneaker",
}
NOISE = ["red", "blue", "men", "women", "cotton", "slim", "classic", "sport"]


class WordHashEncoder(Encoder):
    """Sum of a fixed random vector per word: similar titles get similar vectors."""

    modality = "text"
    dim = 16
    calls = 0

    def _load(self) -> Any:
        return True

    def _encode_batch(self, batch: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        WordHashEncoder.calls += len(batch)
        return np.stack([self._vector(str(text)) for text in batch]), {}

    @staticmethod
    def _vector(text: str) -> np.ndarray:
        out = np.zeros(WordHashEncoder.dim, dtype=np.float32)
        for word in text.lower().split():
            seed = int.from_bytes(hashlib.sha1(word.encode()).digest()[:4], "little")
            out += np.random.default_rng(seed).normal(size=WordHashEncoder.dim).astype(np.float32)
        return out / max(float(np.linalg.norm(out)), 1e-6)


register_encoder("test-wordhash", WordHashEncoder)


def write_catalog(path: Path, per_class: int = 30, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "category"])
        for c, (category, word) in enumerate(LEAVES.items()):
            for i in range(per_class):
                noise = " ".join(rng.choice(NOISE, size=2, replace=False))
                writer.writerow([f"{c}-{i}", f"{noise} {word} {i % 7}", category])
    return path


def run_cli(path: Path, out: Path, *extra: str) -> int:
    args = [
        str(path),
        "--id-col",
        "sku",
        "--title-col",
        "name",
        "--label-col",
        "category",
        "--encoder-text",
        "test-wordhash",
        "--cache-dir",
        str(out.parent / "cache"),
        "--out",
        str(out),
        "--max-epochs",
        "15",
        "--quiet",
        *extra,
    ]
    return main(args)


@pytest.fixture(scope="module")
def sim_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim")
    out = root / "out"
    run_cli(
        write_catalog(root / "catalog.csv"),
        out,
        "--strategies",
        "random,margin",
        "--repeats",
        "2",
        "--seed-size",
        "12",
        "--batch",
        "10",
        "--budget",
        "32",
    )
    return out


def read_curves(out: Path) -> list[dict[str, str]]:
    with (out / "curves.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_it_writes_one_curve_row_per_strategy_repeat_and_round(sim_out: Path) -> None:
    rows = read_curves(sim_out)
    # Rounds at 12, 22 and 32 labels (the last batch is cut to the budget).
    assert len(rows) == 2 * 2 * 3
    assert sorted({int(r["n_labels"]) for r in rows}) == [12, 22, 32]
    assert {(r["strategy"], r["repeat"]) for r in rows} == {
        (s, str(k)) for s in ("random", "margin") for k in (0, 1)
    }
    assert all(0.0 <= float(r["leaf_accuracy"]) <= 1.0 for r in rows)


def test_it_learns_the_synthetic_classes_under_full_supervision(sim_out: Path) -> None:
    summary = json.loads((sim_out / "summary.json").read_text())
    full = summary["results"][0]["full_supervision"]
    assert summary["dataset"]["n_classes"] == 4
    assert full["n_train"] + full["n_test"] == 120
    assert full["leaf_accuracy"] > 0.8  # chance is 0.25


def test_it_draws_the_curves_as_a_png(sim_out: Path) -> None:
    assert (sim_out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "labels to 95%" in (sim_out / "summary.md").read_text()


def test_it_interpolates_the_labels_needed_between_rounds() -> None:
    n, acc = [100, 200, 300], [0.5, 0.7, 0.9]
    assert labels_to_reach(n, acc, 0.8) == pytest.approx(250.0)
    assert labels_to_reach(n, acc, 0.9) == pytest.approx(300.0)
    assert labels_to_reach(n, acc, 0.4) == 100.0
    assert labels_to_reach(n, acc, 0.95) is None


def test_it_summarises_labels_to_90_and_95_percent_from_the_mean_over_repeats() -> None:
    def row(strategy: str, repeat: int, n: int, acc: float) -> dict[str, Any]:
        return {
            "split": "grouped",
            "modality": "text",
            "strategy": strategy,
            "repeat": repeat,
            "n_labels": n,
            "leaf_accuracy": acc,
            "macro_f1": acc,
        }

    # Random's mean curve: 0.80, 0.88, 0.96; margin's: 0.90, 0.96, 0.98 (full = 1.0).
    rows = [
        row("random", 0, 100, 0.78),
        row("random", 1, 100, 0.82),
        row("random", 0, 200, 0.88),
        row("random", 1, 200, 0.88),
        row("random", 0, 300, 0.96),
        row("random", 1, 300, 0.96),
        row("margin", 0, 100, 0.90),
        row("margin", 0, 200, 0.96),
        row("margin", 0, 300, 0.98),
    ]
    result = summarise(rows, {("grouped", "text"): {"leaf_accuracy": 1.0}})[0]["strategies"]
    assert result["random"]["labels_to_90pct"] == pytest.approx(225.0)  # 200 + 0.02/0.08 * 100
    assert result["random"]["labels_to_95pct"] == pytest.approx(287.5)  # 200 + 0.07/0.08 * 100
    assert result["margin"]["labels_to_90pct"] == pytest.approx(100.0)
    assert result["margin"]["labels_to_95pct"] == pytest.approx(100 + 0.05 / 0.06 * 100)
    assert result["margin"]["saving_vs_random_95pct"] == pytest.approx(
        287.5 / (100 + 0.05 / 0.06 * 100)
    )


def test_it_says_not_reached_and_gives_a_lower_bound_saving_when_random_falls_short() -> None:
    rows = [
        {
            "split": "s",
            "modality": "m",
            "strategy": s,
            "repeat": 0,
            "n_labels": n,
            "leaf_accuracy": a,
            "macro_f1": a,
        }
        for s, n, a in [
            ("random", 100, 0.5),
            ("random", 200, 0.6),
            ("margin", 100, 0.5),
            ("margin", 200, 1.0),
        ]
    ]
    result = summarise(rows, {("s", "m"): {"leaf_accuracy": 1.0}})[0]["strategies"]
    assert result["random"]["labels_to_95pct"] is None
    assert result["margin"]["labels_to_95pct"] == pytest.approx(190.0)
    assert result["margin"]["saving_vs_random_95pct_at_least"] is True


def test_it_keeps_identical_titles_on_one_side_of_the_split() -> None:
    labels = np.repeat([0, 1], 40)
    groups = [f"title {i // 4}" for i in range(80)]  # 20 groups of 4 identical titles
    train, test = split_indices(labels, test_size=0.25, seed=3, groups=groups)
    assert not {groups[i] for i in train} & {groups[i] for i in test}
    # Quota 10 per class plus a slack of 2 admits three groups of 4 per class.
    assert np.bincount(labels[test]).tolist() == [12, 12]


def test_the_grouped_split_keeps_identical_embeddings_on_one_side_too() -> None:
    from classifier.datasets import LabelledData
    from classifier.simulate.run import SimConfig, splits

    n = 80  # distinct titles, but every 4 items share one text embedding
    data = LabelledData(
        ids=[str(i) for i in range(n)],
        titles=[f"title {i}" for i in range(n)],
        descriptions=[""] * n,
        attributes=[{}] * n,
        images=[None] * n,
        paths=[("A",)] * n,
        rows=list(range(n)),
        columns=[],
    )
    vectors = np.repeat(np.arange(20.0), 4)[:, None] * np.ones((1, 3))
    config = SimConfig(path=Path("x.csv"), out=Path("out"))
    train, test = splits(data, np.repeat([0, 1], 40), config, vectors=vectors)["grouped"]
    assert len(test) and not {i // 4 for i in train} & {i // 4 for i in test}


def test_it_reads_jsonl_with_other_column_names_and_list_paths(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    lines = [
        {"name": f"{word} {i}", "cat": c.split(" > "), "desc": "nice"}
        for c, word in LEAVES.items()
        for i in range(6)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    data = load_labelled(path, title_col="name", label_col="cat", description_col="desc")
    assert len(data) == 24 and data.paths[0] == ("Apparel", "Topwear", "Shirts")
    assert data.ids[:2] == ["1", "2"] and data.descriptions[0] == "nice"


def test_it_names_a_missing_column_and_lists_the_columns_present(tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "c.csv", per_class=5)
    with pytest.raises(DatasetError) as error:
        load_labelled(path, title_col="title", label_col="category")
    assert str(error.value) == MISSING_COLUMN.format(
        column="title", role="title", path=path, present="sku, name, category"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--title-col", "nope"], "column 'nope' (title) not found"),
        (["--min-class-size", "31"], "only 0 class(es) have at least 31 items"),
        (
            ["--budget", "50", "--seed-size", "100"],
            "--budget (50) is smaller than --seed-size (100)",
        ),
    ],
)
def test_it_rejects_bad_input_with_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_cli(write_catalog(tmp_path / "c.csv"), tmp_path / "out", *extra)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_it_rejects_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli(tmp_path / "missing.csv", tmp_path / "out")
    assert "cannot read" in capsys.readouterr().err


def test_it_encodes_each_title_once_across_runs(tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "c.csv", per_class=10)
    run_cli(path, tmp_path / "a", "--full-only")
    before = WordHashEncoder.calls
    run_cli(path, tmp_path / "b", "--full-only")
    assert WordHashEncoder.calls == before
