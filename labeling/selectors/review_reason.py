"""Why an item is in the review queue, in words: the reason line of the review card.

A queue entry stores its reason and a ``detail`` (the categories it was queued between, the
heads' votes, the nearest labelled item's category...) written when the queue was built.
``reason_in_words`` says it as a reviewer reads it; ``card_reason`` says it only while the
prediction shown beside it still bears it out (the item may have been rescored, or a publish
may have mapped its categories since); a suspected label error's evidence comes from models
that never saw the item, not from the prediction, and is shown as stored. Names come from the
in-memory index of the version's categories (``labeling.selectors.category_index``), without a
query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.template.defaultfilters import floatformat

from labeling.models import Category, Prediction, QueueEntry, TaxonomyVersion
from labeling.selectors.category_index import (
    CARD_INDEX_MAX_AGE,
    category_index_get,
    mapped_into_index,
    node_probabilities,
)
from labeling.selectors.review import CandidateRow


def reason_in_words(
    reason: str, detail: Mapping[str, Any], version: TaxonomyVersion | None = None
) -> str:
    """Why the item is in the queue, as a reviewer reads it (names from ``version``'s cached
    index when given: no query unless the detail names categories outside it)."""
    names = _names(detail, version)
    between = [names.get(int(x), f"#{x}") for x in detail.get("between", [])]
    if reason == QueueEntry.Reason.AUDIT:
        return "random audit"
    if reason == QueueEntry.Reason.RULE:  # a taxonomy admin's review rule (issue 17)
        return f"rule “{detail.get('name', '')}”: {detail.get('text', '')}"
    if reason in (QueueEntry.Reason.UNCERTAIN, QueueEntry.Reason.BOUNDARY) and len(between) == 2:
        where = "uncertain" if reason == QueueEntry.Reason.UNCERTAIN else "on the boundary"
        return f"{where} between {between[0]} and {between[1]}"
    if reason == QueueEntry.Reason.DISAGREEMENT:
        says = [
            f"{k.removesuffix('_says')} says {names.get(int(v), f'#{v}')}"
            for k, v in detail.items()
            if k.endswith("_says")
        ]
        return ", ".join(says) if says else "the model's text and image heads disagree"
    if reason == QueueEntry.Reason.NOVEL:
        nearest = detail.get("nearest")
        tail = f" (nearest: {names.get(int(nearest), '?')})" if nearest is not None else ""
        return f"unlike anything labelled so far{tail}"
    if reason == QueueEntry.Reason.TYPICAL:
        region = int(detail.get("region", 0))
        if region > 1:
            return f"typical of about {region} similar items no one has labelled yet"
        return "typical of a region no one has labelled yet"
    if reason == QueueEntry.Reason.RE_REVIEW and detail.get("suspected"):
        return _suspected_in_words(detail, names)
    if reason == QueueEntry.Reason.RE_REVIEW and "label" in detail:
        label = names.get(int(detail["label"]), "?")
        model = names.get(int(detail.get("model_says", 0)), "?")
        return f"labelled {label}, but the model says {model} (p {float(detail.get('p', 0)):.2f})"
    return {"uncertain": "the model is uncertain", "boundary": "near a category boundary"}.get(
        reason, reason
    )


def _suspected_in_words(detail: Mapping[str, Any], names: Mapping[int, str]) -> str:
    """A suspected label error (``queue_re_review``): the given label and the out-of-fold
    evidence, the model's share for it and for the category it suggests."""
    label = names.get(int(detail["label"]), "?")
    suggested = names.get(int(detail.get("suggested", 0)), "?")
    p_given, p_suggested = float(detail.get("p_given", 0)), float(detail.get("p_suggested", 0))
    return (
        f"suspected label error: labelled {label}; out of fold the model gives it "
        f"{p_given:.2f} and {suggested} {p_suggested:.2f}"
    )


def _detail_ids(detail: Mapping[str, Any]) -> set[int]:
    """The categories a queue entry's ``detail`` names."""
    ids: set[int] = set()
    for key, value in detail.items():
        if key == "between":
            ids.update(int(x) for x in value)
        elif _names_a_category(key):
            ids.add(int(value))
    return ids


def _names_a_category(key: str) -> bool:
    return key.endswith("_says") or key in ("nearest", "label", "model_says", "suggested")


def _names(detail: Mapping[str, Any], version: TaxonomyVersion | None) -> dict[int, str]:
    ids = _detail_ids(detail)
    index = category_index_get(version, max_age=CARD_INDEX_MAX_AGE) if version is not None else None
    names = {pk: index.by_pk[pk].name for pk in ids if pk in index.by_pk} if index else {}
    missing = ids - names.keys()
    if missing:  # categories of an older version, named in a queue entry built before a publish
        names |= dict(Category.objects.filter(pk__in=missing).values_list("pk", "name"))
    return names


# "Uncertain (or on the boundary) between A and B" is true of the card's prediction while A
# and B are its two most probable candidates (sibling nodes, for a boundary) and no further
# apart than this, or than the margin the queue picked them at: the queue ranks its pool, so
# a confident model's least sure items may be further apart.
CLOSE_MARGIN = 0.3
# The queue's detail keeps 4 decimals, the card's candidates 6: nearer than this is equal.
P_TOLERANCE = 0.01
_QUEUED_FOR = {
    QueueEntry.Reason.UNCERTAIN: "queued as uncertain{by}",
    QueueEntry.Reason.BOUNDARY: "queued as near a category boundary{by}",
    QueueEntry.Reason.NOVEL: "queued as unlike anything labelled so far{by}",
    QueueEntry.Reason.RE_REVIEW: "queued{by} to re-review its label",
    QueueEntry.Reason.DISAGREEMENT: "queued{by} as {whose} {heads} heads disagreed",
}


def card_reason(
    *, entry: QueueEntry, rows: Sequence[CandidateRow], version: TaxonomyVersion | None
) -> str:
    """Why the item is in the queue, true of the prediction the card shows beside it.

    The entry's ``detail`` was written when the queue was built; the item may have been
    rescored since (a newer model, or the same one again) or a publish may have mapped its
    categories. The stored reason is kept, in ``version``'s names, while the card's candidates
    (``rows``) bear it out; otherwise the card says what the entry was queued for and what the
    model says now. Committee votes are not in the prediction: after a rescore they are not
    shown. No query unless the detail names categories outside ``version``'s cached index.
    """
    detail = entry.detail or {}
    prediction = getattr(entry.item, "prediction", None)
    if version is None or prediction is None or not rows or not _about_the_prediction(entry):
        return reason_in_words(entry.reason, detail, version)
    current = _detail_in_version(detail, version)
    rescored = _rescored(entry, prediction)
    if current is not None and _still_true(entry.reason, current, rows, version, rescored):
        return reason_in_words(entry.reason, current, version)
    if entry.reason == QueueEntry.Reason.UNCERTAIN and _close(rows, CLOSE_MARGIN):
        return f"uncertain between {rows[0].category.name} and {rows[1].category.name}"
    return _queued_then_now(entry, prediction, rows, rescored)


def _about_the_prediction(entry: QueueEntry) -> bool:
    """An audit, or a re-review a publish made (a split node), says nothing of the model; a
    suspected label error's evidence is out of fold, not the prediction shown: true as stored."""
    detail = entry.detail or {}
    if entry.reason in (QueueEntry.Reason.AUDIT, QueueEntry.Reason.RULE) or detail.get("suspected"):
        return False
    return entry.reason != QueueEntry.Reason.RE_REVIEW or "label" in detail


def _detail_in_version(
    detail: Mapping[str, Any], version: TaxonomyVersion
) -> dict[str, Any] | None:
    """``detail`` with its categories mapped into ``version`` (as the card's candidates are);
    None when one of them maps to no live category."""
    ids = _detail_ids(detail)
    index = category_index_get(version, max_age=CARD_INDEX_MAX_AGE)
    if any(pk not in index.by_pk for pk in ids):
        index = category_index_get(version)  # the cache may predate a category; else old ones
    moved = mapped_into_index(index, {pk for pk in ids if pk not in index.by_pk})
    where = {pk: pk if pk in index.by_pk else moved.get(pk) for pk in ids}
    if None in where.values():
        return None
    out = dict(detail)
    for key, value in detail.items():
        if key == "between":
            out[key] = [where[int(x)] for x in value]
        elif _names_a_category(key):
            out[key] = where[int(value)]
    return out


def _rescored(entry: QueueEntry, prediction: Prediction) -> bool:
    """The prediction was written after the entry: by a newer model, or the same one again."""
    if entry.model_version_id is not None and prediction.model_version_id != entry.model_version_id:
        return True
    return bool(entry.created_at and prediction.created_at > entry.created_at)


def _still_true(
    reason: str,
    detail: Mapping[str, Any],
    rows: Sequence[CandidateRow],
    version: TaxonomyVersion,
    rescored: bool,
) -> bool:
    """Whether the stored reason (categories in ``version``) is true of the card's ``rows``."""
    top = rows[0]
    if reason in (QueueEntry.Reason.UNCERTAIN, QueueEntry.Reason.BOUNDARY):
        between = [int(x) for x in detail.get("between", [])]
        limit = max(CLOSE_MARGIN, float(detail.get("margin", 0.0))) + P_TOLERANCE
        if len(between) != 2:  # "the model is uncertain" / "near a category boundary"
            return reason == QueueEntry.Reason.BOUNDARY or _close(rows, limit)
        top_two = {r.category.pk for r in rows[:2]} == set(between) and _close(rows, limit)
        return top_two or (
            reason == QueueEntry.Reason.BOUNDARY and _top_siblings(between, rows, version, limit)
        )
    if reason == QueueEntry.Reason.DISAGREEMENT:
        return not rescored  # the heads' votes are as stored only until the item is rescored
    if reason == QueueEntry.Reason.NOVEL:
        return "nearest" not in detail or int(detail["nearest"]) == top.category.pk
    if reason == QueueEntry.Reason.RE_REVIEW:
        said = int(detail.get("model_says", 0)) == top.category.pk
        return said and abs(float(detail.get("p", 0.0)) - top.p) <= P_TOLERANCE
    return True


def _close(rows: Sequence[CandidateRow], limit: float) -> bool:
    return len(rows) >= 2 and rows[0].p - rows[1].p <= limit


def _top_siblings(
    between: list[int], rows: Sequence[CandidateRow], version: TaxonomyVersion, limit: float
) -> bool:
    """The boundary pair is two siblings (inner nodes, maybe), the most probable two of their
    parent's children by the card's candidates, no further apart than ``limit``."""
    index = category_index_get(version, max_age=CARD_INDEX_MAX_AGE)
    parents = {n.pk: n.parent for n in index.nodes}
    a, b = between
    if a not in parents or b not in parents or parents[a] != parents[b]:
        return False
    probs = node_probabilities(({"category": r.category.pk, "p": r.p} for r in rows), parents)
    ranked = sorted(
        (pk for pk in {a, b} | probs.keys() if parents.get(pk, -1) == parents[a]),
        key=lambda pk: -probs.get(pk, 0.0),
    )
    pa, pb = probs.get(a, 0.0), probs.get(b, 0.0)
    return set(ranked[:2]) == {a, b} and min(pa, pb) > 0 and abs(pa - pb) <= limit


def _queued_then_now(
    entry: QueueEntry, prediction: Prediction, rows: Sequence[CandidateRow], rescored: bool
) -> str:
    """What the entry was queued for, then what the card's candidates say now."""
    mv = entry.model_version_id
    heads = [k.removesuffix("_says") for k in (entry.detail or {}) if k.endswith("_says")]
    queued = _QUEUED_FOR.get(entry.reason, "queued as {reason}{by}").format(
        by=f" by model #{mv}" if mv is not None else "",
        reason=entry.reason,
        whose="its" if mv is not None else "the model's",
        heads=" and ".join(heads or ["text", "image"]),
    )
    since = ""
    if rescored:
        newer = mv is not None and prediction.model_version_id != mv
        by = f" by model #{prediction.model_version_id}" if newer else ""
        since = f"; rescored{by} since"
        if entry.reason == QueueEntry.Reason.DISAGREEMENT:
            since += ", the heads' current votes unknown"
    now = [rows[0], rows[1]] if _close(rows, CLOSE_MARGIN) else [rows[0]]
    return f"{queued}{since}: now " + ", ".join(
        f"{r.category.name} at {floatformat(r.p, 2)}" for r in now
    )
