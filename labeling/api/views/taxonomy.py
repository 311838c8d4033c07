"""Taxonomy versions and their categories (read only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import (
    NO_CURRENT_TAXONOMY_VERSION,
    NO_TAXONOMY_VERSION_ID,
    raise_not_found,
)
from labeling.api.fields import DbIntegerField, optional_bool
from labeling.api.pagination import CategoryPagination
from labeling.api.permissions import IsReviewer
from labeling.models import TaxonomyVersion
from labeling.selectors.taxonomy import (
    category_rows,
    taxonomy_version_current,
    taxonomy_version_get,
    taxonomy_version_list,
)

from .base import ApiView, ListApiView


class TaxonomyVersionCountsSerializer(serializers.Serializer):
    categories = serializers.IntegerField(source="category_count")
    leaves = serializers.IntegerField(source="leaf_count")
    labels = serializers.IntegerField(source="label_count", help_text="decisions, not retractions")
    model_versions = serializers.IntegerField(source="model_count")


class TaxonomyVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taxonomy = serializers.CharField(source="taxonomy.name")
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=TaxonomyVersion.Status.choices)
    is_current = serializers.BooleanField()
    based_on = serializers.IntegerField(source="based_on_id", allow_null=True)
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    counts = TaxonomyVersionCountsSerializer(source="*")


def _version_or_404(pk: int) -> TaxonomyVersion:
    version = taxonomy_version_get(pk=pk)
    if version is None:
        raise_not_found(NO_TAXONOMY_VERSION_ID, pk)
    return version


class TaxonomyVersionListApi(ListApiView):
    permission_classes = [IsReviewer]

    @extend_schema(summary="List taxonomy versions", responses=TaxonomyVersionSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate(taxonomy_version_list())
        return self.page_response(page, TaxonomyVersionSerializer)


class TaxonomyVersionDetailApi(ApiView):
    permission_classes = [IsReviewer]

    @extend_schema(summary="Get a taxonomy version", responses=TaxonomyVersionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(TaxonomyVersionSerializer(_version_or_404(pk)).data)


class TaxonomyVersionCurrentApi(ApiView):
    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Get the current taxonomy version",
        responses=TaxonomyVersionSerializer,
        description="The published version new labels go to; 404 when none is published.",
    )
    def get(self, request: Request) -> Response:
        version = taxonomy_version_current()
        if version is None:
            raise_not_found(NO_CURRENT_TAXONOMY_VERSION, None)
        return Response(TaxonomyVersionSerializer(version).data)


class CategoryListApi(ListApiView):
    """The version's categories as a flat list in path order; ``parent`` links the tree.
    ``?limit`` goes up to 10,000, enough for the whole Google taxonomy in one call."""

    permission_classes = [IsReviewer]
    pagination_class = CategoryPagination

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, help_text="name, path or synonym contains")
        depth = DbIntegerField(required=False, min_value=1)
        leaf = optional_bool("true: leaves only; false: inner nodes only")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        key = serializers.CharField(help_text="stable across versions")
        parent = serializers.IntegerField(source="parent_id", allow_null=True)
        name = serializers.CharField()
        path = serializers.CharField()
        depth = serializers.IntegerField()
        is_leaf = serializers.BooleanField()
        deprecated = serializers.BooleanField()
        synonyms = serializers.ListField(child=serializers.CharField())

        def to_representation(self, row: dict[str, Any]) -> dict[str, Any]:
            # A client may pull all 5,595 Google categories at once: renaming the columns of
            # a values() row is several times faster than DRF's per-field calls on model
            # instances. The fields above document the shape.
            parent = row["parent_id"]
            return {"parent": parent, **{k: v for k, v in row.items() if k != "parent_id"}}

    @extend_schema(
        summary="List a taxonomy version's categories",
        parameters=[FilterSerializer],
        responses=OutputSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        version = _version_or_404(pk)
        categories = category_rows(version=version, **self.filters(request, self.FilterSerializer))
        return self.page_response(self.paginate(categories), self.OutputSerializer)
