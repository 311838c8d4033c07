"""Taxonomy drafts through the API: start, edit (one view per operation), diff, publish,
roll back. TaxonomyAdmin only; a refused operation is a 400 naming the field ``detail``
with the service's message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import NO_TAXONOMY_VERSION_ID, raise_not_found
from labeling.api.fields import StringListField
from labeling.api.permissions import IsTaxonomyAdmin
from labeling.models import Taxonomy, TaxonomyOperation, TaxonomyVersion
from labeling.services.errors import ServiceError
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from labeling.services.taxonomy.publish_mapping import draft_diff
from labeling.services.taxonomy.rollback import taxonomy_rollback

from .base import ApiView

NO_TAXONOMY_ID = "Taxonomy {value} not found."
NO_DRAFT_ID = "Draft {value} not found (it may be published or discarded already)."


class DraftSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taxonomy = serializers.CharField(source="taxonomy.name")
    number = serializers.IntegerField()
    status = serializers.CharField(help_text="draft, published or retired")
    is_current = serializers.BooleanField()
    based_on = serializers.IntegerField(source="based_on_id", allow_null=True)


class DraftCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    path = serializers.CharField()
    depth = serializers.IntegerField()
    is_leaf = serializers.BooleanField()
    deprecated = serializers.BooleanField()
    description = serializers.CharField()
    synonyms = serializers.ListField(child=serializers.CharField())


class OperationResultSerializer(serializers.Serializer):
    operation = serializers.IntegerField(help_text="id of the recorded TaxonomyOperation")
    kind = serializers.ChoiceField(choices=TaxonomyOperation.Kind.choices)
    categories = DraftCategorySerializer(many=True, help_text="the categories created or changed")


class DiffRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            "added",
            "renamed",
            "moved",
            "edited",
            "merged",
            "split",
            "deprecated",
            "guideline",
        ]
    )
    key = serializers.CharField()
    path = serializers.CharField()
    old_path = serializers.CharField()
    detail = serializers.CharField()
    labels = serializers.IntegerField(help_text="current labels on the old category")


class PublishResultSerializer(serializers.Serializer):
    version = DraftSerializer()
    previous = DraftSerializer()
    migrated = serializers.IntegerField()
    re_review = serializers.IntegerField()
    mappings = serializers.IntegerField()


class RollbackResultSerializer(serializers.Serializer):
    version = DraftSerializer()
    current = DraftSerializer()
    retracted = serializers.IntegerField()
    restored = serializers.IntegerField()
    dropped_from_queue = serializers.IntegerField()


def _draft_or_404(pk: int) -> TaxonomyVersion:
    draft = TaxonomyVersion.objects.filter(pk=pk, status=TaxonomyVersion.Status.DRAFT).first()
    if draft is None:
        raise_not_found(NO_DRAFT_ID, pk)
    return draft


def _refused(error: ServiceError) -> ValidationError:
    return ValidationError({"detail": [str(error)]})


class DraftCreateApi(ApiView):
    """Start a draft of a taxonomy from its current version (a copy with the same keys)."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(summary="Start a taxonomy draft", request=None, responses={201: DraftSerializer})
    def post(self, request: Request, pk: int) -> Response:
        taxonomy = Taxonomy.objects.filter(pk=pk).first()
        if taxonomy is None:
            raise_not_found(NO_TAXONOMY_ID, pk)
        try:
            draft = drafts.draft_start(taxonomy=taxonomy, author=request.user)
        except ServiceError as error:
            raise _refused(error) from error
        return Response(DraftSerializer(draft).data, status=status.HTTP_201_CREATED)


class _OperationApi(ApiView):
    """Shared by the operation views: validate, run the service, answer what changed."""

    permission_classes = [IsTaxonomyAdmin]
    InputSerializer: type[serializers.Serializer]
    run: Callable[..., Any]

    def _operate(self, request: Request, pk: int) -> Response:
        draft = _draft_or_404(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = type(self).run(draft=draft, author=request.user, **serializer.validated_data)
        except ServiceError as error:
            raise _refused(error) from error
        operation = TaxonomyOperation.objects.filter(version=draft).order_by("-id").first()
        categories = result if isinstance(result, list) else [result]
        data = {"operation": operation.pk, "kind": operation.kind, "categories": categories}
        return Response(OperationResultSerializer(data).data, status=status.HTTP_201_CREATED)


class _KeyInput(serializers.Serializer):
    key = serializers.CharField(help_text="the category's stable key")


class DraftAddApi(_OperationApi):
    class InputSerializer(serializers.Serializer):
        parent_key = serializers.CharField(required=False, allow_null=True, default=None)
        name = serializers.CharField()
        description = serializers.CharField(required=False, allow_blank=True, default="")
        synonyms = StringListField(required=False, default=list)
        key = serializers.CharField(required=False, allow_null=True, default=None)

    run = staticmethod(drafts.category_add)

    @extend_schema(
        summary="Add a category to a draft",
        request=InputSerializer,
        responses={201: OperationResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._operate(request, pk)


class DraftRenameApi(_OperationApi):
    class InputSerializer(_KeyInput):
        name = serializers.CharField()

    run = staticmethod(drafts.category_rename)

    @extend_schema(
        summary="Rename a draft category",
        request=InputSerializer,
        responses={201: OperationResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._operate(request, pk)


class DraftEditApi(_OperationApi):
    class InputSerializer(_KeyInput):
        description = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, default=None
        )
        synonyms = StringListField(required=False, allow_null=True, default=None)

    run = staticmethod(drafts.category_edit)

    @extend_schema(
        summary="Edit a draft category's description and synonyms",
        request=InputSerializer,
        responses={201: OperationResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._operate(request, pk)


class DraftMoveApi(_OperationApi):
    class InputSerializer(_KeyInput):
        parent_key = serializers.CharField(allow_null=True, help_text="null: to the top level")

    run = staticmethod(drafts.category_move)

    @extend_schema(
        summary="Move a draft category under another parent",
        request=InputSerializer,
        responses={201: OperationResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._operate(request, pk)


class DraftMergeApi(_OperationApi):
    class InputSerializer(serializers.Serializer):
        source_keys = StringListField(allow_empty=False)
        target_key = serializers.CharField()

    run = staticmethod(drafts.category_merge)

    @extend_schema(
        summary="Merge draft categories into one",
        request=InputSerializer,
        responses={201: OperationResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._operate(request, pk)


class DraftSplitApi(_OperationApi):
    class InputSerializer(_KeyInput):
        names = StringListField(min_length=2)

    run = staticmethod(drafts.category_split)

    @extend_schema(
        summary="Split a draft category into new children",
        request=InputSerializer,
        responses={201: OperationResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._operate(request, pk)


class DraftDeprecateApi(_OperationApi):
    InputSerializer = _KeyInput
    run = staticmethod(drafts.category_deprecate)

    @extend_schema(
        summary="Deprecate a draft category",
        request=_KeyInput,
        responses={201: OperationResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._operate(request, pk)


class DraftDiffApi(ApiView):
    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(
        summary="Diff a draft against the version it was started from",
        responses=DiffRowSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        draft = _draft_or_404(pk)
        try:
            rows = draft_diff(draft=draft)
        except ServiceError as error:
            raise _refused(error) from error
        return Response(DiffRowSerializer(rows, many=True).data)


class DraftPublishApi(ApiView):
    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(
        summary="Publish a draft and migrate every label",
        request=None,
        responses={200: PublishResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        draft = _draft_or_404(pk)
        try:
            result = taxonomy_publish(draft=draft, author=request.user)
        except ServiceError as error:
            raise _refused(error) from error
        return Response(PublishResultSerializer(result).data)


class VersionRollbackApi(ApiView):
    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(
        summary="Roll a published version back to the previous one",
        request=None,
        responses={200: RollbackResultSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        version = TaxonomyVersion.objects.filter(pk=pk).first()
        if version is None:
            raise_not_found(NO_TAXONOMY_VERSION_ID, pk)
        try:
            result = taxonomy_rollback(version=version, author=request.user)
        except ServiceError as error:
            raise _refused(error) from error
        return Response(RollbackResultSerializer(result).data)
