"""The model side: model versions, training runs, the latest prediction per item, the
sharded rescores of the catalog (issue 8), and the labels confident learning suspects (issue 17).

Foreign keys to models of other modules are by name (``"labeling.Item"``): the model modules
never import each other.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training"
        CANDIDATE = "candidate"
        ACTIVE = "active"
        REJECTED = "rejected"
        RETIRED = "retired"

    taxonomy_version = models.ForeignKey(
        "labeling.TaxonomyVersion", on_delete=models.PROTECT, related_name="model_versions"
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
        "labeling.TaxonomyVersion", on_delete=models.PROTECT, related_name="training_runs"
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

    class Status(models.TextChoices):
        """What is final about the item (issue 17): a person's label, the model's prediction
        accepted without one (at ``accepted_category``, a certified threshold or a rule), or
        neither yet."""

        LABELLED = "labelled", "labelled"
        AUTO_ACCEPTED = "auto_accepted", "auto-accepted"
        NEEDS_REVIEW = "needs_review", "needs review"

    item = models.OneToOneField(
        "labeling.Item", on_delete=models.CASCADE, related_name="prediction"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    top_category = models.ForeignKey(
        "labeling.Category", on_delete=models.CASCADE, related_name="+"
    )
    decided_category = models.ForeignKey(
        "labeling.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="after roll-up: may be an inner node; empty means abstain",
    )
    previous_top_category = models.ForeignKey(
        "labeling.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
    # The node the certified auto-accept policy accepts the prediction at (may be an inner
    # node); empty: not accepted. ``status`` follows from it and the item's label
    # (services.review.disagreement keeps both in step with every label write).
    accepted_category = models.ForeignKey(
        "labeling.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_confidence = models.FloatField(null=True, blank=True)
    # Rules (issue 17, labeling.services.rules): the assign rule that accepted it at
    # ``accepted_category``, or the review rule that sends it to people.
    rule = models.ForeignKey(
        "labeling.Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.NEEDS_REVIEW,
        db_default=Status.NEEDS_REVIEW,
    )
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["top_category", "-confidence"], name="prediction_cat_conf"),
            models.Index(fields=["decided_category", "-confidence"], name="prediction_dec_conf"),
            # With the id: the report pages sort by (confidence, id), and a confident model
            # gives many rows the same confidence (1.0 in float32); on (confidence) alone the
            # first page sorted all of them (200,000 ties at 1M items: 2.2 s, now 1.7 ms).
            models.Index(fields=["confidence", "id"], name="prediction_conf_id"),
            models.Index(fields=["status", "-confidence", "-id"], name="prediction_status_conf"),
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


class LabelErrorScan(models.Model):
    """One confident-learning pass over a taxonomy version's current labels (issue 17,
    ``labeling.services.learning.label_issues``): what it read and how many it flagged. Its
    flags are the version's ``SuspectedLabelError`` rows until the next pass replaces them;
    the queue falls back to its in-sample re-review rule while a version has no pass yet."""

    taxonomy_version = models.ForeignKey(
        "labeling.TaxonomyVersion", on_delete=models.CASCADE, related_name="label_error_scans"
    )
    training_run = models.ForeignKey(
        TrainingRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the training that asked for it; empty: run by hand",
    )
    label_count = models.PositiveIntegerField(default=0)
    flag_count = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    config = models.JSONField(default=dict, blank=True, help_text="folds, filter, ranking")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"label error scan #{self.pk}: {self.flag_count} of {self.label_count} labels"


class SuspectedLabelError(models.Model):
    """A label confident learning suspects: out of fold, the model gives its category
    ``p_given`` and another leaf ``p_suggested``. Live only while ``label`` is still the item's
    current label: a new label, a retraction or a re-review decision leaves it stale."""

    scan = models.ForeignKey(LabelErrorScan, on_delete=models.CASCADE, related_name="flags")
    taxonomy_version = models.ForeignKey(
        "labeling.TaxonomyVersion", on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        "labeling.Item", on_delete=models.CASCADE, related_name="suspected_label_errors"
    )
    label = models.ForeignKey("labeling.Label", on_delete=models.CASCADE, related_name="+")
    given = models.ForeignKey("labeling.Category", on_delete=models.CASCADE, related_name="+")
    suggested = models.ForeignKey("labeling.Category", on_delete=models.CASCADE, related_name="+")
    p_given = models.FloatField()
    p_suggested = models.FloatField()
    score = models.FloatField(help_text="label quality in [0, 1]: lowest is the most suspect")
    rank = models.PositiveIntegerField(help_text="0: the most suspect of its scan")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["taxonomy_version", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["taxonomy_version", "item"], name="suspectedlabelerror_one_per_item"
            ),
        ]
        indexes = [models.Index(fields=["taxonomy_version", "rank"], name="suspected_rank")]

    def __str__(self) -> str:
        return f"item {self.item_id}: label #{self.label_id} suspected ({self.p_given:.2f})"

    @property
    def is_live(self) -> bool:
        """The flagged label is still the item's current label (reads ``item``)."""
        return self.label_id == self.item.current_label_id
