"""What a simulation writes: curves.csv, curves.png, summary.json and summary.md."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.simulate.certify_report import certification_markdown

Row = dict[str, Any]
FIRST_COLUMNS = (
    "split",
    "modality",
    "strategy",
    "repeat",
    "n_labels",
    "leaf_accuracy",
    "macro_f1",
    "ece",
)
FRACTIONS = (0.90, 0.95)
NOT_REACHED = "not reached within budget"


def labels_to_reach(
    n_labels: Sequence[float] | np.ndarray, accuracy: Sequence[float] | np.ndarray, target: float
) -> float | None:
    """Labels at which a learning curve first reaches ``target``, interpolated linearly
    between the two rounds around the crossing; ``None`` when it never does.

    >>> labels_to_reach([100, 200, 300], [0.5, 0.7, 0.9], 0.8)
    250.0
    """
    n = np.asarray(n_labels, dtype=float)
    acc = np.asarray(accuracy, dtype=float)
    hits = np.flatnonzero(acc >= target)
    if len(hits) == 0:
        return None
    i = int(hits[0])
    if i == 0:
        return float(n[0])
    step = (target - acc[i - 1]) / (acc[i] - acc[i - 1])
    return float(n[i - 1] + step * (n[i] - n[i - 1]))


def mean_curves(rows: Sequence[Row], metric: str) -> dict[tuple[str, str, str], np.ndarray]:
    """``(split, modality, strategy) -> (r, 4)`` array of n_labels, mean, min, max of
    ``metric`` over repeats, one row per round."""
    grouped: dict[tuple[str, str, str], dict[int, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        key = (row["split"], row["modality"], row["strategy"])
        grouped[key][int(row["n_labels"])].append(float(row[metric]))
    out = {}
    for key, by_n in grouped.items():
        out[key] = np.array(
            [[n, np.mean(v), np.min(v), np.max(v)] for n, v in sorted(by_n.items())]
        )
    return out


def write_curves_csv(rows: Sequence[Row], path: Path) -> None:
    extra = sorted({k for r in rows for k in r} - set(FIRST_COLUMNS))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*FIRST_COLUMNS, *extra])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: object) -> object:
    return round(value, 6) if isinstance(value, float) else value


def summarise(rows: Sequence[Row], full: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[Row]:
    """One entry per (split, modality): its full-supervision figures and, per strategy, the
    labels needed to reach 90% / 95% of full-supervision accuracy and the saving against
    random (random's labels / the strategy's; ``at_least`` when random never got there)."""
    curves = mean_curves(rows, "leaf_accuracy")
    f1_curves = mean_curves(rows, "macro_f1")
    results = []
    for (split, modality), figures in full.items():
        full_acc = float(figures["leaf_accuracy"])
        strategies: dict[str, Row] = {}
        for (s, m, strategy), curve in curves.items():
            if (s, m) == (split, modality):
                strategies[strategy] = _strategy_summary(
                    curve, f1_curves[(s, m, strategy)], full_acc
                )
        _add_savings(strategies)
        results.append(
            {
                "split": split,
                "modality": modality,
                "full_supervision": dict(figures),
                "strategies": strategies,
            }
        )
    return results


def _strategy_summary(curve: np.ndarray, f1_curve: np.ndarray, full_acc: float) -> Row:
    out: Row = {
        "final_n_labels": int(curve[-1, 0]),
        "final_leaf_accuracy": float(curve[-1, 1]),
        "final_macro_f1": float(f1_curve[-1, 1]),
    }
    for fraction in FRACTIONS:
        target = fraction * full_acc
        out[f"labels_to_{round(fraction * 100)}pct"] = labels_to_reach(
            curve[:, 0], curve[:, 1], target
        )
    return out


def _add_savings(strategies: dict[str, Row]) -> None:
    random = strategies.get("random")
    if random is None:
        return
    for summary in strategies.values():
        for fraction in FRACTIONS:
            key = f"labels_to_{round(fraction * 100)}pct"
            mine, theirs = summary[key], random[key]
            at_least = theirs is None
            # When random never got there, its budget is a lower bound on what it needs.
            theirs = random["final_n_labels"] if theirs is None else theirs
            ratio = None if mine is None else float(theirs) / mine
            summary[f"saving_vs_random_{round(fraction * 100)}pct"] = ratio
            summary[f"saving_vs_random_{round(fraction * 100)}pct_at_least"] = (
                at_least and ratio is not None
            )


def write_summary(summary: Mapping[str, Any], out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
    (out / "summary.md").write_text(summary_markdown(summary))


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def summary_markdown(summary: Mapping[str, Any]) -> str:
    lines = ["# Active-learning simulation", "", f"Command: `{summary['command']}`", ""]
    data = summary["dataset"]
    lines += [
        f"Data: {data['path']}: {data['n_items']} items, {data['n_classes']} leaf classes "
        f"(min class size {summary['settings']['min_class_size']}).",
        "",
    ]
    for result in summary["results"]:
        lines += _result_markdown(result)
    lines += certification_markdown(summary.get("certification"))
    return "\n".join(lines) + "\n"


def _result_markdown(result: Mapping[str, Any]) -> list[str]:
    full = result["full_supervision"]
    lines = [
        f"## {result['modality']} ({result['split']} split)",
        "",
        f"Full supervision ({full['n_train']} train / {full['n_test']} test): leaf accuracy "
        f"{full['leaf_accuracy']:.4f}, macro-F1 {full['macro_f1']:.4f}, ECE {full['ece']:.4f}.",
        "",
    ]
    rollup = {k: v for k, v in full.items() if k.startswith("rollup_")}
    if rollup:
        lines += [
            "Roll-up: " + ", ".join(f"{k[7:]} {v:.4f}" for k, v in sorted(rollup.items())),
            "",
        ]
    lines += [
        "| strategy | labels to 90% | labels to 95% | saving vs random (95%) | final accuracy | final macro-F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in result["strategies"].items():
        saving = s.get("saving_vs_random_95pct")
        saving_text = (
            "–"
            if saving is None
            else (">= " if s["saving_vs_random_95pct_at_least"] else "") + f"{saving:.2f}x"
        )
        lines.append(
            f"| {name} | {_labels(s['labels_to_90pct'])} | {_labels(s['labels_to_95pct'])} | "
            f"{saving_text} | {s['final_leaf_accuracy']:.4f} @ {s['final_n_labels']} | "
            f"{s['final_macro_f1']:.4f} |"
        )
    return [*lines, ""]


def _labels(value: float | None) -> str:
    return NOT_REACHED if value is None else f"{value:,.0f}"


def plot_curves(
    rows: Sequence[Row], full: Mapping[tuple[str, str], Mapping[str, Any]], path: Path
) -> None:
    """Accuracy and macro-F1 against labels: one panel row per (split, modality), one line per
    strategy (mean over repeats, shaded min–max), a dashed line for full supervision."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(full)
    metrics = (("leaf_accuracy", "leaf accuracy"), ("macro_f1", "macro-F1"))
    fig, axes = plt.subplots(len(panels), 2, figsize=(12, 4 * len(panels)), squeeze=False)
    for col, (metric, title) in enumerate(metrics):
        curves = mean_curves(rows, metric)
        for row, panel in enumerate(panels):
            _draw_panel(axes[row][col], curves, panel, full[panel][metric], title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _draw_panel(
    ax: Any,
    curves: Mapping[tuple[str, str, str], np.ndarray],
    panel: tuple[str, str],
    full_value: float,
    title: str,
) -> None:
    for (split, modality, strategy), curve in sorted(curves.items()):
        if (split, modality) != panel:
            continue
        (line,) = ax.plot(curve[:, 0], curve[:, 1], marker=".", label=strategy)
        ax.fill_between(curve[:, 0], curve[:, 2], curve[:, 3], color=line.get_color(), alpha=0.15)
    ax.axhline(full_value, color="black", linestyle="--", label="full supervision")
    ax.set_title(f"{title}: {panel[1]} ({panel[0]} split)")
    ax.set_xlabel("labels")
    ax.set_ylabel(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
