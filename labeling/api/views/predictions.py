"""The active model's latest predictions (read only)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import NO_ITEM_ID, NO_PREDICTION_FOR_ITEM, raise_not_found
from labeling.api.fields import IdField, optional_bool
from labeling.api.permissions import IsReviewer
from labeling.api.serializers import PredictionSerializer
from labeling.models import Prediction
from labeling.selectors.items import item_get
from labeling.selectors.predictions import (
    prediction_for_item,
    prediction_list,
    predictions_attach_candidate_paths,
)

from .base import ApiView, ListApiView


class PredictionListApi(ListApiView):
    permission_classes = [IsReviewer]

    class FilterSerializer(serializers.Serializer):
        category = IdField(
            required=False, source="category_id", help_text="top or decided category id"
        )
        min_confidence = serializers.FloatField(required=False, min_value=0, max_value=1)
        max_confidence = serializers.FloatField(required=False, min_value=0, max_value=1)
        abstain = optional_bool("true: the model abstained (no decided category); false: decided")
        model_version = IdField(required=False, source="model_version_id")
        status = serializers.MultipleChoiceField(
            choices=Prediction.Status.choices,
            required=False,
            allow_empty=True,
            source="statuses",
            help_text="only these statuses (issue 17); repeat for several",
        )

    @extend_schema(
        summary="List predictions",
        parameters=[FilterSerializer],
        responses=PredictionSerializer(many=True),
        description="The latest prediction of each item, in item order.",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate(prediction_list(**self.filters(request, self.FilterSerializer)))
        predictions_attach_candidate_paths(page)
        return self.page_response(page, PredictionSerializer)


class ItemPredictionApi(ApiView):
    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Get an item's latest prediction",
        responses=PredictionSerializer,
        description="404 when the item is unknown or has not been scored yet.",
    )
    def get(self, request: Request, pk: int) -> Response:
        prediction = prediction_for_item(item_id=pk)
        if prediction is None:
            template = NO_PREDICTION_FOR_ITEM if item_get(pk=pk) else NO_ITEM_ID
            raise_not_found(template, pk)
        predictions_attach_candidate_paths([prediction])
        return Response(PredictionSerializer(prediction).data)
