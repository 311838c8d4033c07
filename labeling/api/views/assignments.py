"""Review assignments over HTTP (TaxonomyAdmin only): which category subtrees and queue
reasons the queue may hand a reviewer, or every member of a group. The rules (how they match
and combine) are ``labeling.selectors.assignments``; writes go through
``labeling.services.review.assignments`` as the admin page's do (``/taxonomy/assignments/``).

Subtrees are stored by their root category's key; each is shown with its path in the current
taxonomy version, or ``stale: true`` when that version no longer has the key (a stale subtree
hands out nothing)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import field_error, raise_not_found
from labeling.api.fields import IdField, StringListField
from labeling.api.permissions import IsTaxonomyAdmin
from labeling.models import Category, QueueEntry, ReviewAssignment
from labeling.selectors.assignments import (
    assignable_groups,
    assignment_get,
    assignment_get_by_id,
    assignment_list,
    resolve_keys,
)
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.review.assignments import (
    ASSIGNMENT_NO_TARGET,
    assignment_delete,
    assignment_set,
    categories_by_path_or_key,
)

from .base import ApiView, ListApiView, route_by_method

NO_ASSIGNMENT_ID = "Review assignment {value} not found."
NO_USER_ID = "User {value} not found."
NO_GROUP_ID = "Group {value} not found."
CATEGORIES_MAX = 200
REASONS = ", ".join(QueueEntry.Reason.values)
CATEGORY_NAME_MAX = Category._meta.get_field("path").max_length or 1000

EXAMPLE = {
    "id": 3,
    "user": {"id": 12, "username": "dora"},
    "group": None,
    "categories": [
        {"key": "apparel/topwear", "path": "Apparel > Topwear", "stale": False},
        {"key": "retired-key", "path": None, "stale": True},
    ],
    "reasons": ["novel", "audit"],
    "updated_at": "2025-01-31T09:30:00Z",
}


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class GroupRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AssignedCategorySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="the subtree's root category key, as stored")
    path = serializers.CharField(
        allow_null=True, help_text="its path in the current version; null when stale"
    )
    stale = serializers.BooleanField(
        help_text="the current version has no such key: this subtree hands out nothing"
    )


class AssignmentListSerializer(serializers.ListSerializer):
    """Resolves a page's category keys in the current version in one query, not per row."""

    def to_representation(self, data: Any) -> list[Any]:
        rows = list(data.all() if hasattr(data, "all") else data)
        keys = (key for row in rows for key in row.category_keys)
        self._context = {**self._context, "resolved": resolve_keys(keys, current_version())}
        return super().to_representation(rows)


class AssignmentSerializer(serializers.Serializer):
    """One assignment: of a reviewer (``user``) or of a group's members (``group``), the
    other null. Empty ``categories`` and ``reasons`` do not restrict."""

    id = serializers.IntegerField()
    user = UserRefSerializer(allow_null=True)
    group = GroupRefSerializer(allow_null=True)
    categories = serializers.SerializerMethodField()
    reasons = serializers.ListField(child=serializers.CharField(), help_text=f"of {REASONS}")
    updated_at = serializers.DateTimeField()

    class Meta:
        list_serializer_class = AssignmentListSerializer

    @extend_schema_field(AssignedCategorySerializer(many=True))
    def get_categories(self, assignment: ReviewAssignment) -> list[dict[str, Any]]:
        resolved = self.context.get("resolved")
        if resolved is None:
            resolved = resolve_keys(assignment.category_keys, current_version())
        rows = []
        for key in assignment.category_keys:
            category = resolved.get(key)
            path = category.path if category is not None else None
            rows.append({"key": key, "path": path, "stale": category is None})
        return rows


def _assignment_or_404(pk: int) -> ReviewAssignment:
    assignment = assignment_get_by_id(pk=pk)
    if assignment is None:
        raise_not_found(NO_ASSIGNMENT_ID, pk)
    return assignment


class AssignmentListApi(ListApiView):
    """Every review assignment, oldest first. Each names a reviewer (``user``) or a group,
    its category subtrees (key, current path or ``stale``) and its queue reasons.
    TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(
        summary="List review assignments",
        responses=AssignmentSerializer(many=True),
        examples=[OpenApiExample("A reviewer's", response_only=True, value=EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        return self.page_response(self.paginate(assignment_list()), AssignmentSerializer)


class AssignmentPutApi(ApiView):
    """Create or replace the assignment of one reviewer (``user``) or one group (``group``):
    exactly one of them. ``categories`` are paths or keys in the current taxonomy version
    (stored by key); ``reasons`` are queue reasons. Empty lists do not restrict. Subtrees
    already stale (their key gone from the current version) are kept unless ``drop_stale``.
    Saving gives back the items the people concerned hold, so their next card follows it.
    201 when created, 200 when replaced. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    class InputSerializer(serializers.Serializer):
        user = IdField(required=False, allow_null=True, help_text="the reviewer's user id")
        group = IdField(required=False, allow_null=True, help_text="the group's id")
        categories = StringListField(
            child=serializers.CharField(max_length=CATEGORY_NAME_MAX),
            required=False,
            default=list,
            max_length=CATEGORIES_MAX,
            help_text="subtrees' root categories, by path or key, in the current version",
        )
        reasons = StringListField(
            child=serializers.CharField(max_length=50),
            required=False,
            default=list,
            max_length=len(QueueEntry.Reason.values),
            help_text=f"queue reasons, of {REASONS}",
        )
        drop_stale = serializers.BooleanField(
            required=False, default=False, help_text="forget subtrees whose key is gone"
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if (attrs.get("user") is None) == (attrs.get("group") is None):
                raise ValidationError({"non_field_errors": [ASSIGNMENT_NO_TARGET]})
            return attrs

    @extend_schema(
        summary="Create or replace a review assignment",
        request=InputSerializer,
        responses={200: AssignmentSerializer, 201: AssignmentSerializer},
        examples=[
            OpenApiExample(
                "A reviewer: two subtrees, novel items only",
                request_only=True,
                value={
                    "user": 12,
                    "categories": ["Apparel > Topwear", "footwear"],
                    "reasons": ["novel"],
                },
            ),
            OpenApiExample(
                "A group: audits anywhere",
                request_only=True,
                value={"group": 2, "reasons": ["audit"]},
            ),
            OpenApiExample("Saved", response_only=True, value=EXAMPLE),
        ],
    )
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = group = None
        if data.get("user") is not None:
            user = get_user_model().objects.filter(pk=data["user"]).first()
            if user is None:
                raise field_error("user", NO_USER_ID.format(value=data["user"]))
        else:
            group = assignable_groups().filter(pk=data["group"]).first()
            if group is None:
                raise field_error("group", NO_GROUP_ID.format(value=data["group"]))
        version = current_version()
        try:
            categories = categories_by_path_or_key(names=data["categories"], version=version)
        except ServiceError as error:
            raise field_error("categories", str(error)) from error
        existed = assignment_get(user_id=data.get("user"), group_id=data.get("group")) is not None
        try:
            assignment = assignment_set(
                user=user,
                group=group,
                categories=categories,
                reasons=data["reasons"],
                version=version,
                drop_stale=data["drop_stale"],
            )
        except ServiceError as error:
            raise field_error("reasons", str(error)) from error
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(AssignmentSerializer(assignment).data, status=code)


class AssignmentGetApi(ApiView):
    """One review assignment. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(
        summary="Get a review assignment",
        responses=AssignmentSerializer,
        examples=[OpenApiExample("A reviewer's", response_only=True, value=EXAMPLE)],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(AssignmentSerializer(_assignment_or_404(pk)).data)


class AssignmentDeleteApi(ApiView):
    """Remove a review assignment: its reviewer (or group) is unrestricted again, and the
    items they hold go back to the queue. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(summary="Delete a review assignment", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        assignment_delete(assignment=_assignment_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


AssignmentCollectionApi = route_by_method(
    "AssignmentCollectionApi", get=AssignmentListApi, put=AssignmentPutApi
)
AssignmentMemberApi = route_by_method(
    "AssignmentMemberApi", get=AssignmentGetApi, delete=AssignmentDeleteApi
)
