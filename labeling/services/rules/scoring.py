"""Rules over one scored chunk: read what the rules need of its items, evaluate, count.

``apply_chunk`` reads the items' title, description and attributes (only those the rule set
reads), evaluates the compiled rules over them with the model's top leaf and its probability,
adds the chunk's counts to each rule's day (``stats``), and switches off a rule whose pattern
timed out too often.

``apply_to_scores`` is what the rescore calls after the model has scored a chunk and the
certified policy has accepted what it may (``labeling.services.learning.scoring``); it changes
the chunk's scores in place:

- forbid: the hit rows' full leaf probabilities are computed again (``predict_proba`` on those
  rows only), the forbidden leaves zeroed and the rest renormalised; their top-k, confidence,
  margin, entropy, roll-up decision and predicted path follow. Such a row is not
  auto-accepted: a renormalised probability was never certified.
- assign: the row is accepted at the rule's category (``extras["accepted"]``, no
  confidence: the rule decided, not the model), whatever the policy said.
- review: the row is not accepted; the queue sends it to people with the rule's reason.
- ``extras["rule"]``: the rule id written on the prediction (the review rule when one hit,
  else the assign rule; -1: none).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from django.db import connection

from classifier.certify.paths import predicted_paths
from classifier.model import HierarchicalClassifier
from classifier.rules import FORBID, ItemBatch, RuleResult, forbid_renormalise, top_k
from classifier.rules.agreement import DISAGREES, label_agreement
from labeling.models import Item, Label
from labeling.services.learning import ml
from labeling.services.learning.prediction_writes import ChunkScores
from labeling.services.rules.compiling import CompiledRules, for_scoring
from labeling.services.rules.stats import ChunkCounts, rule_stats_add, rules_switch_off_timed_out

__all__ = ["apply_chunk", "apply_to_scores", "for_scoring"]
ONE_THREAD_ROWS = 2000


def apply_chunk(
    compiled: CompiledRules,
    *,
    item_ids: Sequence[int] | np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    record: bool = True,
) -> RuleResult:
    """Evaluate ``compiled`` over the items ``item_ids`` whose model's top leaf is node
    ``predicted[i]`` with probability ``confidence[i]``; with ``record``, count it."""
    ids = [int(i) for i in item_ids]
    batch, labels = _batch(compiled, ids, predicted, confidence)
    result = compiled.ruleset.apply(batch)
    if record:
        _record(compiled, ids, result, labels)
    return result


def apply_to_scores(
    compiled: CompiledRules, model: HierarchicalClassifier, scores: ChunkScores
) -> RuleResult:
    """Apply the rules to one scored chunk, in place (module docstring)."""
    ex, n = scores.extras, len(scores.item_ids)
    kept = ex.pop("proba", None)  # the chunk's leaf probabilities (``forbids``), never written
    result = apply_chunk(
        compiled,
        item_ids=scores.item_ids,
        predicted=scores.top_nodes[:, 0],
        confidence=ex["confidence"],
    )
    if "accepted" not in ex:
        ex["accepted"], ex["accepted_p"] = np.full(n, -1, np.int64), np.full(n, np.nan)
    ex["accepted"], ex["accepted_p"] = ex["accepted"].copy(), ex["accepted_p"].astype(float)
    renormalised = _forbid(compiled, model, scores, result, kept)
    assigned, review = result.assigned >= 0, result.review_rule >= 0
    not_accepted = review | (np.isin(np.arange(n), renormalised) & ~assigned)
    ex["accepted"][assigned] = result.assigned[assigned]
    ex["accepted"][not_accepted] = -1
    ex["accepted_p"][assigned | not_accepted] = np.nan
    ids = np.array([rule.pk for rule in compiled.rules] + [-1], dtype=np.int64)
    ex["rule"] = np.where(review, ids[result.review_rule], ids[result.assigned_rule])
    return result


def _forbid(
    compiled: CompiledRules,
    model: HierarchicalClassifier,
    scores: ChunkScores,
    result: RuleResult,
    kept: np.ndarray | None = None,
) -> np.ndarray:
    """Rescore the rows forbid rules hit without their forbidden leaves; the rows changed.
    ``kept``: the chunk's leaf probabilities as scored (then the model is not run again)."""
    rows = result.forbid_rows
    if not len(rows):
        return rows
    proba = kept[rows] if kept is not None else _predicted(model, scores, rows)
    proba, applied = forbid_renormalise(proba, result.forbid_leaves)
    rows, proba = rows[applied], proba[applied]
    if not len(rows):
        return rows
    tree, ex = compiled.vtree.tree, scores.extras
    stats = top_k(proba, scores.top_nodes.shape[1])
    scores.top_nodes[rows] = tree.leaves[stats["top_idx"]]
    scores.top_proba[rows] = stats["top_proba"]
    for key in ("confidence", "margin", "entropy"):
        ex[key][rows] = stats[key]
    ex["decision"][rows] = model.decide(proba)
    if "path_nodes" in ex:
        paths = predicted_paths(tree, proba)
        ex["path_nodes"][rows], ex["path_proba"][rows] = paths.nodes, paths.proba
    return rows


def _predicted(model: HierarchicalClassifier, scores: ChunkScores, rows: np.ndarray) -> np.ndarray:
    """The rows' leaf probabilities, predicted again (a chunk scored without keeping them)."""
    if scores.features is not None:  # as scored: no second read of the embeddings
        features = {m: f[rows] for m, f in scores.features.items()}
    else:
        features = ml.item_features(scores.item_ids[rows].tolist())
    with _threads_for(len(rows)):
        return model.predict_proba({m: f for m, f in features.items() if m in model.modalities_})


def forbids(compiled: CompiledRules | None) -> bool:
    """Whether ``compiled`` has a forbid rule: then the rescore keeps each chunk's leaf
    probabilities for ``apply_to_scores`` (about 100 MB per chunk of 5,000 items over 4,719
    leaves), so the rows a forbid rule hits are renormalised, not predicted twice (at 1M items
    over the Google taxonomy, predicting them again cost about half the rules' time)."""
    return compiled is not None and any(r.action == FORBID for r in compiled.rules)


@contextmanager
def _threads_for(rows: int) -> Iterator[None]:
    """One torch thread for a few hundred rows: on 2 busy cores two threads spin-waiting on
    each other made this step 20 times slower (bench_rules --rescore: 2.1 s vs 0.1 s per
    50,000 items); a big forbid share keeps the default."""
    before = torch.get_num_threads()
    if rows <= ONE_THREAD_ROWS and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _batch(
    compiled: CompiledRules, ids: list[int], predicted: np.ndarray, confidence: np.ndarray
) -> tuple[ItemBatch, np.ndarray]:
    """The chunk's items as the engine reads them, and ``(n,)`` the node of each item's
    current label in the rules' version (-1: none; for the counts), in one query."""
    fields = ["title"] + [f for f in ("description", "attributes") if f in compiled.reads]
    rows = _rows(ids, fields)
    empty = ("", "", None, None, None)
    columns = {name: [rows.get(i, empty)[k] for i in ids] for k, name in enumerate(fields)}
    batch = ItemBatch(
        titles=columns["title"],
        descriptions=columns.get("description"),
        attributes=columns.get("attributes"),
        predicted=np.asarray(predicted, dtype=np.int64),
        confidence=np.asarray(confidence, dtype=np.float64),
    )
    version, at = compiled.vtree.version_id, len(fields)
    labelled = (rows.get(i, empty) for i in ids)
    categories = [row[at] if row[at + 1] == version else None for row in labelled]
    return batch, _nodes(compiled.vtree, categories)


def _nodes(vtree: ml.VersionTree, categories: list[int | None]) -> np.ndarray:
    """Node of each category id of ``vtree``'s version (-1: None). Category ids are the
    tree's node order, so a sorted search finds them."""
    ids = np.array([c if c is not None else -1 for c in categories], dtype=np.int64)
    known = vtree.category_ids
    at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
    return np.where((ids >= 0) & (known[at] == ids), at, -1)


_SELECT = """
    SELECT i.id, {columns}, l.category_id, l.taxonomy_version_id
    FROM {item} i LEFT JOIN {label} l ON l.id = i.current_label_id
    WHERE {where}"""


def _rows(ids: list[int], fields: list[str]) -> dict[int, tuple]:
    """``{pk: (fields..., label category id, label version id)}`` of the items of ``ids``,
    ``attributes`` decoded. One plain query per chunk: a nearly consecutive chunk as one id
    range (cheaper than a long IN list on PostgreSQL), else IN lists the database takes. (The
    ORM's per-row converters cost a third of this read at 5,000 rows.)"""
    if not ids:
        return {}
    first, last = min(ids), max(ids)
    if last - first < 2 * len(ids):
        parts = [("i.id BETWEEN %s AND %s", [first, last])]
    else:
        step = ml.in_list_size(len(ids))
        parts = [
            (f"i.id IN ({', '.join(['%s'] * len(ids[s : s + step]))})", ids[s : s + step])
            for s in range(0, len(ids), step)
        ]
    decode = fields.index("attributes") + 1 if "attributes" in fields else -1
    tables = {"item": Item._meta.db_table, "label": Label._meta.db_table}
    columns = ", ".join(f"i.{name}" for name in fields)
    out: dict[int, tuple] = {}
    with connection.cursor() as cursor:
        for where, params in parts:
            cursor.execute(_SELECT.format(columns=columns, where=where, **tables), params)
            for row in cursor.fetchall():
                if decode > 0 and isinstance(row[decode], str):
                    row = (*row[:decode], json.loads(row[decode]), *row[decode + 1 :])
                out[row[0]] = row[1:]
    return out


def _record(
    compiled: CompiledRules, ids: list[int], result: RuleResult, labels: np.ndarray
) -> None:
    counts = []
    for position, rule in enumerate(compiled.rules):
        hit = result.hit_rows[result.hit_rules == position]
        verdict = label_agreement(
            rule.action, compiled.ruleset.rules[position].node, labels[hit], compiled.vtree.tree
        )
        counts.append(
            ChunkCounts(
                rule_id=rule.pk,
                scored=len(ids),
                hits=len(hit),
                labelled=int((labels[hit] >= 0).sum()),
                disagreements=int((verdict == DISAGREES).sum()),
                timeouts=int(result.timeouts[position]),
            )
        )
    rule_stats_add(counts)
    switched_off = compiled.ruleset.disabled_ - compiled.switched_off
    if switched_off:
        rules_switch_off_timed_out(
            {
                compiled.rules[p].pk: [ids[r] for r in result.timed_out.get(p, [])] or [ids[0]]
                for p in switched_off
            }
        )
        compiled.switched_off.update(switched_off)
