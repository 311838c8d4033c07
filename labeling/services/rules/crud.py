"""Write rules: create, edit, switch on and off, delete.

Rules are written on the current taxonomy version (their preview needs its labels and
predictions; a publish carries them into the next version, ``carry``); other versions' rules
are read only. A new or edited rule is off until an admin switches it on, and switching on
needs a preview since the last edit (``preview.rule_preview_saved``): nobody turns on a rule
without having seen what it hits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from classifier import rules as engine
from labeling.models import Category, Rule, RuleCondition, TaxonomyVersion
from labeling.services.learning import ml
from labeling.services.rules.compiling import engine_condition, engine_rule
from labeling.services.rules.validation import (
    CleanCondition,
    RuleError,
    category_resolve,
    condition_clean,
)
from labeling.services.storable import unstorable

MAX_CONDITIONS = 20
MAX_PRIORITY = 1_000_000
READ_ONLY = (
    "{version} is not the current version: its rules are read only. Rules are written on the "
    "current version, and a publish carries them into the next."
)
NAME_NEEDED = "Give the rule a name (at most 200 characters)."
NAME_TAKEN = "{version} already has a rule named {name!r}."
UNKNOWN_ACTION = "Unknown action {action!r}; one of assign, forbid, review."
CATEGORY_NEEDED = "A rule that can {action} needs a category of {version}."
DEPRECATED = "{path!r} is deprecated: it takes no new labels, so no rule may assign it."
REASON_NEEDED = "A review rule needs a reason (at most 500 characters): reviewers read it."
NO_CONDITIONS = "A rule needs at least one condition; with none it would hit every item."
TOO_MANY_CONDITIONS = "A rule has at most {max} conditions, this one has {count}."
BAD_PRIORITY = "The priority is a whole number from 0 to {max} (lower runs first), got {value!r}."
PREVIEW_FIRST = (
    "Preview the rule before switching it on: how many items it hits, and how many labelled "
    "items it gets right."
)
DOES_NOT_COMPILE = "The rule cannot be evaluated: {error}."
UNSTORABLE = "The rule's text holds {what}, which cannot be stored; remove it."


@dataclass(frozen=True)
class RuleInput:
    """A rule as typed. ``category`` is an id, a path, a key or a Category; ``conditions``
    are mappings of ``kind``, ``field``, ``value`` and (prediction conditions) ``category``."""

    name: str
    action: str
    category: Any = None
    reason: str = ""
    priority: Any = 100
    conditions: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class CleanRule:
    name: str
    action: str
    category: Category | None
    reason: str
    priority: int
    conditions: tuple[CleanCondition, ...]

    def to_engine(self, vtree: ml.VersionTree) -> engine.Rule:
        conditions = [
            engine_condition(
                kind=c.kind,
                field=c.field,
                value=c.value,
                category_id=c.category.pk if c.category else None,
                vtree=vtree,
            )
            for c in self.conditions
        ]
        return engine_rule(
            action=self.action,
            category_id=self.category.pk if self.category else None,
            reason=self.reason,
            conditions=conditions,
            vtree=vtree,
        )


def rule_clean(*, version: TaxonomyVersion, data: RuleInput) -> CleanRule:
    """``data`` checked against ``version`` (``RuleError`` says what is wrong)."""
    _storable([data.name, data.reason, data.category, list(data.conditions)])
    name = (data.name or "").strip()
    if not name or len(name) > 200:
        raise RuleError(NAME_NEEDED)
    if data.action not in Rule.Action.values:
        raise RuleError(UNKNOWN_ACTION.format(action=data.action))
    category, reason = None, (data.reason or "").strip()
    if data.action == Rule.Action.REVIEW:
        if not reason or len(reason) > 500:
            raise RuleError(REASON_NEEDED)
    elif data.category in (None, ""):
        raise RuleError(CATEGORY_NEEDED.format(action=data.action, version=version))
    else:
        category = category_resolve(version, data.category)
        if data.action == Rule.Action.ASSIGN and category.deprecated:
            raise RuleError(DEPRECATED.format(path=category.path))
    # A row with nothing in it is no condition; one with a value but no kind is refused.
    raws = [c for c in data.conditions if any(_typed(c.get(k)) for k in ("kind", "field", "value"))]
    if not raws:
        raise RuleError(NO_CONDITIONS)
    if len(raws) > MAX_CONDITIONS:
        raise RuleError(TOO_MANY_CONDITIONS.format(max=MAX_CONDITIONS, count=len(raws)))
    conditions = tuple(condition_clean(n, raw, version) for n, raw in enumerate(raws, start=1))
    clean = CleanRule(name, data.action, category, reason, _priority(data.priority), conditions)
    _check_compiles(clean, version)
    return clean


def _typed(value: Any) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


def _storable(value: Any) -> None:
    """Refuse text no column can hold (NUL, a lone surrogate), wherever it hides."""
    if isinstance(value, str):
        what = unstorable(value)
        if what:
            raise RuleError(UNSTORABLE.format(what=what))
    elif isinstance(value, Mapping):
        _storable(list(value.keys()) + list(value.values()))
    elif isinstance(value, list | tuple):
        for element in value:
            _storable(element)


def _priority(value: Any) -> int:
    text = str(value if value not in (None, "") else 100).strip()
    if not text.isdigit() or int(text) > MAX_PRIORITY:
        raise RuleError(BAD_PRIORITY.format(max=MAX_PRIORITY, value=value))
    return int(text)


def _check_compiles(clean: CleanRule, version: TaxonomyVersion) -> None:
    vtree = ml.version_tree(version)
    try:
        engine.RuleSet([clean.to_engine(vtree)], vtree.tree)
    except (ValueError, ml.MLError) as error:
        raise RuleError(DOES_NOT_COMPILE.format(error=error)) from error


def _writable(version: TaxonomyVersion) -> None:
    if not version.is_current:
        raise RuleError(READ_ONLY.format(version=version))


def _name_free(version: TaxonomyVersion, name: str, rule: Rule | None = None) -> None:
    taken = Rule.objects.filter(taxonomy_version=version, name=name)
    if rule is not None:
        taken = taken.exclude(pk=rule.pk)
    if taken.exists():
        raise RuleError(NAME_TAKEN.format(version=version, name=name))


@transaction.atomic
def rule_create(
    *, version: TaxonomyVersion, data: RuleInput, author: AbstractBaseUser | None
) -> Rule:
    """A new rule on ``version`` (the current one), switched off."""
    _writable(version)
    clean = rule_clean(version=version, data=data)
    _name_free(version, clean.name)
    rule = Rule(taxonomy_version=version, created_by=author)
    return _save(rule, clean, author)


@transaction.atomic
def rule_update(*, rule: Rule, data: RuleInput, author: AbstractBaseUser | None) -> Rule:
    """Replace ``rule``'s name, action, category, reason, priority and conditions. It is off
    afterwards, and its old preview is gone: what it hits may have changed."""
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    _writable(rule.taxonomy_version)
    clean = rule_clean(version=rule.taxonomy_version, data=data)
    _name_free(rule.taxonomy_version, clean.name, rule)
    return _save(rule, clean, author)


def _save(rule: Rule, clean: CleanRule, author: AbstractBaseUser | None) -> Rule:
    rule.name, rule.action, rule.category = clean.name, clean.action, clean.category
    rule.reason, rule.priority, rule.updated_by = clean.reason, clean.priority, author
    rule.enabled, rule.problem, rule.preview, rule.previewed_at = False, "", {}, None
    rule.save()
    rule.conditions.all().delete()
    RuleCondition.objects.bulk_create(
        RuleCondition(
            rule=rule,
            position=i,
            kind=c.kind,
            field=c.field,
            value=c.value,
            category=c.category,
        )
        for i, c in enumerate(clean.conditions)
    )
    return rule


@transaction.atomic
def rule_enable(*, rule: Rule, enabled: bool, author: AbstractBaseUser | None) -> Rule:
    """Switch ``rule`` on (it needs a preview since its last edit) or off; switching on
    clears the problem Taxoloop noted when it switched the rule off."""
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    _writable(rule.taxonomy_version)
    if enabled and rule.previewed_at is None:
        raise RuleError(PREVIEW_FIRST)
    rule.enabled, rule.updated_by = enabled, author
    if enabled:
        rule.problem = ""
    rule.save(update_fields=["enabled", "updated_by", "problem", "updated_at"])
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule) -> None:
    """Delete a rule of the current version (its counts go with it; predictions it decided
    keep their category until the next rescore)."""
    _writable(rule.taxonomy_version)
    rule.delete()
