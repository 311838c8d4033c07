"""People's decisions: the append-only label ledger, the review queue and reviewers' skips.

Foreign keys to models of other modules are by name (``"labeling.Item"``): the model modules
never import each other.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Label(models.Model):
    """One line of the append-only ledger: a decision, or the retraction of one."""

    class Source(models.TextChoices):
        REVIEW = "review"
        INLINE = "inline"
        IMPORT = "import"
        API = "api"
        BULK = "bulk"
        MIGRATION = "migration"

    class Kind(models.TextChoices):
        LABEL = "label"
        RETRACTION = "retraction"

    item = models.ForeignKey("labeling.Item", on_delete=models.PROTECT, related_name="labels")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LABEL)
    category = models.ForeignKey(
        "labeling.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="labels"
    )
    taxonomy_version = models.ForeignKey(
        "labeling.TaxonomyVersion", on_delete=models.PROTECT, related_name="labels"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="labels",
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    model_version = models.ForeignKey(
        "labeling.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prediction_shown = models.JSONField(
        default=dict, blank=True, help_text="the candidates and probabilities the author saw"
    )
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    retracts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retractions"
    )
    migrated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="migrated_to"
    )
    is_audit = models.BooleanField(default=False, help_text="chosen by the random audit slice")
    context = models.CharField(max_length=200, blank=True, help_text="report or page it came from")
    note = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["item", "-created_at"], name="label_item_newest"),
            models.Index(fields=["taxonomy_version", "source", "created_at"], name="label_ver_src"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="label") & Q(category__isnull=False) & Q(retracts__isnull=True))
                | (Q(kind="retraction") & Q(retracts__isnull=False) & Q(category__isnull=True)),
                name="label_kind_fields",
            ),
            models.CheckConstraint(
                condition=~Q(retracts=F("id")) & ~Q(supersedes=F("id")),
                name="label_not_self_referencing",
            ),
        ]

    def __str__(self) -> str:
        target = self.category.path if self.category_id else f"retracts #{self.retracts_id}"
        return f"#{self.pk} {self.item_id} → {target} ({self.source})"

    @property
    def is_retraction(self) -> bool:
        return self.kind == self.Kind.RETRACTION


class QueueEntry(models.Model):
    class Reason(models.TextChoices):
        UNCERTAIN = "uncertain"
        DISAGREEMENT = "disagreement"
        BOUNDARY = "boundary"
        NOVEL = "novel"
        TYPICAL = "typical"
        AUDIT = "audit"
        RE_REVIEW = "re-review"
        RULE = "rule"  # a taxonomy admin's review rule hit it (issue 17; detail: rule, text)

    item = models.OneToOneField(
        "labeling.Item", on_delete=models.CASCADE, related_name="queue_entry"
    )
    priority = models.FloatField(db_index=False)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.JSONField(
        default=dict, blank=True, help_text="e.g. the two confused categories"
    )
    model_version = models.ForeignKey(
        "labeling.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    answers_needed = models.PositiveSmallIntegerField(
        default=1, help_text="reviewers who answer it blind (overlap when > 1)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "queue entries"
        indexes = [
            # "Next entry by priority": an index scan in this order, skipping leased rows.
            models.Index(fields=["-priority", "id"], name="queue_next"),
            models.Index(fields=["lease_holder", "lease_expires_at"], name="queue_lease"),
        ]

    def __str__(self) -> str:
        return f"queue: item {self.item_id} ({self.reason}, {self.priority:.3f})"


class ReviewSkip(models.Model):
    """A reviewer skipped an item: it is not handed to them again for ``SKIP_REMEMBER_HOURS``,
    across sessions and logins (others can still take it). One row per reviewer and item."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_skips"
    )
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "item"], name="reviewskip_unique"),
        ]
        indexes = [models.Index(fields=["reviewer", "created_at"], name="reviewskip_recent")]

    def __str__(self) -> str:
        return f"{self.reviewer_id} skipped item {self.item_id}"


class HotkeyMap(models.Model):
    """One reviewer's keys for the review page's actions, action name -> key (``{"skip": "k"}``).
    An action it does not name keeps its default; the names, defaults and rules are in
    ``labeling.selectors.hotkeys`` and ``labeling.services.review.hotkeys``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hotkey_map"
    )
    keys = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}'s keys"


class ReviewAssignment(models.Model):
    """What the queue may hand one reviewer, or every member of one group: category subtrees
    (by stable key, so a restriction survives publishes) and/or queue reasons. An empty list
    does not restrict. A user's own and their groups' assignments combine by union
    (``labeling.selectors.assignments``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="review_assignment",
    )
    group = models.OneToOneField(
        "auth.Group",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="review_assignment",
    )
    category_keys = models.JSONField(
        default=list, blank=True, help_text="keys of the subtrees' root categories"
    )
    reasons = models.JSONField(default=list, blank=True, help_text="queue reasons, e.g. novel")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="reviewassignment_user_xor_group",
            ),
        ]

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else f"group {self.group_id}"
        return f"assignment of {who}"


class Overlap(models.Model):
    """One item answered blind by several reviewers (issue 16).

    Each answer is a ledger row (``Label`` with ``context="overlap"``) that never becomes the
    item's current label itself, linked here by an ``OverlapAnswer``. When ``needed`` answers
    are in, they agree (the same node at ``depth``; None: the same leaf) and the item is
    labelled with their lowest common ancestor (``agreed``), or they do not and the item waits
    for an adjudicator (``disputed``), whose decision is its label (``adjudicated``). The
    workflow is ``labeling.services.review.overlap``.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        AGREED = "agreed"
        DISPUTED = "disputed"
        ADJUDICATED = "adjudicated"

    class Why(models.TextChoices):
        SAMPLE = "sample"  # the taxonomy version's overlap share
        AUDIT = "audit"  # every audit item
        SECOND_OPINION = "second-opinion"  # the first answer's reviewer is not reliable enough

    item = models.ForeignKey("labeling.Item", on_delete=models.PROTECT, related_name="overlaps")
    taxonomy_version = models.ForeignKey(
        "labeling.TaxonomyVersion", on_delete=models.PROTECT, related_name="overlaps"
    )
    why = models.CharField(max_length=20, choices=Why.choices)
    needed = models.PositiveSmallIntegerField()
    depth = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    label = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    adjudicator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(status__in=["open", "disputed"]),
                name="overlap_one_live_per_item",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="overlap_status")]

    def __str__(self) -> str:
        return f"overlap #{self.pk} item {self.item_id} ({self.status})"


class OverlapAnswer(models.Model):
    """A reviewer's answer to an overlap item: at most one per reviewer and overlap."""

    overlap = models.ForeignKey(Overlap, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="overlap_answers"
    )
    label = models.OneToOneField(Label, on_delete=models.PROTECT, related_name="overlap_answer")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["overlap", "reviewer"], name="overlapanswer_once"),
        ]
        indexes = [models.Index(fields=["reviewer", "item"], name="overlapanswer_reviewer")]

    def __str__(self) -> str:
        return f"answer of {self.reviewer_id} to overlap #{self.overlap_id}"


class ReviewerReliability(models.Model):
    """What the team's answers say about one reviewer (Dawid–Skene over the top-level branches,
    ``labeling.services.review.reliability``): refreshed by a task, read by training (a
    label's weight) and by decisions (a second opinion below ``SECOND_OPINION_BELOW``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reliability"
    )
    taxonomy_version = models.ForeignKey(
        "labeling.TaxonomyVersion", on_delete=models.CASCADE, related_name="+"
    )
    accuracy = models.FloatField(help_text="estimated probability of a right top-level branch")
    answers = models.PositiveIntegerField(default=0)
    shared = models.PositiveIntegerField(default=0, help_text="answers on items with two or more")
    trust = models.JSONField(
        default=dict, blank=True, help_text="branch key -> probability their answer there is right"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reliability of {self.user_id}: {self.accuracy:.3f}"
