"""Model versions and their training runs (read only)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import NO_MODEL_VERSION_ID, raise_not_found
from labeling.api.fields import IdField
from labeling.api.permissions import IsReviewer
from labeling.models import ModelVersion, TrainingRun
from labeling.selectors.models import model_version_get, model_version_list

from .base import ApiView, ListApiView


class TrainingRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=TrainingRun.Status.choices)
    trigger = serializers.CharField()
    stage = serializers.CharField()
    progress = serializers.FloatField()
    outcome = serializers.CharField()
    error = serializers.CharField()
    timings = serializers.DictField(help_text="seconds per stage")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ModelVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taxonomy_version = serializers.IntegerField(source="taxonomy_version_id")
    status = serializers.ChoiceField(choices=ModelVersion.Status.choices)
    label_count = serializers.IntegerField(help_text="labels it was trained on")
    metrics = serializers.DictField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    newest_label_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    promoted_at = serializers.DateTimeField(allow_null=True)
    training_runs = TrainingRunSerializer(many=True)


class ModelVersionListApi(ListApiView):
    permission_classes = [IsReviewer]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(required=False, choices=ModelVersion.Status.choices)
        taxonomy_version = IdField(required=False, source="taxonomy_version_id")

    @extend_schema(
        summary="List model versions",
        parameters=[FilterSerializer],
        responses=ModelVersionSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        versions = model_version_list(**self.filters(request, self.FilterSerializer))
        return self.page_response(self.paginate(versions), ModelVersionSerializer)


class ModelVersionDetailApi(ApiView):
    permission_classes = [IsReviewer]

    @extend_schema(summary="Get a model version", responses=ModelVersionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        version = model_version_get(pk=pk)
        if version is None:
            raise_not_found(NO_MODEL_VERSION_ID, pk)
        return Response(ModelVersionSerializer(version).data)
