"""Taxoloop's domain model (DESIGN.md, "Domain model").

Rules that must hold whatever code writes the rows live in the database: unique external ids,
one current version per taxonomy, one active model per taxonomy version, a label's category
from the label's own taxonomy version (a composite foreign key, see migration 0002), and a
ledger that cannot be updated in place (a trigger, same migration).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
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


class Item(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    title = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    image = models.FileField(upload_to="items/%Y/%m/", blank=True, max_length=500)
    source = models.CharField(max_length=100, blank=True, help_text="where the item came from")
    content_hash = models.CharField(max_length=64, help_text="sha256 of title, text and image")
    # The newest non-retracted label; kept by labeling.services.review.labels in the same transaction
    # as the ledger write so reports need no window query over the ledger.
    current_label = models.ForeignKey(
        "Label", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.title[:60]}"


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

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="labels")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LABEL)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="labels"
    )
    taxonomy_version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.PROTECT, related_name="labels"
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
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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


class Embedding(models.Model):
    class DType(models.TextChoices):
        FLOAT16 = "float16"
        FLOAT32 = "float32"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="embeddings")
    encoder_key = models.CharField(max_length=200)
    vector = models.BinaryField(null=True, blank=True)
    dtype = models.CharField(max_length=8, choices=DType.choices, default=DType.FLOAT16)
    dim = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, help_text="hash of the encoder's input")
    error = models.TextField(blank=True, help_text="why the input could not be encoded")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "encoder_key"], name="embedding_item_encoder"),
            models.CheckConstraint(
                condition=Q(vector__isnull=False) | ~Q(error=""), name="embedding_vector_or_error"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.encoder_key} of item {self.item_id}"


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training"
        CANDIDATE = "candidate"
        ACTIVE = "active"
        REJECTED = "rejected"
        RETIRED = "retired"

    taxonomy_version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.PROTECT, related_name="model_versions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    artifact = models.FileField(upload_to="models/", blank=True, max_length=500)
    config = models.JSONField(default=dict, blank=True)
    label_count = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    newest_label_at = models.DateTimeField(
        null=True, blank=True, help_text="time of the newest label it was trained on"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["taxonomy_version"], condition=Q(status="active"), name="model_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"model #{self.pk} ({self.status})"


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    taxonomy_version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.PROTECT, related_name="training_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=50, blank=True, help_text="beat, labels, manual, …")
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=200, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs"
    )
    outcome = models.TextField(blank=True, help_text="promoted, or why not")
    error = models.TextField(blank=True)
    timings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database is the lock: one queued or running training per taxonomy version.
            models.UniqueConstraint(
                fields=["taxonomy_version"],
                condition=Q(status__in=["queued", "running"]),
                name="trainingrun_one_in_flight",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="trainingrun_progress_range"
            ),
        ]

    def __str__(self) -> str:
        return f"training run #{self.pk} ({self.status})"


class Prediction(models.Model):
    """The latest prediction of the active model for one item."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="prediction")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    top_category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    decided_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="after roll-up: may be an inner node; empty means abstain",
    )
    previous_top_category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidates = models.JSONField(default=list, help_text='[{"category": id, "p": 0.93}, …]')
    confidence = models.FloatField()
    margin = models.FloatField(default=0.0)
    entropy = models.FloatField(default=0.0)
    disagreement = models.FloatField(default=0.0)
    novelty = models.FloatField(default=0.0)
    acquisition_score = models.FloatField(default=0.0)
    reason = models.CharField(max_length=200, blank=True)
    # The item's current label is neither the top category nor above it (services.disagreement
    # keeps it; the catalog report's disagreement filter reads it).
    label_disagrees = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["top_category", "-confidence"], name="prediction_cat_conf"),
            models.Index(fields=["decided_category", "-confidence"], name="prediction_dec_conf"),
            # With the id: the report pages sort by (confidence, id), and a confident model
            # gives many rows the same confidence (1.0 in float32); on (confidence) alone the
            # first page sorted all of them (200,000 ties at 1M items: 2.2 s, now 1.7 ms).
            models.Index(fields=["confidence", "id"], name="prediction_conf_id"),
            # Only the few disagreeing rows: the disagreement filter's pages, in its order.
            models.Index(
                fields=["-confidence", "-id"],
                name="prediction_disagree_conf",
                condition=Q(label_disagrees=True),
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} → {self.top_category_id} ({self.confidence:.2f})"

    @property
    def is_abstain(self) -> bool:
        return self.decided_category_id is None


class QueueEntry(models.Model):
    class Reason(models.TextChoices):
        UNCERTAIN = "uncertain"
        DISAGREEMENT = "disagreement"
        BOUNDARY = "boundary"
        NOVEL = "novel"
        AUDIT = "audit"
        RE_REVIEW = "re-review"

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="queue_entry")
    priority = models.FloatField(db_index=False)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.JSONField(
        default=dict, blank=True, help_text="e.g. the two confused categories"
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
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


class RescoreJob(models.Model):
    """One full rescore of the catalog by a model version, split into shards (contiguous item
    id ranges) that Celery workers score in parallel (issue 8). Without a result backend there
    is no chord: the shard whose completion brings ``shards_finished`` to ``shard_count`` (a
    conditional UPDATE on this row) rebuilds the queue, once."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        STOPPED = "stopped"  # the model stopped being active: a newer rescore takes over

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="rescore_jobs"
    )
    # The planning task's Celery id: a redelivered planner finds its job instead of a second.
    task_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    shard_count = models.PositiveIntegerField()
    shards_finished = models.PositiveIntegerField(default=0)
    item_count = models.PositiveIntegerField(default=0, help_text="items when it was planned")
    queue = models.JSONField(default=dict, blank=True, help_text="new queue entries per reason")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shards_finished__lte=F("shard_count")), name="rescorejob_finished_le"
            ),
        ]

    def __str__(self) -> str:
        return f"rescore job #{self.pk} of model #{self.model_version_id} ({self.status})"


class RescoreShard(models.Model):
    """The items of one job with ``first_item_id <= id < stop_item_id`` (None: open end)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        STOPPED = "stopped"

    job = models.ForeignKey(RescoreJob, on_delete=models.CASCADE, related_name="shards")
    number = models.PositiveIntegerField()
    first_item_id = models.BigIntegerField(null=True, blank=True)
    stop_item_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    items_done = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, help_text="hostname of its last worker")
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    # Set at the claim and after every chunk: a running shard silent for longer than
    # STALE_SHARD_SECONDS lost its worker, and beat sends it again (rescore_shards_resend_stale).
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="rescoreshard_unique_number"),
        ]

    def __str__(self) -> str:
        return f"shard {self.number} of rescore job #{self.job_id} ({self.status})"


class ReviewSkip(models.Model):
    """A reviewer skipped an item: it is not handed to them again for ``SKIP_REMEMBER_HOURS``,
    across sessions and logins (others can still take it). One row per reviewer and item."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_skips"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "item"], name="reviewskip_unique"),
        ]
        indexes = [models.Index(fields=["reviewer", "created_at"], name="reviewskip_recent")]

    def __str__(self) -> str:
        return f"{self.reviewer_id} skipped item {self.item_id}"


class Proposal(models.Model):
    """A reviewer's "not in the taxonomy" flag: a category the taxonomy lacks, never a label.

    It enters training and reports only through ``label``: the label of an ancestor the
    reviewer explicitly vouched for (``vouched``), or none. Proposals migrated from the time
    they were labels keep that old label here, retracted (migration 0011)."""

    class Status(models.TextChoices):
        OPEN = "open"
        DISMISSED = "dismissed"
        ACCEPTED = "accepted"  # a draft category was made from it

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="proposals")
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
        Label, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals"
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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


from labeling.models_tokens import ApiToken  # noqa: E402,F401  (its own module: API tokens)
