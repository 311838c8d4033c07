"""Read side of the dashboard, activity: is the loop being fed, and does it keep up?

Labels per day and per reviewer, how long a label waits until a promoted model has learnt from
it, and the drift of the predicted top-level categories. Grouped counts over the ledger and
the predictions: a handful of GROUP BY queries, no per-row Python over the catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from labeling.models import Category, Label, ModelVersion, TaxonomyVersion
from labeling.selectors import version_mapping as vmap
from labeling.selectors.dashboard import version_predictions

ACTIVITY_DAYS = 30
DRIFT_IMPORT_DAYS = 5
DRIFT_RECENT_ITEMS = 50_000  # "recent imports": the newest items, by id


@dataclass(frozen=True)
class DailyLabels:
    days: list[date]
    by_source: dict[str, list[int]]  # every source but migration, one count per day
    migrated: list[int]  # labels a taxonomy publish carried over, per day


def labels_per_day(*, days: int = ACTIVITY_DAYS, now: datetime | None = None) -> DailyLabels:
    """Decisions (not retractions) written per day and source over the last ``days`` days.

    Labels a publish carried over (source ``migration``) are no new decisions: they are
    counted apart, or one publish would dwarf a month of reviewing."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = (
        Label.objects.filter(kind=Label.Kind.LABEL, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "source")
        .annotate(n=Count("pk"))
    )
    span = [first + timedelta(days=i) for i in range(days)]
    by_source = {s: [0] * days for s in Label.Source.values}
    for r in rows:
        index = (r["day"] - first).days
        if 0 <= index < days:
            by_source[r["source"]][index] += r["n"]
    migrated = by_source.pop(Label.Source.MIGRATION)
    return DailyLabels(days=span, by_source=by_source, migrated=migrated)


@dataclass(frozen=True)
class ReviewerRow:
    username: str
    labels: int
    retractions: int
    by_source: dict[str, int]


def labels_per_reviewer(
    *, days: int = ACTIVITY_DAYS, now: datetime | None = None
) -> list[ReviewerRow]:
    """Ledger lines per author over the last ``days`` days, busiest first (imports without an
    author are left out: they are nobody's work)."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = (
        Label.objects.filter(created_at__gte=since, author__isnull=False)
        .order_by()
        .values("author__username", "kind", "source")
        .annotate(n=Count("pk"))
    )
    labels: dict[str, int] = defaultdict(int)
    undone: dict[str, int] = defaultdict(int)
    sources: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        who = r["author__username"]
        if r["kind"] == Label.Kind.RETRACTION:
            undone[who] += r["n"]
        else:
            labels[who] += r["n"]
            sources[who][r["source"]] += r["n"]
    names = sorted(set(labels) | set(undone), key=lambda u: (-labels[u], u))
    return [ReviewerRow(u, labels[u], undone[u], dict(sources[u])) for u in names]


@dataclass(frozen=True)
class LatencyRow:
    model_id: int
    promoted_at: datetime
    new_labels: int  # labels this model was the first to learn from
    fastest: timedelta | None  # newest of them to promotion
    slowest: timedelta | None  # oldest of them to promotion


def label_latency(*, version: TaxonomyVersion) -> list[LatencyRow]:
    """How long a label waits until a promoted model has learnt from it, per promoted model:
    the labels newer than the previous promoted model's newest label, up to this model's."""
    models = ModelVersion.objects.filter(
        taxonomy_version=version, promoted_at__isnull=False, newest_label_at__isnull=False
    ).order_by("promoted_at", "pk")
    out: list[LatencyRow] = []
    previous: datetime | None = None
    for mv in models:
        window = Label.objects.filter(
            taxonomy_version=version, kind=Label.Kind.LABEL, created_at__lte=mv.newest_label_at
        )
        if previous is not None:
            window = window.filter(created_at__gt=previous)
        agg = window.aggregate(n=Count("pk"), oldest=Min("created_at"))
        oldest = agg["oldest"]
        out.append(
            LatencyRow(
                model_id=mv.pk,
                promoted_at=mv.promoted_at,
                new_labels=int(agg["n"]),
                fastest=mv.promoted_at - mv.newest_label_at if agg["n"] else None,
                slowest=mv.promoted_at - oldest if oldest else None,
            )
        )
        previous = mv.newest_label_at
    return out


@dataclass(frozen=True)
class DriftTable:
    columns: list[str]  # top-level category names
    rows: list[tuple[str, int, list[float]]]  # (what, items, share per column)


def drift(*, version: TaxonomyVersion, recent: int = DRIFT_RECENT_ITEMS) -> DriftTable:
    """Distribution of predicted top-level categories: the previous model against the models
    behind the current predictions, and the newest ``recent`` items by the day they arrived.

    Three GROUP BY queries; the import-day one reads only the newest items (an id range), so
    the dashboard does not scan the catalog once per import day.
    """
    top = _top_level(version)
    preds = version_predictions(version)
    rows: list[tuple[str, dict[str, int]]] = [
        ("previous model", _tally(preds, "previous_top_category_id", top))
    ]
    by_model: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for mv, cat, n in (
        preds.values("model_version_id", "top_category_id")
        .annotate(n=Count("pk"))
        .values_list("model_version_id", "top_category_id", "n")
    ):
        if cat in top:
            by_model[mv][top[cat]] += n
    rows += [(f"model #{mv}", dict(by_model[mv])) for mv in sorted(by_model)]
    rows += _by_import_day(preds, top, recent, DRIFT_IMPORT_DAYS)
    columns = sorted({name for _, counts in rows for name in counts})
    table = [
        (what, sum(c.values()), [c.get(col, 0) / sum(c.values()) for col in columns])
        for what, c in rows
        if sum(c.values())
    ]
    return DriftTable(columns=columns, rows=table)


def _top_level(version: TaxonomyVersion) -> dict[int, str]:
    """``{category id: top-level name in version}``, the categories of the versions it was
    published from included (the stand-in model's and the previous tops), mapped."""
    top = {
        pk: path.split(" > ", 1)[0]
        for pk, path in Category.objects.filter(version=version).values_list("pk", "path")
    }
    older = vmap.older_versions(version)
    old = Category.objects.filter(version_id__in=older).values_list("pk", flat=True)
    now = vmap.to_current(version=version, ids=old) if older else {}
    return top | {pk: top[new] for pk, new in now.items() if new in top}


def _tally(qs: Any, column: str, top: Mapping[int, str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for cat, n in qs.values(column).annotate(n=Count("pk")).values_list(column, "n"):
        if cat in top:
            out[top[cat]] += n
    return dict(out)


def _by_import_day(
    preds: Any, top: Mapping[int, str], recent: int, days: int
) -> list[tuple[str, dict[str, int]]]:
    newest = preds.aggregate(m=Max("item_id"))["m"]
    if newest is None:
        return []
    rows = (
        preds.filter(item_id__gt=newest - recent)
        .annotate(day=TruncDate("item__created_at"))
        .values("day", "top_category_id")
        .annotate(n=Count("pk"))
        .values_list("day", "top_category_id", "n")
    )
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, cat, n in rows:
        if cat in top:
            by_day[day][top[cat]] += n
    return [(f"imported {d:%Y-%m-%d}", dict(by_day[d])) for d in sorted(by_day)[-days:]]
