"""Output serializers shared by several views (a view's own Input/Output serializers are
nested in the view, CONVENTIONS.md). Read-only: nothing here writes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.models import Item, Label, Prediction
from labeling.selectors.label_origins import LabelOrigin, label_origins


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    path = serializers.CharField(help_text='e.g. "Apparel > Topwear > Shirts"')


class RuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ItemRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    title = serializers.CharField()


class LabelListSerializer(serializers.ListSerializer):
    """Looks up the original decisions behind a page's migrated labels in one go (one query
    per publish crossed), not once per label."""

    def to_representation(self, data: Any) -> list[Any]:
        labels = list(data.all() if hasattr(data, "all") else data)
        ids = {label.migrated_from_id for label in labels if label.migrated_from_id}
        self._context = {**self._context, "label_origins": label_origins(ids=ids)}
        return super().to_representation(labels)


class LabelSerializer(serializers.Serializer):
    """One ledger line: a decision, or (kind "retraction") the undoing of one. A label a
    taxonomy publish carried over shows its original decision's author and source (the
    ``source`` filter matches the row as written: ``source=migration`` lists those rows)."""

    class Meta:
        list_serializer_class = LabelListSerializer

    id = serializers.IntegerField()
    item = ItemRefSerializer()
    kind = serializers.ChoiceField(choices=Label.Kind.choices)
    category = CategoryRefSerializer(allow_null=True, help_text="null for a retraction")
    taxonomy_version = serializers.IntegerField(source="taxonomy_version_id")
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    source = serializers.ChoiceField(choices=Label.Source.choices)
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    retracts = serializers.IntegerField(source="retracts_id", allow_null=True)
    migrated_from = serializers.IntegerField(
        source="migrated_from_id",
        allow_null=True,
        help_text="the original label a taxonomy publish carried this one over from (its "
        "author and source are shown); null for a label written directly",
    )
    is_audit = serializers.BooleanField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: Label) -> dict[str, Any]:
        data = super().to_representation(instance)
        origin = self._origin(instance)
        if origin is not None:
            data.update(author=origin.author, source=origin.source, migrated_from=origin.label_id)
        return data

    def _origin(self, label: Label) -> LabelOrigin | None:
        if not label.migrated_from_id:
            return None
        origins = self.context.get("label_origins") or {}
        if label.migrated_from_id not in origins:  # one label on its own
            origins = label_origins(ids=[label.migrated_from_id])
        return origins.get(label.migrated_from_id)


class CurrentLabelSerializer(serializers.Serializer):
    """An item's current label, without the item."""

    id = serializers.IntegerField()
    category = CategoryRefSerializer()
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    source = serializers.ChoiceField(choices=Label.Source.choices)
    created_at = serializers.DateTimeField()


class PredictionSummarySerializer(serializers.Serializer):
    model_version = serializers.IntegerField(source="model_version_id")
    top_category = CategoryRefSerializer()
    decided_category = CategoryRefSerializer(
        allow_null=True, help_text="after roll-up; null means the model abstained"
    )
    is_abstain = serializers.BooleanField()
    confidence = serializers.FloatField()
    created_at = serializers.DateTimeField()


class CandidateSerializer(serializers.Serializer):
    category = serializers.IntegerField(allow_null=True)
    path = serializers.CharField(allow_null=True)
    p = serializers.FloatField(allow_null=True, help_text="calibrated probability")


class PredictionSerializer(PredictionSummarySerializer):
    """The latest prediction for one item, with its top-k candidates."""

    item = ItemRefSerializer()
    candidates = serializers.SerializerMethodField()
    margin = serializers.FloatField()
    entropy = serializers.FloatField()
    disagreement = serializers.FloatField(help_text="committee disagreement")
    novelty = serializers.FloatField()
    acquisition_score = serializers.FloatField()
    reason = serializers.CharField()
    # Issue 17: what is final about the item (GET /api/catalog/ gives its final category).
    status = serializers.ChoiceField(
        choices=Prediction.Status.choices,
        help_text="labelled (a person decided), auto_accepted (certified at accepted_category) "
        "or needs_review",
    )
    accepted_category = CategoryRefSerializer(
        allow_null=True,
        help_text="the node the certified auto-accept policy accepted the prediction at (may be "
        "an inner node, of the model's taxonomy version); null: not accepted",
    )
    accepted_confidence = serializers.FloatField(
        allow_null=True, help_text="the accepted node's probability"
    )
    rule = RuleRefSerializer(
        allow_null=True,
        read_only=True,
        help_text="the rule that decided the prediction (an assign rule that accepted it at "
        "accepted_category, or a review rule that sends it to people); null: the model alone",
    )

    @extend_schema_field(CandidateSerializer(many=True))
    def get_candidates(self, prediction: Prediction) -> list[dict]:
        # Views resolve the paths for a whole page at once
        # (selectors.predictions.predictions_attach_candidate_paths); raw ids otherwise.
        rows = getattr(prediction, "candidate_rows", None)
        if rows is None:
            rows = [{"path": None, **c} for c in prediction.candidates or []]
        return CandidateSerializer(rows, many=True).data


class ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    attributes = serializers.DictField()
    image = serializers.FileField(allow_null=True, help_text="URL of the stored image")
    source = serializers.CharField()
    content_hash = serializers.CharField()
    current_label = CurrentLabelSerializer(allow_null=True)
    prediction = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(PredictionSummarySerializer(allow_null=True))
    def get_prediction(self, item: Item) -> dict | None:
        try:
            prediction = item.prediction  # filled in by select_related, or absent
        except Prediction.DoesNotExist:
            return None
        return PredictionSummarySerializer(prediction).data
