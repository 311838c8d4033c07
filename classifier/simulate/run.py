"""One simulation from a config: data, features, splits, full supervision, curves, reports."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.certify import MAX_AUDIT_SHARE
from classifier.datasets import LabelledData, load_labelled
from classifier.simulate import data as D
from classifier.simulate import report
from classifier.simulate.certify_loop import run_certify_curve
from classifier.simulate.certify_report import certify_problem
from classifier.simulate.loop import (
    MODALITIES,
    LoopSettings,
    Task,
    full_supervision,
    run_curve,
    take,
)
from classifier.simulate.outputs import write_outputs
from classifier.splits import duplicate_groups
from classifier.tree import Tree

DEFAULT_STRATEGIES = (
    "random",
    "least_confidence",
    "margin",
    "entropy",
    "vote_entropy",
    "hierarchical_margin",
    "queue",
)
TOO_FEW_CLASSES = (
    "only {n} class(es) have at least {min_size} items (need 2); lower --min-class-size or add data"
)
BUDGET_BELOW_SEED = "--budget ({budget}) is smaller than --seed-size ({seed_size})"
UNKNOWN_MODALITY = "unknown modality {name!r}; choose from: text, image, text+image"
NO_IMAGE_COLUMN = "modality {name!r} needs images: pass --image-col (and --images-root)"
BAD_EMBEDDINGS = (
    "{path}: expected an array with one row per file row (>= {need}), got shape {shape}"
)


class SimulationError(ValueError):
    """Settings or data that make the simulation meaningless; the message says what to fix."""


@dataclass(frozen=True)
class SimConfig:
    """Every option of ``python -m classifier.simulate`` (see its ``--help``)."""

    path: Path
    out: Path
    label_col: str = "category_path"
    title_col: str = "title"
    id_col: str | None = None
    description_col: str | None = None
    attribute_cols: tuple[str, ...] = ()
    image_col: str | None = None
    images_root: Path | None = None
    path_sep: str = " > "
    modalities: tuple[str, ...] = ("text",)
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    full_only: bool = False
    seed_size: int = 100
    batch: int = 100
    budget: int = 2000
    repeats: int = 3
    min_class_size: int = 5
    test_size: float = 0.2
    group_identical_titles: bool = True
    report_both_splits: bool = False
    encoder_text: str | None = None
    encoder_image: str | None = None
    text_embeddings: Path | None = None
    image_embeddings: Path | None = None
    cache_dir: Path = Path("var/cache")
    max_items: int | None = None
    seed: int = 0
    threshold: float = 0.85
    max_epochs: int | None = None
    diverse: bool = False
    threads: int | None = 1
    quiet: bool = False
    target_precision: float | None = None
    audit_share: float = 0.1
    max_audit_share: float = MAX_AUDIT_SHARE
    lexical: str = "off"  # issue 19: --lexical (classifier/simulate/lexical_loop.py)

    def loop_settings(self) -> LoopSettings:
        return LoopSettings(
            seed_size=self.seed_size,
            batch=self.batch,
            budget=self.budget,
            threshold=self.threshold,
            max_epochs=self.max_epochs,
            diverse=self.diverse,
            seed=self.seed,
            target_precision=self.target_precision,
            audit_share=self.audit_share,
            max_audit_share=self.max_audit_share,
            lexical=self.lexical,
        )


def validate(config: SimConfig) -> None:
    """Raise ``SimulationError`` for settings that cannot work, before any data is read."""
    if config.budget < config.seed_size:
        raise SimulationError(
            BUDGET_BELOW_SEED.format(budget=config.budget, seed_size=config.seed_size)
        )
    for name in config.modalities:
        if name not in MODALITIES:
            raise SimulationError(UNKNOWN_MODALITY.format(name=name))
        if (
            "image" in MODALITIES[name]
            and config.image_col is None
            and config.image_embeddings is None
        ):
            raise SimulationError(NO_IMAGE_COLUMN.format(name=name))
    if not 0 < config.test_size < 1:
        raise SimulationError(f"--test-size must be between 0 and 1, got {config.test_size}")
    if min(config.seed_size, config.batch, config.repeats) < 1:
        raise SimulationError("--seed-size, --batch and --repeats must be at least 1")
    if not config.full_only:
        _check_strategies(config.strategies)
    if config.lexical not in ("off", "fuse", "committee", "both"):  # issue 19
        raise SimulationError("--lexical must be one of off, fuse, committee, both")
    problem = certify_problem(config.target_precision, config.audit_share, config.max_audit_share)
    if problem:
        raise SimulationError(problem)


def _check_strategies(names: Sequence[str]) -> None:
    from classifier.acquisition import get_strategy

    tree = Tree.from_paths([("a",), ("b",)])
    for name in names:
        if name == "queue":  # the review queue's mix, built by the loop itself
            continue
        try:
            get_strategy(name, **({"tree": tree} if name == "hierarchical_margin" else {}))
        except (KeyError, ValueError) as exc:
            raise SimulationError(f"unknown strategy {name!r}: {exc}") from exc


def needs_images(config: SimConfig) -> bool:
    return any("image" in MODALITIES[m] for m in config.modalities)


def load_data(config: SimConfig) -> tuple[LabelledData, dict[str, int]]:
    """Read, keep items with images when a modality needs them, drop small classes, subsample."""
    data = load_labelled(
        config.path,
        label_col=config.label_col,
        title_col=config.title_col,
        id_col=config.id_col,
        description_col=config.description_col,
        attribute_cols=config.attribute_cols,
        image_col=config.image_col,
        images_root=config.images_root,
        path_sep=config.path_sep,
    )
    counts = {"rows_with_label": len(data)}
    if needs_images(config) and config.image_embeddings is None:
        data = data.subset([i for i, p in enumerate(data.images) if p])
        counts["rows_with_image"] = len(data)
    data = _filter_classes(data, config)
    if config.max_items is not None and len(data) > config.max_items:
        rng = np.random.default_rng(config.seed)
        data = _filter_classes(
            data.subset(np.sort(rng.choice(len(data), config.max_items, replace=False))), config
        )
        counts["after_max_items"] = len(data)
    return data, counts


def _filter_classes(data: LabelledData, config: SimConfig) -> LabelledData:
    kept, n_classes = D.filter_small_classes(data, config.min_class_size)
    if n_classes < 2:
        raise SimulationError(TOO_FEW_CLASSES.format(n=n_classes, min_size=config.min_class_size))
    return kept


def compose_texts(data: LabelledData, config: SimConfig) -> list[str]:
    from classifier.encoders import compose_text

    return [
        compose_text(title=t, description=d, attributes=a, attribute_keys=config.attribute_cols)
        for t, d, a in zip(data.titles, data.descriptions, data.attributes, strict=True)
    ]


def build_features(
    data: LabelledData, config: SimConfig
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``{"text": (n, d), "image": (n, d)}`` for the modalities asked for, and where each came from."""
    wanted = {part for m in config.modalities for part in MODALITIES[m]}
    X: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    for modality in sorted(wanted):
        given = config.text_embeddings if modality == "text" else config.image_embeddings
        if given is not None:
            X[modality], sources[modality] = _precomputed(Path(given), data.rows), str(given)
        else:
            X[modality], sources[modality] = _encode(modality, data, config)
    if config.lexical != "off":  # issue 19: sparse rows, IDF over every item (no labels)
        from classifier.lexical import CharNgramView
        from classifier.simulate.lexical_loop import CHARS

        X[CHARS] = CharNgramView().fit_transform(compose_texts(data, config))
        sources[CHARS] = "char_wb n-gram TF-IDF (classifier.lexical)"
    return X, sources


def _precomputed(path: Path, rows: Sequence[int]) -> np.ndarray:
    array = np.load(path, mmap_mode="r")
    if array.ndim != 2 or array.shape[0] <= max(rows):
        raise SimulationError(
            BAD_EMBEDDINGS.format(path=path, need=max(rows) + 1, shape=array.shape)
        )
    return np.asarray(array[np.asarray(rows)], dtype=np.float32)


def _encode(modality: str, data: LabelledData, config: SimConfig) -> tuple[np.ndarray, str]:
    from classifier.encoders import DEFAULT_IMAGE_ENCODER, DEFAULT_TEXT_ENCODER, get_encoder

    key = (
        (config.encoder_text or DEFAULT_TEXT_ENCODER)
        if modality == "text"
        else (config.encoder_image or DEFAULT_IMAGE_ENCODER)
    )
    try:
        encoder = get_encoder(key)
    except KeyError as exc:
        raise SimulationError(str(exc.args[0])) from exc
    store = D.EmbeddingStore(config.cache_dir, key)
    encode = D.encode_with_progress(encoder, f"{modality} ({key})")
    if modality == "text":
        texts = compose_texts(data, config)
        return D.cached_encode(texts, texts, encode, store), f"encoder {key}"
    return D.image_features(data.images, encode, store), f"encoder {key}"


def drop_unusable(
    data: LabelledData, X: dict[str, np.ndarray], config: SimConfig
) -> tuple[LabelledData, dict[str, np.ndarray]]:
    """Without a usable image an item cannot be compared across modalities: drop it, then
    re-apply the class-size filter."""
    if "image" not in X:
        return data, X
    ok = np.isfinite(X["image"]).all(axis=1)
    if ok.all():
        return data, X
    kept = _filter_classes(data.subset(np.flatnonzero(ok)), config)
    where = {row: i for i, row in enumerate(data.rows)}
    index = np.array([where[r] for r in kept.rows], dtype=np.int64)
    return kept, take(X, index)


def splits(
    data: LabelledData, y: np.ndarray, config: SimConfig, vectors: np.ndarray | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Named (train, test) index pairs: "grouped" keeps identical normalised titles, and
    identical ``vectors`` rows (text embeddings), together (``classifier.splits``)."""
    groups = duplicate_groups(titles=data.titles, vectors=vectors).tolist()
    wanted = (
        ["grouped", "random"]
        if config.report_both_splits
        else (["grouped"] if config.group_identical_titles else ["random"])
    )
    return {
        name: D.split_indices(
            y,
            test_size=config.test_size,
            seed=config.seed,
            groups=groups if name == "grouped" else None,
        )
        for name in wanted
    }


def simulate(config: SimConfig, *, command: str = "") -> dict[str, Any]:
    """Run everything ``config`` asks for, write the reports into ``config.out``, return the summary."""
    validate(config)
    data, counts = load_data(config)
    X, sources = build_features(data, config)
    data, X = drop_unusable(data, X, config)
    tree = Tree.from_paths(sorted(set(data.paths)), sep=config.path_sep)
    y = D.node_labels(tree, data.paths, config.path_sep)
    config.out.mkdir(parents=True, exist_ok=True)
    with _torch_threads(config.threads):
        rows, full = _train_and_score(config, data, X, tree, y)
    return write_outputs(config, command, data, counts, tree, sources, rows, full)


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Hundreds of fits on a few thousand rows: thread hand-offs cost more than they save,
    ten times over on a busy machine (measured: 3.8 s -> 0.37 s per small fit). Encoding,
    which runs outside this, keeps every thread."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_and_score(
    config: SimConfig, data: LabelledData, X: dict[str, np.ndarray], tree: Tree, y: np.ndarray
) -> tuple[list[report.Row], dict[tuple[str, str], report.Row]]:
    rows: list[report.Row] = []
    full: dict[tuple[str, str], report.Row] = {}
    for split, (train, test) in splits(data, y, config, X.get("text")).items():
        for modality in config.modalities:
            task = Task(tree, modality, take(X, train), y[train], take(X, test), y[test])
            full[(split, modality)] = full_supervision(task, config.loop_settings())
            line = f"full supervision [{split}/{modality}]: " + _figures(full[(split, modality)])
            _log(config, line)
            if not config.full_only:
                rows += _curves(task, split, config)
    return rows, full


def _curves(task: Task, split: str, config: SimConfig) -> list[report.Row]:
    from tqdm import tqdm

    rows: list[report.Row] = []
    n_rounds = len(config.strategies) * config.repeats * _rounds(task, config)
    with tqdm(
        total=n_rounds,
        desc=f"{split}/{task.modality}",
        unit="round",
        file=sys.stderr,
        disable=config.quiet,
    ) as bar:

        def on_round(row: report.Row) -> None:
            row["split"] = split
            bar.update(1)
            _log(
                config,
                f"[{split}/{row['modality']}] {row['strategy']:<20} repeat {row['repeat']} "
                f"labels {row['n_labels']:>5}  " + _figures(row),
                bar,
            )

        for strategy in config.strategies:
            for repeat in range(config.repeats):
                curve = run_curve if config.target_precision is None else run_certify_curve
                rows += curve(task, strategy, repeat, config.loop_settings(), on_round)
            # Written after every curve so a long run can be inspected (and survives a kill).
            report.write_curves_csv(rows, config.out / "curves.csv")
    return rows


def _rounds(task: Task, config: SimConfig) -> int:
    budget = min(config.budget, task.n_train)
    seed = min(config.seed_size, task.n_train)
    return 1 + -(-(budget - seed) // config.batch)


def _figures(row: report.Row) -> str:
    return (
        f"accuracy {row['leaf_accuracy']:.4f}  macro-F1 {row['macro_f1']:.4f}  ECE {row['ece']:.4f}"
    )


def _log(config: SimConfig, line: str, bar: Any = None) -> None:
    if config.quiet:
        return
    if bar is not None:
        bar.write(line, file=sys.stdout)
    else:
        print(line, flush=True)
