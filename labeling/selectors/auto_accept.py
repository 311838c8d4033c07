"""Read side of the dashboard's auto-accept section (issue 17): how much of the catalog is final
without a person, and how sure we are.

Three readings, from two sources:

- the catalog now: ``Prediction.status`` counted live (one GROUP BY over the predictions, with
  the depth of the node an auto-accepted item was accepted at);
- the certification of one model: ``ModelVersion.metrics["auto_accept"]``, written by
  ``labeling.services.learning.auto_accept.certify`` when the model's rescore job is planned
  (per top-level branch the audit items accepted, their errors and the precision's one-sided
  95% Clopper-Pearson bound; the nodes that still lack audit labels);
- the history over model versions: each model's certification and the catalog snapshot its
  rescore job wrote when it was done (``catalog_snapshot``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count

from labeling.models import Category, ModelVersion, Prediction, TaxonomyVersion

KEY = "auto_accept"  # the key certify() stores under (services.learning.auto_accept.KEY)
HISTORY_STATUSES = ("candidate", "active", "rejected", "retired")
STATUSES = tuple(Prediction.Status.values)  # labelled, auto_accepted, needs_review
CATCH_ALL = "catch-all pool (every node without a unit of its own)"


@dataclass(frozen=True)
class CatalogStatus:
    """Items with a prediction by status, and the auto-accepted ones by the depth of the node
    they were accepted at (an accepted node deleted since counts in no depth)."""

    items: int
    by_status: dict[str, int]
    auto_accepted_by_depth: dict[int, int]

    def share(self, status: str) -> float | None:
        return self.by_status.get(status, 0) / self.items if self.items else None

    def depth_share(self, depth: int) -> float | None:
        return self.auto_accepted_by_depth.get(depth, 0) / self.items if self.items else None


def catalog_status_now() -> CatalogStatus:
    """The catalog's statuses now, from every item's current prediction (one query)."""
    rows = (
        Prediction.objects.order_by()
        .values_list("status", "accepted_category__depth")
        .annotate(n=Count("id"))
    )
    by_status = dict.fromkeys(STATUSES, 0)
    by_depth: dict[int, int] = {}
    for status, depth, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        if status == Prediction.Status.AUTO_ACCEPTED and depth is not None:
            by_depth[depth] = by_depth.get(depth, 0) + n
    return CatalogStatus(sum(by_status.values()), by_status, dict(sorted(by_depth.items())))


@dataclass(frozen=True)
class BranchRow:
    """One top-level branch: audit items the certified policy accepts in it, errors among
    them, their precision and its one-sided 95% lower bound (None without any)."""

    category_id: int
    name: str
    n_accepted: int
    n_errors: int
    precision: float | None
    lower_bound: float | None


@dataclass(frozen=True)
class NeedRow:
    """A node without a certified threshold of its own (None: the catch-all pool): the audit
    items predicted into it, how many it needs, how many more uniform audit labels bring that
    many, and whether its items are already accepted through a pooled unit."""

    category_id: int | None
    name: str
    have: int
    need: int
    extra_audit: int
    covered: bool


@dataclass(frozen=True)
class Certification:
    """What one model's certification says (``target`` None: auto-accept was off)."""

    model_id: int
    target: float | None
    alpha: float | None
    n_audit: int
    units: int
    units_certified: int
    catch_all_bound: float | None  # at the catch-all unit's own (Bonferroni-split) level
    certified_at: datetime | None
    branches: list[BranchRow] = field(default_factory=list)
    needs: list[NeedRow] = field(default_factory=list)


def stored(model: ModelVersion | None) -> Mapping[str, Any]:
    """The model's stored certification (empty when it has none)."""
    return ((model.metrics or {}).get(KEY) or {}) if model is not None else {}


def certification(*, model: ModelVersion | None) -> Certification | None:
    """The certification stored with ``model``; None when it has none yet."""
    summary = stored(model)
    if model is None or not summary:
        return None
    branches = summary.get("branches") or []
    needs = summary.get("audit_needs") or []
    names = _names([b["category"] for b in branches] + [n["category"] for n in needs])
    return Certification(
        model_id=model.pk,
        target=summary.get("target"),
        alpha=summary.get("alpha"),
        n_audit=int(summary.get("n_audit") or 0),
        units=len(summary.get("units") or []),
        units_certified=int(summary.get("units_certified") or 0),
        catch_all_bound=catch_all_bound(summary),
        certified_at=_when(summary.get("certified_at")),
        branches=[_branch(b, names) for b in branches],
        needs=[_need(n, names) for n in needs],
    )


def _branch(row: Mapping[str, Any], names: Mapping[int, str]) -> BranchRow:
    category = int(row["category"])
    return BranchRow(
        category_id=category,
        name=names.get(category, f"#{category}"),
        n_accepted=int(row.get("n_accepted") or 0),
        n_errors=int(row.get("n_errors") or 0),
        precision=row.get("precision"),
        lower_bound=row.get("lower_bound"),
    )


def _need(row: Mapping[str, Any], names: Mapping[int, str]) -> NeedRow:
    category = row.get("category")
    return NeedRow(
        category_id=None if category is None else int(category),
        name=CATCH_ALL if category is None else names.get(int(category), f"#{category}"),
        have=int(row.get("have") or 0),
        need=int(row.get("need") or 0),
        extra_audit=int(row.get("extra_audit") or 0),
        covered=bool(row.get("covered")),
    )


def catch_all_bound(summary: Mapping[str, Any]) -> float | None:
    """The lower bound of the catch-all unit (``category`` None), None when it certified no
    threshold or there is none."""
    unit = next((u for u in summary.get("units") or [] if u.get("category") is None), None)
    return None if unit is None else unit.get("lower_bound")


def _names(ids: list[int | None]) -> dict[int, str]:
    wanted = {int(i) for i in ids if i is not None}
    return dict(Category.objects.filter(pk__in=wanted).values_list("pk", "path"))


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class HistoryPoint:
    """One certified model: the labels it was trained on, its certification, and the
    catalog its rescore left (``items`` None: the job is not done yet)."""

    model_id: int
    status: str
    label_count: int
    target: float | None
    n_audit: int
    units_certified: int
    catch_all_bound: float | None
    items: int | None
    auto_accepted: int | None
    auto_accepted_by_depth: dict[int, int]

    @property
    def share(self) -> float | None:
        return (
            self.auto_accepted / self.items
            if self.items and self.auto_accepted is not None
            else None
        )

    def depth_share(self, depth: int) -> float | None:
        return self.auto_accepted_by_depth.get(depth, 0) / self.items if self.items else None


def history(*, version: TaxonomyVersion) -> list[HistoryPoint]:
    """Every certified model of ``version`` by labels used (as the learning curve orders them)."""
    models = ModelVersion.objects.filter(taxonomy_version=version, status__in=HISTORY_STATUSES)
    return [
        _point(mv, stored(mv))
        for mv in models.order_by("label_count", "created_at", "pk")
        if stored(mv)
    ]


def _point(mv: ModelVersion, summary: Mapping[str, Any]) -> HistoryPoint:
    catalog = summary.get("catalog") or {}
    by_status = catalog.get("by_status") or {}
    return HistoryPoint(
        model_id=mv.pk,
        status=mv.status,
        label_count=mv.label_count,
        target=summary.get("target"),
        n_audit=int(summary.get("n_audit") or 0),
        units_certified=int(summary.get("units_certified") or 0),
        catch_all_bound=catch_all_bound(summary),
        items=int(catalog["items"]) if "items" in catalog else None,
        auto_accepted=int(by_status.get(Prediction.Status.AUTO_ACCEPTED, 0)) if catalog else None,
        auto_accepted_by_depth={
            int(d): int(n) for d, n in (catalog.get("auto_accepted_by_depth") or {}).items()
        },
    )
