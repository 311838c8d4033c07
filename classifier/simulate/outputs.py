"""What ``simulate`` writes once every curve is done: summary.json/md, curves.csv/png,
config.json (moved out of ``run.py``, which had reached the 400-line limit)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.datasets import LabelledData
from classifier.simulate import report
from classifier.simulate.certify_report import certification_summary
from classifier.tree import Tree

if TYPE_CHECKING:
    from classifier.simulate.run import SimConfig


def write_outputs(
    config: SimConfig,
    command: str,
    data: LabelledData,
    counts: dict[str, int],
    tree: Tree,
    sources: dict[str, str],
    rows: list[report.Row],
    full: dict[tuple[str, str], report.Row],
) -> dict[str, Any]:
    """Write the reports into ``config.out`` and return the summary."""
    settings = {
        k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()
    }
    summary = {
        "command": command,
        "dataset": {
            "path": str(config.path),
            "n_items": len(data),
            "n_classes": int(tree.n_leaves),
            "max_depth": tree.max_depth,
            "counts": counts,
            "features": sources,
        },
        "settings": settings,
        "results": report.summarise(rows, full),
    }
    if config.target_precision is not None:
        summary["certification"] = certification_summary(rows, config.target_precision)
    if rows:
        report.write_curves_csv(rows, config.out / "curves.csv")
    report.plot_curves(rows, full, config.out / "curves.png")
    report.write_summary(summary, config.out)
    (config.out / "config.json").write_text(json.dumps(settings, indent=2) + "\n")
    return summary
