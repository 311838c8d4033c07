"""Catalog items: list, detail, create (JSON or multipart with an image), bulk create, update.
Writes go through labeling.services.items; views only shape input and output."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from labeling.api.errors import BULK_TOO_MANY, NO_CATEGORY_ANY_VERSION, NO_ITEM_ID, raise_not_found
from labeling.api.fields import AttributesField, optional_bool
from labeling.api.permissions import IsReviewer, IsTaxonomyAdmin
from labeling.api.serializers import ItemRefSerializer, ItemSerializer, PredictionSerializer
from labeling.models import Category, Item, Prediction
from labeling.selectors.items import ITEM_ORDERINGS, item_get, item_list
from labeling.selectors.predictions import predictions_attach_candidate_paths
from labeling.selectors.taxonomy import category_get
from labeling.services.items import ItemError, item_create, item_update, items_bulk_create

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
        label_category = serializers.IntegerField(
            required=False, help_text="category id: items labelled with it or a descendant"
        )
        predicted_category = serializers.IntegerField(
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
    parser_classes = [JSONParser, MultiPartParser]

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
    parser_classes = [JSONParser, MultiPartParser]

    class InputSerializer(serializers.Serializer):
        external_id = serializers.CharField(required=False)
        title = serializers.CharField(required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        attributes = AttributesField(required=False)
        source = serializers.CharField(required=False, allow_blank=True)
        image = serializers.FileField(required=False, allow_null=True)

    @extend_schema(summary="Update an item", request=InputSerializer, responses=ItemDetailSerializer)
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


class ItemBulkCreateApi(ApiView):
    """Create up to 1,000 items in one request, all or nothing. Errors name the row:
    ``{"items": {"3": {"external_id": ["..."]}}}``. Needs the TaxonomyAdmin role."""

    permission_classes = [IsTaxonomyAdmin]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        items = ItemRowSerializer(
            many=True,
            max_length=BULK_LIMIT,
            allow_empty=False,
            error_messages={"max_length": BULK_TOO_MANY},
        )
        source = serializers.CharField(required=False, default="api")

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        items = ItemRefSerializer(many=True)

    @extend_schema(
        summary="Create items in bulk",
        request=InputSerializer,
        responses={201: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationError(_errors_by_row(serializer.errors))
        rows, source = serializer.validated_data["items"], serializer.validated_data["source"]
        try:
            items = items_bulk_create(rows=rows, source=source)
        except ItemError as error:
            raise _bulk_error(error) from error
        data = {"count": len(items), "items": ItemRefSerializer(items, many=True).data}
        return Response(self.OutputSerializer(data).data, status=status.HTTP_201_CREATED)


def _errors_by_row(errors: dict[str, Any]) -> dict[str, Any]:
    """DRF lists row errors positionally ([{}, {}, {"title": [...]}]): key them by row index.
    Errors about the whole list (too long, empty) it nests under non_field_errors: lift them."""
    rows = errors.get("items")
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        rows = {str(i): e for i, e in enumerate(rows) if e}
    elif isinstance(rows, dict) and set(rows) == {api_settings.NON_FIELD_ERRORS_KEY}:
        rows = rows[api_settings.NON_FIELD_ERRORS_KEY]
    return {**errors, "items": rows} if rows is not None else dict(errors)


def _bulk_error(error: ItemError) -> ValidationError:
    if error.index is None:
        return ValidationError({"items": [str(error)]})
    field = error.field or "non_field_errors"
    return ValidationError({"items": {str(error.index): {field: [str(error)]}}})


ItemCollectionApi = route_by_method("ItemCollectionApi", get=ItemListApi, post=ItemCreateApi)
ItemMemberApi = route_by_method("ItemMemberApi", get=ItemDetailApi, patch=ItemUpdateApi)
