"""Taxonomies and their versions: the category tree of each version, the edits of a draft,
the category mappings a publish records, each category's guideline for reviewers, and
reviewers' "not in the taxonomy" proposals.

Foreign keys to models of other modules are by name (``"labeling.Item"``): the model modules
never import each other.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Taxonomy(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "taxonomies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaxonomyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        RETIRED = "retired"

    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    is_current = models.BooleanField(default=False)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived"
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Set by the first item scored since the last queue rebuild, cleared when a rebuild starts
    # (labeling/services/review/queue_refresh.py): many new items, one rebuild.
    queue_stale_since = models.DateTimeField(
        null=True, blank=True, help_text="new predictions since then await a queue rebuild"
    )
    # Overlap (issue 16): the share of queue items, besides every audit item, that go to
    # ``overlap_reviewers`` reviewers blind to each other; answers that differ at
    # ``adjudication_depth`` (None: the leaf) go to an adjudicator. Carried into drafts.
    overlap_share = models.FloatField(
        default=0.1, help_text="share of queue items answered by several reviewers (0-1)"
    )
    overlap_reviewers = models.PositiveSmallIntegerField(
        default=2, help_text="reviewers per overlap item (2-5)"
    )
    adjudication_depth = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="depth at which answers must agree; empty: the leaf"
    )
    # Auto-accept (issue 17): predictions whose node's threshold is certified on the audit
    # labels at this precision (one-sided 95% bound) are final without a person; empty: off.
    # Carried into drafts.
    target_precision = models.FloatField(
        null=True,
        blank=True,
        default=0.99,
        help_text="precision auto-accepted predictions must keep (0.5-0.9999); empty: none",
    )

    class Meta:
        ordering = ["taxonomy", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["taxonomy", "number"], name="taxver_unique_number"),
            models.UniqueConstraint(
                fields=["taxonomy"], condition=Q(is_current=True), name="taxver_one_current"
            ),
            models.CheckConstraint(
                condition=Q(is_current=False) | Q(status="published"),
                name="taxver_current_is_published",
            ),
            models.CheckConstraint(
                condition=Q(overlap_share__gte=0, overlap_share__lte=1)
                & Q(overlap_reviewers__gte=2, overlap_reviewers__lte=5),
                name="taxver_overlap_settings",
            ),
            models.CheckConstraint(
                condition=Q(target_precision__isnull=True)
                | Q(target_precision__gte=0.5, target_precision__lt=1),
                name="taxver_target_precision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.taxonomy.name} v{self.number} ({self.status})"


class Category(models.Model):
    version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.CASCADE, related_name="categories"
    )
    # Stable across versions: the same key in two versions is the same concept.
    key = models.CharField(max_length=255)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    synonyms = models.JSONField(default=list, blank=True)
    path = models.CharField(max_length=1000)
    depth = models.PositiveSmallIntegerField()
    is_leaf = models.BooleanField(default=True)
    deprecated = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["version", "path"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="category_unique_key"),
            models.UniqueConstraint(fields=["version", "path"], name="category_unique_path"),
            # Target of the label's composite foreign key (category, taxonomy version).
            models.UniqueConstraint(fields=["id", "version"], name="category_id_version"),
            models.CheckConstraint(condition=Q(depth__gte=1), name="category_depth_positive"),
        ]

    def __str__(self) -> str:
        return self.path

    def ancestors(self) -> list[Category]:
        """This category's ancestors from the top level down, excluding itself."""
        chain: list[Category] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]


class TaxonomyOperation(models.Model):
    """One edit of a draft taxonomy version, recorded so the draft's history and its diff
    against the version it was started from can be shown and audited (issue 6)."""

    class Kind(models.TextChoices):
        ADD = "add"
        RENAME = "rename"
        EDIT = "edit"
        MOVE = "move"
        MERGE = "merge"
        SPLIT = "split"
        DEPRECATE = "deprecate"
        # A guideline written, changed or cleared: in a draft, or live on the current version
        # (labeling.services.taxonomy.guidelines); the audit trail of the guidelines.
        GUIDELINE = "guideline"

    version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.CASCADE, related_name="operations"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True, help_text="keys, names and paths involved")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on v{self.version_id}: {self.payload}"


class CategoryMapping(models.Model):
    """Where publishing ``new_version`` sent one category of the version it replaced; label
    migration joins on it, and it stays as the record of the publish."""

    class Kind(models.TextChoices):
        SAME = "same"
        RENAMED = "renamed"
        MOVED = "moved"
        MERGED = "merged"
        SPLIT = "split"
        DEPRECATED = "deprecated"

    new_version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.CASCADE, related_name="mappings_in"
    )
    old_category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    new_category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    re_review = models.BooleanField(default=False, help_text="its items need a human decision")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["new_version", "old_category"], name="catmap_one_per_old_category"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.old_category_id} → {self.new_category_id} ({self.kind})"


class Guideline(models.Model):
    """How reviewers should use one category, in Markdown (rendered safely: raw HTML is never
    passed through). It belongs to the category row, so it is versioned with the taxonomy: a
    draft copies it with the tree, a rename or a move keeps it, a merge appends the merged
    categories' guidelines to the target's, a deprecation drops it, and a deleted category
    takes it along (``labeling.services.taxonomy.guidelines``). No row: no guideline."""

    category = models.OneToOneField(
        Category, on_delete=models.CASCADE, primary_key=True, related_name="guideline"
    )
    text = models.TextField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"guideline of category {self.category_id}"


class Proposal(models.Model):
    """A reviewer's "not in the taxonomy" flag: a category the taxonomy lacks, never a label.

    It enters training and reports only through ``label``: the label of an ancestor the
    reviewer explicitly vouched for (``vouched``), or none. Proposals migrated from the time
    they were labels keep that old label here, retracted (migration 0011)."""

    class Status(models.TextChoices):
        OPEN = "open"
        DISMISSED = "dismissed"
        ACCEPTED = "accepted"  # a draft category was made from it

    item = models.ForeignKey("labeling.Item", on_delete=models.PROTECT, related_name="proposals")
    taxonomy_version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.PROTECT, related_name="proposals"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    text = models.TextField(help_text="the missing category, in the reviewer's words")
    vouched = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="an ancestor the reviewer chose as sure; labelled as such",
    )
    label = models.ForeignKey(
        "labeling.Label", null=True, blank=True, on_delete=models.PROTECT, related_name="proposals"
    )
    model_version = models.ForeignKey(
        "labeling.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prediction_shown = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the draft category made from it",
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="proposal_open_newest")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.item_id}: not in taxonomy: {self.text[:60]} ({self.status})"
