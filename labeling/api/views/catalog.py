"""GET /api/catalog/: every item with its status and final category (issue 17), so downstream
systems can take only certified categories (``?status=auto_accepted&status=labelled``). The
same rows as ``manage.py export_catalog``; what they mean is ``labeling.selectors.catalog``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import NO_CATEGORY, NO_CURRENT_TAXONOMY_VERSION, field_error
from labeling.api.fields import IdField
from labeling.api.pagination import AfterIdPagination
from labeling.api.permissions import IsReviewer
from labeling.api.schema import ERROR_RESPONSES
from labeling.models import Label, Prediction
from labeling.selectors.catalog import CategoryTerms, catalog_rows_of, catalog_values
from labeling.selectors.taxonomy import category_in_current_version, current_version

from .base import ListApiView

SHIRTS = {"id": 7, "key": "shirts", "name": "Shirts", "path": "Apparel > Topwear > Shirts"}
EXAMPLE = {
    "item": {"id": 12, "external_id": "SKU-12", "title": "Oxford shirt"},
    "status": "auto_accepted",
    "category": {**SHIRTS, "depth": 3},
    "depth": 3,
    "confidence": 0.995,
    "model_version": 4,
    "predicted_category": {**SHIRTS, "depth": 3},
    "decided_category": {**SHIRTS, "depth": 3},
    "label": None,
}


class CatalogItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item_id")
    external_id = serializers.CharField()
    title = serializers.CharField()


class CatalogCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    path = serializers.CharField(help_text='e.g. "Apparel > Topwear > Shirts"')
    depth = serializers.IntegerField(help_text="1 for a top-level category")


class CatalogLabelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(
        allow_null=True, help_text="who decided (a label a publish carried over: the original's)"
    )
    source = serializers.ChoiceField(choices=Label.Source.choices)


class CatalogListApi(ListApiView):
    """Every item of the catalog in item order, with its status and, when it has one, its
    final category in the current taxonomy version's terms.

    - ``labelled``: the final category is the current label's (``label``); ``confidence`` is
      null (a person decided).
    - ``auto_accepted``: the node the certified auto-accept policy accepted the model's
      prediction at (possibly an inner node, so a coarser but certain category);
      ``confidence`` is that node's probability.
    - ``needs_review``: no final category; ``confidence`` is the model's confidence in its top
      category.

    ``predicted_category`` (the model's top leaf), ``decided_category`` (its roll-up decision,
    null when it abstained) and ``model_version`` are given for every scored item; an item not
    scored yet is ``labelled`` when it has a label, else ``needs_review``, with these null.
    Pages are keyset pages by item id: follow ``next``, or resume from the last item id read
    with ``?after=``. 404 when there is no current taxonomy version."""

    permission_classes = [IsReviewer]
    pagination_class = AfterIdPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.MultipleChoiceField(
            choices=Prediction.Status.choices,
            required=False,
            allow_empty=True,
            help_text="only these statuses; repeat for several "
            "(status=auto_accepted&status=labelled: the final categories only)",
        )
        category = IdField(
            required=False,
            help_text="only items whose final category is this category of the current "
            "version or below it",
        )

    class OutputSerializer(serializers.Serializer):
        item = CatalogItemSerializer(source="*")
        status = serializers.ChoiceField(choices=Prediction.Status.choices)
        category = CatalogCategorySerializer(
            allow_null=True, help_text="the final category; null while the item needs review"
        )
        depth = serializers.IntegerField(allow_null=True, help_text="of the final category")
        confidence = serializers.FloatField(
            allow_null=True, help_text="of the final decision (see the description)"
        )
        model_version = serializers.IntegerField(allow_null=True)
        predicted_category = CatalogCategorySerializer(source="predicted", allow_null=True)
        decided_category = CatalogCategorySerializer(
            source="decided", allow_null=True, help_text="after roll-up; null: abstained"
        )
        label = CatalogLabelSerializer(allow_null=True, help_text="the current label")

    @extend_schema(
        summary="List the catalog's final categories",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), 404: ERROR_RESPONSES[404]},
        examples=[OpenApiExample("An auto-accepted item", response_only=True, value=EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        version = current_version()
        if version is None:
            raise NotFound(NO_CURRENT_TAXONOMY_VERSION)
        filters = self.filters(request, self.FilterSerializer)
        under = None
        if "category" in filters:
            under = category_in_current_version(pk=filters["category"])
            if under is None:
                raise field_error("category", NO_CATEGORY.format(value=filters["category"]))
        after = AfterIdPagination().get_after(request)
        statuses = filters.get("status") or ()
        page = self.paginate(
            catalog_values(version=version, statuses=statuses, under=under, after=after)
        )
        rows = catalog_rows_of(values=page, terms=CategoryTerms(version))
        return self.page_response(rows, self.OutputSerializer)
