"""Command line of ``python -m classifier.simulate``; the options are documented in ``--help``."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from classifier.certify import MAX_AUDIT_SHARE
from classifier.datasets import DatasetError
from classifier.simulate.queue_mix import QUEUE_QUOTAS
from classifier.simulate.run import DEFAULT_STRATEGIES, SimConfig, SimulationError, simulate

DESCRIPTION = """\
Simulate active learning with an oracle on a labelled CSV/TSV/JSONL file: which data
(text, image, both) and which sampling strategy reach a good model with the fewest labels.

For each split and modality it trains the hierarchical classifier on the whole train split
(full supervision), then, per strategy and repeat, starts from --seed-size random labels,
retrains after every --batch labels chosen by the strategy, up to --budget labels, and
scores every round on the held-out test split. Embeddings are cached in --cache-dir.

Writes into --out: curves.csv (one row per round), curves.png (accuracy and macro-F1 against
labels, shaded min-max over repeats, dashed full supervision), summary.json and summary.md
(full-supervision figures, labels each strategy needs to reach 90%% / 95%% of full-supervision
accuracy, saving against random), config.json.

example (fashion catalog, titles and images):
  python -m classifier.simulate ../shared/data/fashion/items.csv \\
      --title-col productDisplayName --image-col image_224 \\
      --images-root ../shared/data/fashion --modalities text,image,text+image
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m classifier.simulate",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", type=Path, help="labelled CSV, TSV (.tsv) or JSON lines (.jsonl) file")
    _add_columns(p.add_argument_group("columns (as in the catalog import)"))
    _add_loop(p.add_argument_group("active learning"))
    _add_features(p.add_argument_group("features"))
    _add_team(p.add_argument_group("a team of reviewers (issue 16; classifier/simulate/team.py)"))
    _add_certify(p.add_argument_group("auto-accept (issue 17; classifier/certify)"))
    return p


def _add_columns(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--label-col", default="category_path", help="category path column (default: %(default)s)"
    )
    g.add_argument(
        "--path-sep",
        default=" > ",
        help="separator inside a category path (default: '%(default)s')",
    )
    g.add_argument("--title-col", default="title", help="title column (default: %(default)s)")
    g.add_argument(
        "--id-col", default=None, help="id column (default: 'id' if present, else the row number)"
    )
    g.add_argument("--description-col", default=None, help="optional description column")
    g.add_argument(
        "--attribute-cols",
        type=_names,
        default=(),
        help="comma-separated attribute columns added to the text",
    )
    g.add_argument(
        "--image-col", default=None, help="image path column (relative to --images-root)"
    )
    g.add_argument(
        "--images-root",
        type=Path,
        default=None,
        help="folder image paths are relative to (default: the file's folder)",
    )


def _add_loop(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--modalities",
        type=_names,
        default=("text",),
        help="comma list of text, image, text+image (default: text)",
    )
    g.add_argument(
        "--strategies",
        type=_names,
        default=DEFAULT_STRATEGIES,
        help=f"comma list of acquisition strategies (default: {','.join(DEFAULT_STRATEGIES)})",
    )
    g.add_argument(
        "--full-only", action="store_true", help="only full supervision, no learning curves"
    )
    g.add_argument(
        "--diverse", action="store_true", help="diversify each batch (core-set over the embeddings)"
    )
    g.add_argument(
        "--seed-size",
        type=int,
        default=100,
        help="random labels to start from (default: %(default)s)",
    )
    g.add_argument("--batch", type=int, default=100, help="labels per round (default: %(default)s)")
    g.add_argument(
        "--budget",
        type=int,
        default=2000,
        help="labels at which a curve stops (default: %(default)s)",
    )
    g.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repeats with different seed sets (default: %(default)s)",
    )
    g.add_argument(
        "--min-class-size",
        type=int,
        default=5,
        help="drop classes with fewer items (default: %(default)s)",
    )
    g.add_argument(
        "--test-size",
        type=float,
        default=0.2,
        help="held-out share, stratified (default: %(default)s)",
    )
    g.add_argument(
        "--group-identical-titles",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep identical normalised titles on one side of the split (default: on)",
    )
    g.add_argument(
        "--report-both-splits",
        action="store_true",
        help="run the grouped and the plain random split",
    )
    g.add_argument(
        "--threshold",
        type=float,
        default=0.85,
        help="roll-up threshold at every depth (default: %(default)s)",
    )
    g.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="training epochs per round (default: the model's)",
    )
    g.add_argument(
        "--max-items", type=int, default=None, help="random subsample of items, for quick runs"
    )
    g.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed of split, seed sets and models (default: %(default)s)",
    )
    g.add_argument(
        "--out", type=Path, default=None, help="output folder (default: var/sim/<timestamp>)"
    )
    g.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default: %(default)s: many small fits run faster on one)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress output")


def _add_features(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--encoder-text", default=None, help="text encoder key (default: the classifier's)"
    )
    g.add_argument(
        "--encoder-image", default=None, help="image encoder key (default: the classifier's)"
    )
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=Path("var/cache"),
        help="embedding cache (default: %(default)s)",
    )
    g.add_argument(
        "--text-embeddings",
        type=Path,
        default=None,
        help="precomputed .npy, one row per row of the file, used instead of the text encoder",
    )
    g.add_argument(
        "--image-embeddings",
        type=Path,
        default=None,
        help="precomputed .npy, one row per row of the file (NaN = no image)",
    )
    g.add_argument(  # issue 19 (classifier/simulate/lexical_loop.py)
        "--lexical",
        choices=("off", "fuse", "committee", "both"),
        default="off",
        help="a char n-gram view of the text beside the neural model: fused into its "
        "probabilities, a committee member, or both (default: %(default)s)",
    )


def _add_team(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--team",
        action="store_true",
        help="instead of the strategies: simulated reviewers, one unreliable; compare equal, "
        "reliability-weighted and majority-vote labels at --budget answers",
    )
    g.add_argument("--team-reviewers", type=int, default=3, help="reviewers (default: 3)")
    g.add_argument(
        "--noisy-rate",
        type=float,
        default=0.3,
        help="the last reviewer's error rate on the branches they confuse (default: 0.3)",
    )
    g.add_argument(
        "--overlap",
        type=float,
        default=0.1,
        help="share of items answered by two reviewers (default: 0.1)",
    )


def _add_certify(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--target-precision",
        type=float,
        default=None,
        help="hold a uniform audit share of each batch out of training, certify auto-accept "
        "thresholds on it at this precision (one-sided 95%%), and report per round the share "
        "of the pool auto-accepted (per depth), audit labels spent and the true precision "
        "(default: off)",
    )
    g.add_argument(
        "--audit-share",
        type=float,
        default=QUEUE_QUOTAS["audit"],
        help="audit share of each batch with --target-precision (default: the queue's, "
        "%(default)s)",
    )
    g.add_argument(
        "--max-audit-share",
        type=float,
        default=MAX_AUDIT_SHARE,
        help="the share audit may rise to while the policy lacks labels to certify "
        "(default: %(default)s)",
    )


TEAM_OPTIONS = ("team", "team_reviewers", "noisy_rate", "overlap")


def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def config_from_args(args: argparse.Namespace) -> SimConfig:
    values = {k: v for k, v in vars(args).items() if k not in TEAM_OPTIONS}
    if values["out"] is None:
        values["out"] = Path("var/sim") / time.strftime("%Y%m%d-%H%M%S")
    return SimConfig(**values)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 with a one-line message for bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from_args(args)
    words = sys.argv[1:] if argv is None else list(argv)
    command = "python -m classifier.simulate " + shlex.join(words)
    if args.team:
        return _team(parser, args, config, command)
    try:
        simulate(config, command=command)
    except (DatasetError, SimulationError) as exc:
        parser.exit(2, f"error: {exc}\n")
    if not config.quiet:
        print(f"wrote {config.out}/summary.md, summary.json, curves.csv, curves.png")
    return 0


def _team(
    parser: argparse.ArgumentParser, args: argparse.Namespace, config: SimConfig, command: str
) -> int:
    from classifier.simulate.team import TeamSpec, simulate_team

    spec = TeamSpec(reviewers=args.team_reviewers, noisy_rate=args.noisy_rate, overlap=args.overlap)
    try:
        spec.check()
        simulate_team(config, spec, command)
    except (DatasetError, SimulationError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    if not config.quiet:
        print(f"wrote {config.out}/team.md, team.json")
    return 0
