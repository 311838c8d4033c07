"""Rules beside the model (issue 17): taxonomy admins' conditions and actions, run at scoring.

A ``Rule`` belongs to one taxonomy version, and its categories (the action's, and those its
conditions name) to that version's tree; a publish carries the rules into the new version
with their categories mapped like labels (``labeling.services.rules.carry``). ``RuleStat``
counts what a rule did per day of scoring.

Foreign keys to models of other modules are by name (``"labeling.Category"``): the model
modules never import each other. Categories are ``RESTRICT``: a category a rule names cannot
be deleted on its own (a draft's merge never sees rules; deleting a whole version takes its
rules along).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Rule(models.Model):
    class Action(models.TextChoices):
        ASSIGN = "assign", "assign a category"
        FORBID = "forbid", "forbid a category"
        REVIEW = "review", "send to review"

    taxonomy_version = models.ForeignKey(
        "labeling.TaxonomyVersion", on_delete=models.CASCADE, related_name="rules"
    )
    name = models.CharField(max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices)
    category = models.ForeignKey(
        "labeling.Category",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="assign: the final category; forbid: the category taken away",
    )
    reason = models.CharField(
        max_length=500, blank=True, help_text="review: what the reviewer is told on the card"
    )
    # Lower first: the first assign rule that hits an item decides it.
    priority = models.PositiveIntegerField(default=100)
    enabled = models.BooleanField(default=False)
    # Why Taxoloop switched it off (its category left the tree at a publish, a pattern timed
    # out during a rescore); cleared when an admin edits or switches it on again.
    problem = models.TextField(blank=True)
    # The figures of its last preview (hits, labelled right/wrong, ...): switching a rule on
    # needs one since its last edit.
    preview = models.JSONField(default=dict, blank=True)
    previewed_at = models.DateTimeField(null=True, blank=True)
    carried_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="carried_to",
        help_text="the same rule in the version this one was published from",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["taxonomy_version", "priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["taxonomy_version", "name"], name="rule_unique_name"),
            models.CheckConstraint(
                condition=Q(action="review") | Q(category__isnull=False),
                name="rule_category_for_assign_forbid",
            ),
        ]

    def __str__(self) -> str:
        return f"rule {self.name!r} ({self.action}, {'on' if self.enabled else 'off'})"


class RuleCondition(models.Model):
    """One condition of a rule; a rule hits an item when all of them hold."""

    class Kind(models.TextChoices):
        WORDS = "words", "contains any of the words"
        PHRASE = "phrase", "contains the phrase"
        REGEX = "regex", "matches the pattern"
        ATTRIBUTE_EQUALS = "attribute_equals", "attribute equals"
        ATTRIBUTE_IN = "attribute_in", "attribute is one of"
        ATTRIBUTE_RANGE = "attribute_range", "attribute between"
        PREDICTED_IS = "predicted_is", "model's top category is"
        PREDICTED_UNDER = "predicted_under", "model's top category is under"
        CONFIDENCE_BELOW = "confidence_below", "model's confidence below"
        CONFIDENCE_ABOVE = "confidence_above", "model's confidence above"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="conditions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(
        max_length=100, blank=True, help_text="title, description or text; or an attribute"
    )
    value = models.JSONField(null=True, blank=True)
    category = models.ForeignKey(
        "labeling.Category",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="predicted is / under: the category",
    )

    class Meta:
        ordering = ["rule", "position", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.field} {self.value!r}"


class RuleStat(models.Model):
    """What one rule did on one day of scoring: items it was run on, hits, hits on labelled
    items and how many of those it disagreed with, and pattern timeouts."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="stats")
    day = models.DateField()
    scored = models.PositiveBigIntegerField(default=0)
    hits = models.PositiveBigIntegerField(default=0)
    labelled = models.PositiveBigIntegerField(default=0)
    disagreements = models.PositiveBigIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["rule", "day"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "day"], name="rulestat_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on {self.day}: {self.hits} of {self.scored}"
