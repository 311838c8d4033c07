"""Overlaps over HTTP (issue 16): items answered blind by several reviewers, their answers and
the adjudication of a disputed one. The workflow is ``labeling.services.review.overlap``; reads
are ``labeling.selectors.labels``.

Blindness: adjudicators and TaxonomyAdmins see every answer. A plain reviewer sees every answer
of a resolved overlap (agreed, adjudicated) but, while it is open or disputed, only their own:
the others are left out of ``answers`` and counted only in ``answers_in``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.errors import IDEMPOTENCY_KEY_REUSED, NO_CATEGORY, field_error, raise_not_found
from labeling.api.schema import FIELD_ERRORS_SCHEMA
from labeling.api.serializers import CategoryRefSerializer, ItemRefSerializer
from labeling.api.throttling import LABELS_WRITE
from labeling.models import Category, Label, Overlap
from labeling.roles import is_adjudicator, is_reviewer
from labeling.selectors.labels import (
    LedgerViewer,
    category_by_path_or_key,
    label_by_idempotency_key,
    overlap_answers,
    overlap_get,
    overlap_list,
)
from labeling.services.review.decisions import DECISION_NOTE_MAX
from labeling.services.review.labels import LabelError
from labeling.services.review.overlap import NOT_DISPUTED, OverlapError, adjudicate

from .base import ApiView, ListApiView
from .labels import IdempotentInputSerializer, ledger_viewer

NO_OVERLAP_ID = "Overlap {value} not found."
REVIEWER_OR_ADJUDICATOR_REQUIRED = "This needs the Reviewer, Adjudicator or TaxonomyAdmin role."
ADJUDICATOR_REQUIRED = "This needs the Adjudicator or TaxonomyAdmin role."
CATEGORY_NAME_MAX = Category._meta.get_field("path").max_length or 1000

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replaying a decision with the same key returns the overlap with 200 instead "
    "of deciding twice (same as the idempotency_key field); the key with another overlap or "
    "category is a 400.",
)

ANSWER_EXAMPLE = {
    "reviewer": "alice",
    "label": 41,
    "category": {"id": 7, "key": "shirts", "name": "Shirts", "path": "Apparel > Topwear > Shirts"},
    "note": "collar and buttons",
    "created_at": "2025-01-31T09:30:00Z",
    "retracted": False,
}
EXAMPLE = {
    "id": 5,
    "item": {"id": 12, "external_id": "SKU-12", "title": "Oxford shirt"},
    "taxonomy_version": 3,
    "why": "sample",
    "status": "adjudicated",
    "needed": 2,
    "depth": None,
    "answers_in": 2,
    "answers": [
        ANSWER_EXAMPLE,
        {
            **ANSWER_EXAMPLE,
            "reviewer": "carol",
            "label": 44,
            "category": {
                "id": 8,
                "key": "tshirts",
                "name": "Tshirts",
                "path": "Apparel > Topwear > Tshirts",
            },
            "note": "",
            "created_at": "2025-01-31T09:41:00Z",
        },
    ],
    "label": {
        "id": 52,
        "context": "adjudicated",
        "category": ANSWER_EXAMPLE["category"],
    },
    "adjudicator": "dora",
    "created_at": "2025-01-31T09:30:00Z",
    "resolved_at": "2025-02-01T08:05:00Z",
}
OPEN_EXAMPLE = {
    **EXAMPLE,
    "status": "open",
    "answers": [ANSWER_EXAMPLE],
    "label": None,
    "adjudicator": None,
    "resolved_at": None,
}


class IsReviewerOrAdjudicator(BasePermission):
    message = REVIEWER_OR_ADJUDICATOR_REQUIRED

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_reviewer(request.user) or is_adjudicator(request.user)


class IsAdjudicator(BasePermission):
    """Adjudicators and taxonomy admins (and superusers)."""

    message = ADJUDICATOR_REQUIRED

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_adjudicator(request.user)


class OverlapAnswerSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    label = serializers.IntegerField(source="label_id", help_text="the answer's ledger row")
    category = CategoryRefSerializer(source="label.category")
    note = serializers.CharField(source="label.note")
    created_at = serializers.DateTimeField(source="label.created_at")
    retracted = serializers.BooleanField(help_text="a retraction in the ledger took it back")


class OverlapLabelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    context = serializers.CharField(help_text="agreed or adjudicated")
    category = CategoryRefSerializer()


class OverlapListSerializer(serializers.ListSerializer):
    """Loads the answers of a whole page in one query, not once per overlap."""

    def to_representation(self, data: Any) -> list[Any]:
        rows = list(data.all() if hasattr(data, "all") else data)
        found = overlap_answers(overlap_ids=[row.pk for row in rows], viewer=_viewer(self))
        self._context = {**self._context, "overlap_answers": found}
        return super().to_representation(rows)


class OverlapSerializer(serializers.Serializer):
    """An item answered blind by several reviewers: why, how many answers it needs and has,
    the answers the caller may see, and its resolution (``label``: the item's label once
    agreed or adjudicated; ``adjudicator``: who decided a disputed one)."""

    class Meta:
        list_serializer_class = OverlapListSerializer

    id = serializers.IntegerField()
    item = ItemRefSerializer()
    taxonomy_version = serializers.IntegerField(source="taxonomy_version_id")
    why = serializers.ChoiceField(choices=Overlap.Why.choices)
    status = serializers.ChoiceField(choices=Overlap.Status.choices)
    needed = serializers.IntegerField(help_text="answers it waits for")
    depth = serializers.IntegerField(
        allow_null=True, help_text="answers agree at this depth; null: on the same leaf"
    )
    answers_in = serializers.IntegerField(help_text="answers given so far, seen or not")
    answers = serializers.SerializerMethodField()
    label = OverlapLabelSerializer(allow_null=True, help_text="null until resolved")
    adjudicator = serializers.CharField(
        source="adjudicator.username", allow_null=True, default=None
    )
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(OverlapAnswerSerializer(many=True))
    def get_answers(self, overlap: Overlap) -> list[dict[str, Any]]:
        found = self.context.get("overlap_answers")
        if found is None:  # one overlap on its own
            found = overlap_answers(overlap_ids=[overlap.pk], viewer=_viewer(self))
        return OverlapAnswerSerializer(found.get(overlap.pk, []), many=True).data


def _viewer(serializer: serializers.BaseSerializer) -> LedgerViewer | None:
    request = serializer.context.get("request")
    return ledger_viewer(request) if request is not None else None


def _context(request: Request) -> dict[str, Any]:
    return {"idempotency_header": request.headers.get("Idempotency-Key", "")}


def _overlap_or_404(pk: int) -> Overlap:
    overlap = overlap_get(pk=pk)
    if overlap is None:
        raise_not_found(NO_OVERLAP_ID, pk)
    return overlap


class OverlapListApi(ListApiView):
    """Overlaps, newest first, with the answers the caller may see: every answer for
    Adjudicators and TaxonomyAdmins; for a Reviewer, every answer of a resolved overlap
    (agreed, adjudicated) but only their own while it is open or disputed (``answers_in``
    still counts them all). ``reviewer`` matches the answers the caller may see."""

    permission_classes = [IsReviewerOrAdjudicator]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(required=False, choices=Overlap.Status.choices)
        why = serializers.ChoiceField(required=False, choices=Overlap.Why.choices)
        item = serializers.CharField(required=False, help_text="the item's external id")
        reviewer = serializers.CharField(required=False, help_text="a reviewer's username")

    @extend_schema(
        summary="List overlaps",
        parameters=[FilterSerializer],
        responses=OverlapSerializer(many=True),
        examples=[OpenApiExample("Adjudicated", response_only=True, value=EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        filters = self.filters(request, self.FilterSerializer)
        overlaps = overlap_list(viewer=ledger_viewer(request), **filters)
        return self.page_response(self.paginate(overlaps), OverlapSerializer)


class OverlapDetailApi(ApiView):
    """One overlap with the answers the caller may see (as in the list)."""

    permission_classes = [IsReviewerOrAdjudicator]

    @extend_schema(
        summary="Get an overlap",
        responses=OverlapSerializer,
        examples=[
            OpenApiExample("Adjudicated", response_only=True, value=EXAMPLE),
            OpenApiExample(
                "Open, as the reviewer who answered sees it", response_only=True, value=OPEN_EXAMPLE
            ),
        ],
    )
    def get(self, request: Request, pk: int) -> Response:
        overlap = _overlap_or_404(pk)
        return Response(OverlapSerializer(overlap, context={"request": request}).data)


class OverlapAdjudicateApi(ApiView):
    """Decide a disputed overlap: ``category`` (a path or a key in the current taxonomy
    version) becomes the item's label (context ``adjudicated``); the answers stay in the
    ledger with their authors. Adjudicators and TaxonomyAdmins only (403 otherwise). An
    overlap that is not disputed is a 400 on ``non_field_errors``; an unknown or deprecated
    category a 400 on ``category``. Replaying the same ``Idempotency-Key`` returns the
    overlap with 200 instead of deciding twice."""

    permission_classes = [IsAdjudicator]
    throttle_scope = LABELS_WRITE

    class InputSerializer(IdempotentInputSerializer):
        category = serializers.CharField(
            max_length=CATEGORY_NAME_MAX, help_text='a path ("A > B > C") or a category key'
        )
        note = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=DECISION_NOTE_MAX,
            help_text="why, in the adjudicator's words; kept on the ledger line",
        )

    @extend_schema(
        summary="Adjudicate a disputed overlap",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OverlapSerializer,
            200: OverlapSerializer,
            400: OpenApiResponse(
                FIELD_ERRORS_SCHEMA,
                description="Nothing was decided; errors by field.",
                examples=[
                    OpenApiExample(
                        "Not disputed",
                        value={"non_field_errors": [NOT_DISPUTED.format(pk=5, status="agreed")]},
                    ),
                    OpenApiExample(
                        "Unknown category",
                        value={"category": [NO_CATEGORY.format(value="'Apparel > Hats'")]},
                    ),
                ],
            ),
        },
        examples=[
            OpenApiExample(
                "By path",
                request_only=True,
                value={"category": "Apparel > Topwear > Shirts", "note": "a collar: a shirt"},
            ),
            OpenApiExample("By key", request_only=True, value={"category": "shirts"}),
            OpenApiExample("Decided", response_only=True, status_codes=["201"], value=EXAMPLE),
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        overlap = _overlap_or_404(pk)
        serializer = self.InputSerializer(data=request.data, context=_context(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["idempotency_key"] and _is_replay(overlap, data):
            return self._overlap_response(request, pk, status.HTTP_200_OK)
        category = category_by_path_or_key(name=data["category"])
        if category is None:
            raise field_error("category", NO_CATEGORY.format(value=repr(data["category"])))
        try:
            adjudicate(
                overlap=overlap,
                adjudicator=request.user,
                category=category,
                note=data["note"],
                idempotency_key=data["idempotency_key"],
            )
        except OverlapError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from error
        except LabelError as error:  # every label_create refusal concerns the category
            raise field_error("category", str(error)) from error
        return self._overlap_response(request, pk, status.HTTP_201_CREATED)

    @staticmethod
    def _overlap_response(request: Request, pk: int, code: int) -> Response:
        overlap = _overlap_or_404(pk)
        return Response(OverlapSerializer(overlap, context={"request": request}).data, code)


def _is_replay(overlap: Overlap, data: dict[str, Any]) -> bool:
    """The key already decided this overlap with this category (a 400 when it wrote anything
    else)."""
    existing: Label | None = label_by_idempotency_key(key=data["idempotency_key"])
    if existing is None:
        return False
    category = existing.category
    named = category is not None and data["category"] in (category.path, category.key)
    if existing.pk != overlap.label_id or not named:
        raise field_error("idempotency_key", IDEMPOTENCY_KEY_REUSED.format(pk=existing.pk))
    return True
