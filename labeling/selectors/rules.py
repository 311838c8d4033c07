"""Read side of rules (issue 17): a version's rules with their recent counts, one rule, its
counts per day."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from labeling.models import Rule, RuleCondition, RuleStat, TaxonomyVersion

RECENT_DAYS = 30


def _rules() -> QuerySet[Rule]:
    conditions = RuleCondition.objects.select_related("category").order_by("position", "id")
    return Rule.objects.select_related("category", "taxonomy_version__taxonomy").prefetch_related(
        Prefetch("conditions", queryset=conditions)
    )


def rule_list(*, version: TaxonomyVersion | None, enabled: bool | None = None) -> QuerySet[Rule]:
    """``version``'s rules in precedence order (priority, then id), each with its counts over
    the last ``RECENT_DAYS`` days: ``recent_scored``, ``recent_hits``, ``recent_labelled``,
    ``recent_disagreements``, ``recent_timeouts`` (None when it has none)."""
    if version is None:
        return Rule.objects.none()
    since = timezone.localdate() - dt.timedelta(days=RECENT_DAYS)
    rules = _rules().filter(taxonomy_version=version)
    if enabled is not None:
        rules = rules.filter(enabled=enabled)
    recent = {
        f"recent_{name}": Sum(f"stats__{name}", filter=Q(stats__day__gte=since))
        for name in ("scored", "hits", "labelled", "disagreements", "timeouts")
    }
    return rules.annotate(**recent).order_by("priority", "id")


def rule_get(*, pk: int) -> Rule | None:
    return _rules().filter(pk=pk).first()


def rule_stats(*, rule: Rule, days: int = 90) -> list[RuleStat]:
    """The rule's counts per day of scoring, oldest first, over the last ``days`` days; a
    carried rule's history goes on from the rule it was carried from."""
    since = timezone.localdate() - dt.timedelta(days=days)
    chain: list[int] = []
    current: Rule | None = rule
    while current is not None and len(chain) < 20:
        chain.append(current.pk)
        current = current.carried_from
    return list(RuleStat.objects.filter(rule_id__in=chain, day__gte=since).order_by("day", "id"))
