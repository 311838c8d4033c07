"""A team of simulated reviewers, one of them unreliable: what weighting labels by estimated
reliability buys against taking every answer as given and against majority vote.

``python -m classifier.simulate ... --team`` (see ``--help``). The oracle's label is the truth;
``reviewers`` reviewers answer it, the last one wrong ``noisy_rate`` of the time on the items of
some top-level branches (about ``noisy_share`` of the items; a wrong answer is a uniformly
random other leaf). At the same number of *answers* (what a team pays for), three policies:

- ``equal``: each item answered by one reviewer, an ``overlap`` share by two; every answer is
  a training row of weight 1 (what Taxoloop did before issue 16).
- ``weighted``: the same answers; Dawid–Skene over the top-level branches
  (:mod:`classifier.reliability`) estimates each reviewer's confusion from the overlap items;
  an item trains once, on its answer whose branch has the highest posterior, weighted by that
  posterior (a lone answer of the unreliable reviewer in a branch they confuse weighs less).
- ``second``: as ``weighted``, and while answering, the lone answers of a reviewer whose
  accuracy (a Dawid–Skene fit every ``REFIT_EVERY`` answers) is below ``second_below`` go to
  another reviewer, and a disagreement to a third (the adjudication); these answers count in
  the budget.
- ``majority``: every item answered by three reviewers (a third as many items), trained on the
  most frequent answer (a three-way tie: the first).
- ``neither`` and ``ancestor``: the ``equal`` answers as the product's overlap treats them
  before an adjudicator has decided (``labeling.services.review.overlap``): two answers that
  agree train once, and two that disagree train on neither (``neither``) or on their lowest
  common ancestor, a partial label (``ancestor``).

Items are taken in a random order (no active learning: the question here is how to use the
answers, not which items to ask for). The test split is scored at a quarter, half and all of
``--budget`` answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from classifier.reliability import Reliability, dawid_skene
from classifier.simulate.loop import MODALITIES, Task, evaluate_model, take
from classifier.tree import Tree

POLICIES = ("equal", "weighted", "second", "majority", "neither", "ancestor")
BLIND = ("neither", "ancestor")
# ``second``: the lone answers of a reviewer whose estimated accuracy is below this get a
# second reviewer's.
SECOND_OPINION_BELOW = 0.9
REFIT_EVERY = 100  # answers between two Dawid-Skene fits while collecting


@dataclass(frozen=True)
class TeamSpec:
    reviewers: int = 3
    noisy_rate: float = 0.3
    noisy_share: float = 0.5
    overlap: float = 0.1
    second_below: float = SECOND_OPINION_BELOW

    def check(self) -> None:
        if self.reviewers < 3:
            raise ValueError("--team-reviewers must be >= 3 (majority vote needs three)")
        if not 0.0 <= self.noisy_rate <= 1.0:
            raise ValueError("--noisy-rate must lie in [0, 1]")
        if not 0.0 <= self.overlap <= 1.0:
            raise ValueError("--overlap must lie in [0, 1]")


@dataclass(frozen=True)
class Answers:
    """Answer rows in the order they were given: item (index into the train pool), reviewer,
    leaf column answered."""

    items: np.ndarray
    reviewers: np.ndarray
    leaves: np.ndarray

    def first(self, n: int) -> Answers:
        return Answers(self.items[:n], self.reviewers[:n], self.leaves[:n])


def top_branches(tree: Tree) -> np.ndarray:
    """``(n_leaves,)`` index (0..b-1) of each leaf's top-level branch."""
    tops = [tree.path(int(leaf))[0] for leaf in tree.leaves]
    _, branch = np.unique(tops, return_inverse=True)
    return branch.astype(np.int64)


def noisy_branches(branch: np.ndarray, truth: np.ndarray, share: float, seed: int) -> np.ndarray:
    """``(b,)`` bool: the branches the unreliable reviewer confuses, taken in a seeded random
    order until they hold ``share`` of the pool's items."""
    n_branches = int(branch.max()) + 1
    sizes = np.bincount(branch[truth], minlength=n_branches)
    out = np.zeros(n_branches, dtype=bool)
    held = 0
    for b in np.random.default_rng(seed).permutation(n_branches):
        if held >= share * sizes.sum():
            break
        out[b], held = True, held + sizes[b]
    return out


def answer_of(
    reviewer: int, truth: int, spec: TeamSpec, confused: bool, n_leaves: int, rng: Any
) -> int:
    if reviewer == spec.reviewers - 1 and confused and rng.random() < spec.noisy_rate:
        return int((truth + rng.integers(1, n_leaves)) % n_leaves)
    return truth


def collect(
    order: np.ndarray,
    truth: np.ndarray,
    confused: np.ndarray,
    spec: TeamSpec,
    per_item: int,
    n_answers: int,
    n_leaves: int,
    seed: int,
) -> Answers:
    """Answers for items in ``order`` until ``n_answers``: ``per_item`` reviewers each
    (``per_item == 1``: one, or two on an ``overlap`` share), distinct, drawn at random."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int]] = []
    for item in order:
        k = per_item if per_item > 1 else (2 if rng.random() < spec.overlap else 1)
        for r in rng.choice(spec.reviewers, size=k, replace=False):
            rows.append(
                (
                    int(item),
                    int(r),
                    answer_of(int(r), int(truth[item]), spec, bool(confused[item]), n_leaves, rng),
                )
            )
        if len(rows) >= n_answers:
            break
    return _answers(rows)


def collect_second(
    order: np.ndarray,
    truth: np.ndarray,
    confused: np.ndarray,
    spec: TeamSpec,
    n_answers: int,
    branch: np.ndarray,
    seed: int,
) -> Answers:
    """As ``collect(per_item=1)``, plus second opinions on the lone answers of the reviewers
    the current Dawid–Skene fit finds unreliable (and a third where the two disagree)."""
    rng = np.random.default_rng(seed)
    n_leaves = len(branch)
    rows: list[tuple[int, int, int]] = []
    asked: dict[int, list[int]] = {}  # item -> reviewers so far
    checked: set[int] = set()
    next_fit = REFIT_EVERY

    def ask(item: int, reviewer: int) -> None:
        leaf = answer_of(reviewer, int(truth[item]), spec, bool(confused[item]), n_leaves, rng)
        rows.append((item, reviewer, leaf))
        asked.setdefault(item, []).append(reviewer)

    def other(item: int) -> int:
        free = [r for r in range(spec.reviewers) if r not in asked[item]]
        return int(rng.choice(free))

    for item in (int(i) for i in order):
        k = 2 if rng.random() < spec.overlap else 1
        for r in rng.choice(spec.reviewers, size=k, replace=False):
            ask(item, int(r))
        if len(rows) >= next_fit:
            next_fit += REFIT_EVERY
            answers = _answers(rows)
            rel = branch_reliability(answers, branch, len(truth), spec.reviewers)
            low = rel.accuracy() < spec.second_below
            for j in np.flatnonzero(low[answers.reviewers]):
                i = int(answers.items[j])
                if len(rows) >= n_answers or len(asked[i]) > 1 or i in checked:
                    continue
                checked.add(i)
                ask(i, other(i))
                if rows[-1][2] != int(answers.leaves[j]):  # they disagree: adjudication
                    ask(i, other(i))
        if len(rows) >= n_answers:
            break
    return _answers(rows)


def _answers(rows: list[tuple[int, int, int]]) -> Answers:
    items, reviewers, leaves = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    return Answers(items, reviewers, leaves)


def branch_reliability(
    answers: Answers, branch: np.ndarray, n_items: int, n_reviewers: int
) -> Reliability:
    """Dawid–Skene over the top-level branches the answers fall in."""
    return dawid_skene(
        answers.items,
        answers.reviewers,
        branch[answers.leaves],
        n_items=n_items,
        n_reviewers=n_reviewers,
        n_classes=int(branch.max()) + 1,
    )


def training_rows(
    policy: str, answers: Answers, branch: np.ndarray, n_reviewers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(items, leaf columns, weights)`` a policy trains on."""
    if policy == "equal":
        return answers.items, answers.leaves, np.ones(len(answers.items))
    items = np.unique(answers.items)
    if policy == "majority":
        leaves = np.array([_majority(answers.leaves[answers.items == i]) for i in items])
        return items, leaves, np.ones(len(items))
    rel = branch_reliability(answers, branch, int(answers.items.max()) + 1, n_reviewers)
    post = rel.posterior[answers.items, branch[answers.leaves]]  # per answer: its branch's
    leaves, weights = np.empty(len(items), np.int64), np.empty(len(items))
    for j, item in enumerate(items):
        mine = np.flatnonzero(answers.items == item)
        best = mine[np.argmax(post[mine])]  # the first of equals
        leaves[j], weights[j] = answers.leaves[best], post[best]
    return items, leaves, weights


def blind_rows(policy: str, answers: Answers, tree: Tree) -> tuple[np.ndarray, np.ndarray]:
    """``(items, tree nodes)``: one row per item; a disputed item (answers naming different
    leaves) left out (``neither``) or labelled with the answers' common ancestor."""
    items = np.unique(answers.items)
    keep, nodes = [], []
    for item in items:
        mine = np.unique(answers.leaves[answers.items == item])
        if len(mine) == 1:
            keep.append(item)
            nodes.append(int(tree.leaves[mine[0]]))
        elif policy == "ancestor":
            paths = [tree.path(int(tree.leaves[leaf])) for leaf in mine]
            common = [level[0] for level in zip(*paths, strict=False) if len(set(level)) == 1]
            if common:  # no common top-level branch: nothing to train on
                keep.append(item)
                nodes.append(int(common[-1]))
    return np.array(keep, dtype=np.int64), np.array(nodes, dtype=np.int64)


def _majority(leaves: np.ndarray) -> int:
    values, counts = np.unique(leaves, return_counts=True)
    if counts.max() == 1:
        return int(leaves[0])
    return int(values[np.argmax(counts)])


def run_team(
    task: Task,
    spec: TeamSpec,
    budget: int,
    repeats: int,
    seed: int,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per repeat, policy and answer count: test figures and the training labels'
    weighted error rate."""
    from classifier.model import HierarchicalClassifier

    spec.check()
    tree = task.tree
    truth = tree.leaf_index[task.y_train]
    if (truth < 0).any():
        raise ValueError("the team simulation needs leaf labels")
    branch = top_branches(tree)
    rows: list[dict[str, Any]] = []
    for rep in range(repeats):
        s = seed + 1000 * rep
        confused = noisy_branches(branch, truth, spec.noisy_share, s)[branch[truth]]
        order = np.random.default_rng(s).permutation(len(truth))
        pools = {
            "equal": collect(order, truth, confused, spec, 1, budget, tree.n_leaves, s + 1),
            "majority": collect(order, truth, confused, spec, 3, budget, tree.n_leaves, s + 3),
            "second": collect_second(order, truth, confused, spec, budget, branch, s + 2),
        }
        for n in sorted({budget // 4, budget // 2, budget}):
            for policy in POLICIES:
                pool = "equal" if policy in ("weighted", *BLIND) else policy
                answers = pools[pool].first(n)
                if policy in BLIND:
                    items, nodes = blind_rows(policy, answers, tree)
                    w = np.ones(len(items))
                    wrong = [
                        n not in tree.path(int(tree.leaves[truth[i]]))
                        for i, n in zip(items, nodes, strict=True)
                    ]
                else:
                    items, leaves, w = training_rows(policy, answers, branch, spec.reviewers)
                    nodes, wrong = tree.leaves[leaves], leaves != truth[items]
                model = HierarchicalClassifier(tree, modalities=MODALITIES[task.modality], seed=s)
                model.fit(take(task.X_train, items), nodes, sample_weight=w)
                row = {"repeat": rep, "answers": n, "policy": policy, "items": len(items)}
                row["label_error"] = float(np.average(wrong, weights=w))
                row |= {
                    k: v
                    for k, v in evaluate_model(task, model, 0.85).items()
                    if k in ("leaf_accuracy", "macro_f1", "ece")
                }
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return rows


def summary_markdown(rows: list[dict[str, Any]], spec: TeamSpec, command: str) -> str:
    lines = [
        "# Team of reviewers: equal, reliability-weighted and majority-vote labels",
        "",
        f"`{command}`",
        "",
        f"{spec.reviewers} reviewers; the last wrong {spec.noisy_rate:.0%} of the time on "
        f"top-level branches holding ~{spec.noisy_share:.0%} of the items; overlap "
        f"{spec.overlap:.0%} (equal, weighted). Mean over repeats.",
        "",
        "| answers | policy | items | label error | accuracy | macro-F1 | ECE |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in sorted({r["answers"] for r in rows}):
        for policy in POLICIES:
            mine = [r for r in rows if r["answers"] == n and r["policy"] == policy]
            mean = {
                k: float(np.mean([r[k] for r in mine]))
                for k in ("items", "label_error", "leaf_accuracy", "macro_f1", "ece")
            }
            lines.append(
                f"| {n} | {policy} | {mean['items']:.0f} | {mean['label_error']:.3f} | "
                f"{mean['leaf_accuracy']:.4f} | {mean['macro_f1']:.4f} | {mean['ece']:.4f} |"
            )
    return "\n".join(lines) + "\n"


def write_team(out: Any, rows: list[dict[str, Any]], spec: TeamSpec, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "team.json").write_text(
        json.dumps({"command": command, "spec": asdict(spec), "rows": rows}, indent=1)
    )
    (out / "team.md").write_text(summary_markdown(rows, spec, command))


def simulate_team(config: Any, spec: TeamSpec, command: str) -> list[dict[str, Any]]:
    """Load ``config``'s data as the simulator does, run the team on its first split and
    modality, write ``team.json`` and ``team.md`` into ``config.out``."""
    from classifier.simulate import data as D
    from classifier.simulate.run import build_features, drop_unusable, load_data, splits

    data, _ = load_data(config)
    X, _ = build_features(data, config)
    data, X = drop_unusable(data, X, config)
    tree = Tree.from_paths(sorted(set(data.paths)), sep=config.path_sep)
    y = D.node_labels(tree, data.paths, config.path_sep)
    split, (train, test) = next(iter(splits(data, y, config, X.get("text")).items()))
    modality = config.modalities[0]
    task = Task(tree, modality, take(X, train), y[train], take(X, test), y[test])

    def show(row: dict[str, Any]) -> None:
        if not config.quiet:
            print(
                f"[{split}/{modality}] repeat {row['repeat']} answers {row['answers']:>5} "
                f"{row['policy']:<8} items {row['items']:>5} label error "
                f"{row['label_error']:.3f} accuracy {row['leaf_accuracy']:.4f} "
                f"macro-F1 {row['macro_f1']:.4f}",
                flush=True,
            )

    rows = run_team(task, spec, config.budget, config.repeats, config.seed, show)
    write_team(config.out, rows, spec, command)
    return rows
