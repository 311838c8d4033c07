"""What a rule would do, before it is switched on.

The rule (saved, or as typed in the form) is evaluated with the engine the rescore uses, over
two sets of items of its taxonomy version:

- the catalog (every item, or an even sample of ``RULE_PREVIEW_MAX_ITEMS`` of them, default
  200,000, with the hit count scaled up to the catalog): how many items it hits;
- the labelled items (up to ``RULE_PREVIEW_MAX_LABELLED`` of them, default 200,000): how
  many it hits, how many of those it gets right or wrong against the label
  (``classifier.rules.agreement``: assign X is right when the label is X or below it), how
  often the model was right on the same items (is the rule better than the model there?), and
  up to ``EXAMPLES`` disagreements to look at.

The model's side (prediction conditions) reads the stored predictions; an item without one,
or with one of another version's model, meets no prediction condition.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import F, QuerySet
from django.db.models.functions import Mod
from django.utils import timezone

from classifier import rules as engine
from classifier.rules.agreement import AGREES, DISAGREES, UNDECIDED, label_agreement
from labeling.models import Category, Item, Rule, TaxonomyVersion
from labeling.services.learning import ml
from labeling.services.rules.compiling import regex_timeout, rule_to_engine

EXAMPLES = 10
SAMPLES = 5
CHUNK = 5000
_FIELDS = (
    "pk",
    "external_id",
    "title",
    "description",
    "attributes",
    "prediction__top_category_id",
    "prediction__confidence",
    "current_label__category_id",
)


@dataclass(frozen=True)
class Example:
    item_id: int
    external_id: str
    title: str
    label: str
    rule_says: str
    model_says: str


@dataclass
class RulePreview:
    catalog: int = 0  # items in the catalog
    scanned: int = 0  # of them, evaluated
    hits: int = 0  # hits among the scanned
    hits_estimate: int = 0  # hits scaled to the whole catalog
    labelled: int = 0  # labelled items evaluated
    labelled_hits: int = 0
    agrees: int = 0
    disagrees: int = 0
    undecided: int = 0  # labels coarser than the rule's category
    model_right: int = 0  # of the labelled hits, the model's top at or below the label
    timeouts: int = 0
    examples: list[Example] = field(default_factory=list)  # labelled items it gets wrong
    samples: list[Example] = field(default_factory=list)  # the first items it hits
    at: str = ""

    @property
    def precision(self) -> float | None:
        decided = self.agrees + self.disagrees
        return self.agrees / decided if decided else None

    @property
    def model_precision(self) -> float | None:
        return self.model_right / self.labelled_hits if self.labelled_hits else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"precision": self.precision, "model_precision": self.model_precision}


def rule_preview(*, rule: engine.Rule, version: TaxonomyVersion) -> RulePreview:
    """Preview an engine rule (``compiling.engine_rule``) against ``version``'s items."""
    vtree = ml.version_tree(version)
    ruleset = engine.RuleSet([rule], vtree.tree, regex_timeout=regex_timeout())
    out = RulePreview(catalog=Item.objects.count(), at=timezone.now().isoformat())
    step = max(1, math.ceil(out.catalog / _setting("RULE_PREVIEW_MAX_ITEMS")))
    sample = Item.objects.all() if step == 1 else _every(step)
    for rows in _chunks(sample):
        batch = _batch(rows, vtree)
        result = ruleset.apply(batch)
        out.scanned += len(rows)
        out.hits += int(result.hits[0])
        out.timeouts += int(result.timeouts[0])
        first = np.sort(result.hit_rows)[: SAMPLES - len(out.samples)].tolist()
        out.samples += examples_of(rows, first, rule, np.asarray(batch.predicted), vtree)
    out.hits_estimate = round(out.hits * out.catalog / out.scanned) if out.scanned else 0
    labelled = Item.objects.filter(current_label__taxonomy_version=version)
    for rows in _chunks(labelled, _setting("RULE_PREVIEW_MAX_LABELLED")):
        _judge(out, ruleset, rows, vtree)
    return out


def rule_preview_saved(*, rule: Rule) -> RulePreview:
    """Preview a saved rule and keep the figures on it (switching it on needs them)."""
    version = rule.taxonomy_version
    preview = rule_preview(rule=rule_to_engine(rule, ml.version_tree(version)), version=version)
    Rule.objects.filter(pk=rule.pk).update(preview=preview.as_dict(), previewed_at=timezone.now())
    rule.refresh_from_db(fields=["preview", "previewed_at"])
    return preview


def _setting(name: str) -> int:
    return int(settings.TAXOLOOP.get(name, 200_000))


def _every(step: int) -> QuerySet[Item]:
    """Every ``step``-th item by id: an even sample of a catalog too big to read whole."""
    return Item.objects.annotate(slot=Mod(F("pk"), step)).filter(slot=0)


def _chunks(items: QuerySet[Item], limit: int | None = None) -> Iterator[list[tuple]]:
    """Rows of ``_FIELDS``, ``CHUNK`` at a time in id order (keyset, no OFFSET)."""
    last, seen = 0, 0
    while limit is None or seen < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - seen)
        rows = list(items.filter(pk__gt=last).order_by("pk").values_list(*_FIELDS)[:size])
        if not rows:
            return
        yield rows
        last, seen = rows[-1][0], seen + len(rows)


def _batch(rows: Sequence[tuple], vtree: ml.VersionTree) -> engine.ItemBatch:
    known = vtree.category_ids
    tops = np.array([r[5] if r[5] is not None else -1 for r in rows], dtype=np.int64)
    pos = np.searchsorted(known, tops)
    pos = np.minimum(pos, len(known) - 1)
    predicted = np.where(known[pos] == tops, pos, -1)  # category ids are sorted (node order)
    return engine.ItemBatch(
        titles=[r[2] for r in rows],
        descriptions=[r[3] for r in rows],
        attributes=[r[4] for r in rows],
        predicted=predicted,
        confidence=np.array([r[6] if r[6] is not None else np.nan for r in rows]),
    )


def _judge(
    out: RulePreview, ruleset: engine.RuleSet, rows: list[tuple], vtree: ml.VersionTree
) -> None:
    batch = _batch(rows, vtree)
    result = ruleset.apply(batch)
    out.labelled += len(rows)
    hit = np.sort(result.hit_rows)
    if not len(hit):
        return
    rule = ruleset.rules[0]
    labels = vtree.nodes_of([rows[r][7] for r in hit.tolist()])
    verdict = label_agreement(rule.action, rule.node, labels, vtree.tree)
    predicted = np.asarray(batch.predicted)[hit]
    known = predicted >= 0
    model_right = np.zeros(len(hit), dtype=bool)
    model_right[known] = vtree.tree.ancestors[labels[known], predicted[known]]
    out.labelled_hits += len(hit)
    out.agrees += int((verdict == AGREES).sum())
    out.disagrees += int((verdict == DISAGREES).sum())
    out.undecided += int((verdict == UNDECIDED).sum())
    out.model_right += int(model_right.sum())
    wrong = hit[verdict == DISAGREES][: EXAMPLES - len(out.examples)]
    out.examples += examples_of(rows, wrong.tolist(), rule, np.asarray(batch.predicted), vtree)


def examples_of(
    rows: list[tuple],
    chosen: list[int],
    rule: engine.Rule,
    predicted: np.ndarray,
    vtree: ml.VersionTree,
) -> list[Example]:
    """The ``chosen`` rows as examples: the item, its label, what the rule and the model say."""
    if not chosen:
        return []
    cats = vtree.category_ids
    model = {r: int(cats[predicted[r]]) for r in chosen if predicted[r] >= 0}
    target = int(cats[rule.node]) if rule.node >= 0 else None
    ids = {rows[r][7] for r in chosen} | set(model.values()) | {target}
    paths = dict(Category.objects.filter(pk__in=ids - {None}).values_list("pk", "path"))
    says = {
        engine.ASSIGN: paths.get(target, ""),
        engine.FORBID: f"not {paths.get(target, '')}",
        engine.REVIEW: f"review: {rule.reason}",
    }[rule.action]
    return [
        Example(
            item_id=rows[r][0],
            external_id=rows[r][1],
            title=rows[r][2],
            label=paths.get(rows[r][7], ""),
            rule_says=says,
            model_says=paths.get(model.get(r), ""),
        )
        for r in chosen
    ]
