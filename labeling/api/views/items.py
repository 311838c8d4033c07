"""Catalog items: list, detail, create (JSON or multipart with an image), bulk create, update.
Writes go through labeling.services.catalog.items; views only shape input and output."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import BULK_TOO_MANY, NO_CATEGORY_ANY_VERSION, NO_ITEM_ID, raise_not_found
from labeling.api.fields import AttributesField, IdField, optional_bool
from labeling.api.parsers import DepthLimitedJSONParser
from labeling.api.permissions import IsReviewer, IsTaxonomyAdmin
from labeling.api.serializers import ItemRefSerializer, ItemSerializer, PredictionSerializer
from labeling.api.throttling import ITEMS_BULK, ITEMS_WRITE
from labeling.models import Category, Item, Prediction
from labeling.selectors.items import ITEM_ORDERINGS, item_get, item_list
from labeling.selectors.predictions import predictions_attach_candidate_paths
from labeling.selectors.taxonomy import category_get
from labeling.services.catalog.item_fields import ItemError
from labeling.services.catalog.items import item_create, item_update, items_bulk_create

from .base import ApiView, ListApiView, route_by_method

BULK_LIMIT = settings.TAXOLOOP["BULK_CREATE_LIMIT"]


class ItemDetailSerializer(ItemSerializer):
    """An item with its current label and its latest prediction, candidates included."""

    prediction = serializers.SerializerMethodField()

    @extend_schema_field(PredictionSerializer(allow_null=True))
    def get_prediction(self, item: Item) -> dict | None:
        try:
            prediction = item.prediction
        except Prediction.DoesNotExist:
            return None
        predictions_attach_candidate_paths([prediction])
        return PredictionSerializer(prediction).data


def _item_error(error: ItemError) -> ValidationError:
    return ValidationError({error.field or "non_field_errors": [str(error)]})


def _detail(item: Item, request: Request, code: int = status.HTTP_200_OK) -> Response:
    fresh = item_get(pk=item.pk)  # reload with the current label and prediction joined
    return Response(ItemDetailSerializer(fresh, context={"request": request}).data, status=code)


def _category_or_400(field: str, pk: int | None) -> Category | None:
    if pk is None:
        return None
    category = category_get(pk=pk)
    if category is None:
        raise ValidationError({field: [NO_CATEGORY_ANY_VERSION.format(value=pk)]})
    return category


class ItemListApi(ListApiView):
    permission_classes = [IsReviewer]

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, help_text="title contains (any case)")
        source = serializers.CharField(required=False)
        external_id = serializers.CharField(required=False)
        labelled = optional_bool("true: items with a current label; false: without")
        label_category = IdField(
            required=False, help_text="category id: items labelled with it or a descendant"
        )
        predicted_category = IdField(
            required=False, help_text="category id: the prediction's top or decided category"
        )
        updated_since = serializers.DateTimeField(required=False, help_text="ISO 8601")
        ordering = serializers.ChoiceField(choices=ITEM_ORDERINGS, default="id")

    @extend_schema(
        summary="List items",
        parameters=[FilterSerializer],
        responses=ItemSerializer(many=True),
        description="Items with their current label and a summary of their latest prediction.",
    )
    def get(self, request: Request) -> Response:
        filters = self.filters(request, self.FilterSerializer)
        for field in ("label_category", "predicted_category"):
            filters[field] = _category_or_400(field, filters.get(field))
        return self.page_response(self.paginate(item_list(**filters)), ItemSerializer)


class ItemDetailApi(ApiView):
    permission_classes = [IsReviewer]

    @extend_schema(summary="Get an item", responses=ItemDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        item = item_get(pk=pk)
        if item is None:
            raise_not_found(NO_ITEM_ID, pk)
        return _detail(item, request)


class ItemCreateApi(ApiView):
    """Create one item from JSON, or from a multipart form with an ``image`` file (the
    ``attributes`` object then travels as JSON text). Needs the TaxonomyAdmin role."""

    permission_classes = [IsTaxonomyAdmin]
    parser_classes = [DepthLimitedJSONParser, MultiPartParser]
    throttle_scope = ITEMS_WRITE

    class InputSerializer(serializers.Serializer):
        external_id = serializers.CharField(help_text="your unique id for the product")
        title = serializers.CharField()
        description = serializers.CharField(required=False, allow_blank=True, default="")
        attributes = AttributesField(required=False, default=dict)
        source = serializers.CharField(required=False, default="api")
        image = serializers.FileField(required=False, help_text="JPEG, PNG, WebP, GIF or BMP")

    @extend_schema(
        summary="Create an item",
        request=InputSerializer,
        responses={201: ItemDetailSerializer},
        examples=[
            OpenApiExample(
                "JSON",
                request_only=True,
                media_type="application/json",
                value={
                    "external_id": "SKU-1",
                    "title": "Blue denim jacket",
                    "attributes": {"colour": "blue"},
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            item = item_create(**serializer.validated_data)
        except ItemError as error:
            raise _item_error(error) from error
        return _detail(item, request, status.HTTP_201_CREATED)


class ItemUpdateApi(ApiView):
    """Change some fields of an item (JSON, or multipart to replace the image; ``"image":
    null`` removes it). Needs the TaxonomyAdmin role."""

    permission_classes = [IsTaxonomyAdmin]
    parser_classes = [DepthLimitedJSONParser, MultiPartParser]
    throttle_scope = ITEMS_WRITE

    class InputSerializer(serializers.Serializer):
        external_id = serializers.CharField(required=False)
        title = serializers.CharField(required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        attributes = AttributesField(required=False)
        source = serializers.CharField(required=False, allow_blank=True)
        image = serializers.FileField(required=False, allow_null=True)

    @extend_schema(
        summary="Update an item", request=InputSerializer, responses=ItemDetailSerializer
    )
    def patch(self, request: Request, pk: int) -> Response:
        item = item_get(pk=pk)
        if item is None:
            raise_not_found(NO_ITEM_ID, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            item = item_update(item=item, **serializer.validated_data)
        except ItemError as error:
            raise _item_error(error) from error
        return _detail(item, request)


class ItemRowSerializer(serializers.Serializer):
    """One row of a bulk create (module level so the bulk input can nest it)."""

    external_id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    attributes = AttributesField(required=False, default=dict)


# The 400 of a bulk create: a list of messages about the whole list, or errors by row.
BULK_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "items": {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {
                    "type": "object",
                    "description": "row index -> field -> messages",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                },
            ]
        },
        "source": {"type": "array", "items": {"type": "string"}},
    },
}


class BulkRowsField(serializers.ListField):
    """A list of rows whose length is checked before any row is validated: 50,000 rows are
    refused at once instead of after validating each. Row errors are keyed by row index."""

    default_error_messages = {"too_many": BULK_TOO_MANY}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("too_many", max_length=self.max_length, count=len(data))
        return super().to_internal_value(data)


class ItemBulkCreateApi(ApiView):
    """Create up to 1,000 items in one request, **all or nothing**: when any row is refused,
    no item is written and the 400 keys the errors by the row's index in ``items``,
    ``{"items": {"3": {"title": ["This field is required."]}}}``. Missing or malformed fields
    are reported for every bad row; then the rows are checked against each other and the
    catalog (an ``external_id`` twice in the list, or one that already exists), and the first
    such conflict is reported. More than 1,000 rows is a 400 on ``items`` before any row is
    read: split the list. Needs the TaxonomyAdmin role; throttled by the ``items-bulk`` rate."""

    permission_classes = [IsTaxonomyAdmin]
    parser_classes = [DepthLimitedJSONParser]
    throttle_scope = ITEMS_BULK

    class InputSerializer(serializers.Serializer):
        items = BulkRowsField(
            child=ItemRowSerializer(),
            allow_empty=False,
            min_length=1,  # for the schema (minItems); allow_empty gives the clearer message
            max_length=BULK_LIMIT,
            help_text=f"1 to {BULK_LIMIT:,} rows, written together or not at all",
        )
        source = serializers.CharField(required=False, default="api")

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        items = ItemRefSerializer(many=True)

    @extend_schema(
        summary="Create items in bulk (all or nothing)",
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(
                BULK_ERROR_SCHEMA,
                description="Nothing was written. Row errors are keyed by the row's index.",
                examples=[
                    OpenApiExample(
                        "A row without title",
                        value={"items": {"1": {"title": ["This field is required."]}}},
                    ),
                    OpenApiExample(
                        "Too many rows",
                        value={"items": [BULK_TOO_MANY.format(max_length=BULK_LIMIT, count=1001)]},
                    ),
                ],
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows, source = serializer.validated_data["items"], serializer.validated_data["source"]
        try:
            items = items_bulk_create(rows=rows, source=source)
        except ItemError as error:
            raise _bulk_error(error) from error
        data = {"count": len(items), "items": ItemRefSerializer(items, many=True).data}
        return Response(self.OutputSerializer(data).data, status=status.HTTP_201_CREATED)


def _bulk_error(error: ItemError) -> ValidationError:
    if error.index is None:
        return ValidationError({"items": [str(error)]})
    field = error.field or "non_field_errors"
    return ValidationError({"items": {str(error.index): {field: [str(error)]}}})


ItemCollectionApi = route_by_method("ItemCollectionApi", get=ItemListApi, post=ItemCreateApi)
ItemMemberApi = route_by_method("ItemMemberApi", get=ItemDetailApi, patch=ItemUpdateApi)
