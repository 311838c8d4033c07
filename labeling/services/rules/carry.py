"""A publish carries the rules of the version it replaces into the new one.

Each rule is copied (``carried_from`` the old one) with its categories mapped the way labels
are (``publish_mapping.category_mapping``): a category the draft kept (renamed, moved, edited
or split) is the same category in the new tree; one the draft removed maps to where its labels
go (a merge's target, a deprecated category's parent). A rule naming a removed category is
carried switched off, with the reason, so the admin decides what it should say now: a forbid
of "Shirts" silently turned into a forbid of "Topwear" would forbid far more than was meant.
A split category is now an inner node: "the model's top category is Shirts" can no longer
hold (tops are leaves), so it becomes "is under Shirts", its meaning before the split.
Nothing is ever dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from labeling.models import CategoryMapping, Rule, RuleCondition, TaxonomyVersion
from labeling.services.taxonomy.publish_mapping import MappingRow

MERGED = (
    "Switched off by Taxoloop at the publish of v{number}: {old!r} was merged into {new!r}, "
    "which the rule now names. Check it, preview it and switch it on again."
)
DEPRECATED = (
    "Switched off by Taxoloop at the publish of v{number}: {old!r} was deprecated, and the "
    "rule now names its nearest kept ancestor {new!r}. Check it, preview it and switch it on "
    "again."
)
_REMOVED = {CategoryMapping.Kind.MERGED: MERGED, CategoryMapping.Kind.DEPRECATED: DEPRECATED}


def rules_carry(
    *, base: TaxonomyVersion, draft: TaxonomyVersion, mapping: Sequence[MappingRow]
) -> list[Rule]:
    """Copy ``base``'s rules into ``draft`` (being published); the copies."""
    by_old = {m.old_id: m for m in mapping}
    carried = []
    old_rules = Rule.objects.filter(taxonomy_version=base).prefetch_related("conditions")
    for old in old_rules.order_by("priority", "id"):
        problems: list[str] = []
        rule = Rule.objects.create(
            taxonomy_version=draft,
            name=old.name,
            action=old.action,
            category_id=_mapped(old.category_id, by_old, problems, draft),
            reason=old.reason,
            priority=old.priority,
            enabled=old.enabled,
            problem=old.problem,
            preview=old.preview,
            previewed_at=old.previewed_at,
            carried_from=old,
            created_by=old.created_by,
            updated_by=old.updated_by,
        )
        RuleCondition.objects.bulk_create(
            _condition(rule, condition, by_old, problems, draft)
            for condition in old.conditions.all()
        )
        if problems:
            rule.enabled, rule.problem = False, " ".join(problems)
            rule.save(update_fields=["enabled", "problem"])
        carried.append(rule)
    return carried


def _condition(
    rule: Rule,
    old: RuleCondition,
    by_old: dict[int, MappingRow],
    problems: list[str],
    draft: TaxonomyVersion,
) -> RuleCondition:
    kind = old.kind
    moved = by_old.get(old.category_id) if old.category_id else None
    if (
        kind == RuleCondition.Kind.PREDICTED_IS
        and moved
        and moved.kind == CategoryMapping.Kind.SPLIT
    ):
        kind = RuleCondition.Kind.PREDICTED_UNDER
    return RuleCondition(
        rule=rule,
        position=old.position,
        kind=kind,
        field=old.field,
        value=old.value,
        category_id=_mapped(old.category_id, by_old, problems, draft),
    )


def _mapped(
    category_id: int | None,
    by_old: dict[int, MappingRow],
    problems: list[str],
    draft: TaxonomyVersion,
) -> int | None:
    if category_id is None:
        return None
    row = by_old[category_id]
    removed = _REMOVED.get(row.kind)
    if removed is not None:
        problems.append(removed.format(number=draft.number, old=row.old_path, new=row.new_path))
    return row.new_id
