"""The label ledger over HTTP: write a label, list the ledger, retract a label.
Writes go through labeling.services.review.labels (label_create / label_retract)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import (
    CATEGORY_OR_PATH,
    IDEMPOTENCY_KEY_REUSED,
    ITEM_OR_EXTERNAL_ID,
    NO_CATEGORY,
    NO_ITEM,
    NO_LABEL_ID,
    field_error,
    raise_not_found,
)
from labeling.api.fields import IdField
from labeling.api.permissions import CanRetractLabel, IsReviewer
from labeling.api.serializers import LabelSerializer
from labeling.api.throttling import LABELS_WRITE
from labeling.models import Category, Item, Label
from labeling.roles import is_adjudicator
from labeling.selectors.items import item_get, item_get_by_external_id
from labeling.selectors.labels import (
    LedgerViewer,
    label_by_idempotency_key,
    label_get,
    label_list,
)
from labeling.selectors.taxonomy import category_in_current_version
from labeling.services.review.decisions import DECISION_NOTE_MAX
from labeling.services.review.labels import LabelError, label_create, label_retract

from .base import ApiView, ListApiView, route_by_method

IDEMPOTENCY_HEADERS_DIFFER = "The Idempotency-Key header and the idempotency_key field differ."
IDEMPOTENCY_KEY_MAX = Label._meta.get_field("idempotency_key").max_length or 100

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replaying a request with the same key returns the first response's label "
    "with 200 instead of writing a second one (same as the idempotency_key field).",
)


class IdempotentInputSerializer(serializers.Serializer):
    """Takes the idempotency key from the body or the Idempotency-Key header (context)."""

    idempotency_key = serializers.CharField(
        required=False, max_length=IDEMPOTENCY_KEY_MAX, allow_blank=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        header = self.context.get("idempotency_header") or ""
        body = attrs.get("idempotency_key") or ""
        if header and body and header != body:
            raise field_error("idempotency_key", IDEMPOTENCY_HEADERS_DIFFER)
        if len(header) > IDEMPOTENCY_KEY_MAX:
            raise field_error(
                "idempotency_key",
                f"Ensure this field has no more than {IDEMPOTENCY_KEY_MAX} characters.",
            )
        attrs["idempotency_key"] = header or body or None
        return attrs


def ledger_viewer(request: Request) -> LedgerViewer:
    """Who reads the ledger, for the blindness of overlap answers (labeling.selectors.labels)."""
    return LedgerViewer(request.user.pk, sees_every_answer=is_adjudicator(request.user))


def _context(request: Request) -> dict[str, Any]:
    return {"idempotency_header": request.headers.get("Idempotency-Key", "")}


def _replayed(key: str | None, matches: Any) -> Response | None:
    """The 200 answer to a replayed request, or None when the key is new."""
    existing = label_by_idempotency_key(key=key) if key else None
    if existing is None:
        return None
    if not matches(existing):
        raise field_error("idempotency_key", IDEMPOTENCY_KEY_REUSED.format(pk=existing.pk))
    return Response(LabelSerializer(existing).data, status=status.HTTP_200_OK)


class LabelCreateApi(ApiView):
    """Label an item with a category of the current taxonomy version. Name the item by
    ``item`` (id) or ``item_external_id`` and the category by ``category`` (id) or
    ``category_path``. Needs the Reviewer or TaxonomyAdmin role."""

    permission_classes = [IsReviewer]
    throttle_scope = LABELS_WRITE

    class InputSerializer(IdempotentInputSerializer):
        item = IdField(required=False)
        item_external_id = serializers.CharField(required=False)
        category = IdField(required=False)
        category_path = serializers.CharField(required=False, help_text='"A > B > C"')
        note = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=DECISION_NOTE_MAX,
            help_text="why, in the author's words; kept on the ledger line",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if "item" not in attrs and "item_external_id" not in attrs:
                raise field_error("item", ITEM_OR_EXTERNAL_ID)
            if "category" not in attrs and "category_path" not in attrs:
                raise field_error("category", CATEGORY_OR_PATH)
            return super().validate(attrs)

    @extend_schema(
        summary="Label an item",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: LabelSerializer, 200: LabelSerializer},
        examples=[
            OpenApiExample(
                "By path",
                request_only=True,
                value={"item_external_id": "SKU-1", "category_path": "Apparel > Topwear > Shirts"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data, context=_context(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        replay = _replayed(data["idempotency_key"], lambda label: _same_label(label, data))
        if replay is not None:
            return replay
        try:
            label = label_create(
                item=_item_or_400(data),
                category=_category_or_400(data),
                author=request.user,
                source=Label.Source.API,
                note=data["note"],
                idempotency_key=data["idempotency_key"],
            )
        except LabelError as error:  # every label_create refusal concerns the category
            raise field_error("category", str(error)) from error
        return Response(
            LabelSerializer(label_get(pk=label.pk)).data, status=status.HTTP_201_CREATED
        )


def _item_or_400(data: dict[str, Any]) -> Item:
    if "item" in data:
        item = item_get(pk=data["item"])
        field, value = "item", data["item"]
    else:
        item = item_get_by_external_id(external_id=data["item_external_id"])
        field, value = "item_external_id", repr(data["item_external_id"])
    if item is None:
        raise field_error(field, NO_ITEM.format(value=value))
    return item


def _category_or_400(data: dict[str, Any]) -> Category:
    if "category" in data:
        category = category_in_current_version(pk=data["category"])
        field, value = "category", data["category"]
    else:
        category = category_in_current_version(path=data["category_path"])
        field, value = "category_path", repr(data["category_path"])
    if category is None:
        raise field_error(field, NO_CATEGORY.format(value=value))
    return category


def _same_label(label: Label, data: dict[str, Any]) -> bool:
    same_item = data.get("item") == label.item_id or (
        data.get("item_external_id") == label.item.external_id
    )
    category = label.category
    same_category = category is not None and (
        data.get("category") == category.pk or data.get("category_path") == category.path
    )
    return same_item and same_category


class LabelListApi(ListApiView):
    permission_classes = [IsReviewer]

    class FilterSerializer(serializers.Serializer):
        item = IdField(required=False, source="item_id")
        category = IdField(required=False, source="category_id")
        source = serializers.ChoiceField(required=False, choices=Label.Source.choices)
        author = serializers.CharField(required=False, help_text="username")
        kind = serializers.ChoiceField(required=False, choices=Label.Kind.choices)
        since = serializers.DateTimeField(
            required=False, help_text="created at or after (ISO 8601)"
        )
        version = IdField(required=False, source="version_id", help_text="taxonomy version id")
        note = serializers.CharField(
            required=False, help_text="the line's note contains this text (any case)"
        )

    @extend_schema(
        summary="List the label ledger",
        parameters=[FilterSerializer],
        responses=LabelSerializer(many=True),
        description="Decisions and retractions, newest first. ``note`` finds the lines "
        "whose note (a reviewer's note on the decision, a conflict, an undo) contains the text. "
        "Overlap answers (context overlap) are blind: while their overlap is open or disputed "
        "only their author and adjudicators (and TaxonomyAdmins) see them, or their "
        "retractions.",
    )
    def get(self, request: Request) -> Response:
        filters = self.filters(request, self.FilterSerializer)
        labels = label_list(**filters, viewer=ledger_viewer(request))
        return self.page_response(self.paginate(labels), LabelSerializer)


class LabelRetractApi(ApiView):
    """Undo a label by appending a retraction; the item's current label falls back to its
    newest remaining label. A Reviewer may retract their own labels; retracting someone
    else's label needs the TaxonomyAdmin role (403 otherwise). Retracting a retraction, or a
    label that is already retracted, is a 400 naming ``label``."""

    permission_classes = [CanRetractLabel]
    throttle_scope = LABELS_WRITE

    class InputSerializer(IdempotentInputSerializer):
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Retract a label",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: LabelSerializer, 200: LabelSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        label = label_get(pk=pk)
        if label is None:
            raise_not_found(NO_LABEL_ID, pk)
        self.check_object_permissions(request, label)
        serializer = self.InputSerializer(data=request.data, context=_context(request))
        serializer.is_valid(raise_exception=True)
        key, note = serializer.validated_data["idempotency_key"], serializer.validated_data["note"]
        replay = _replayed(key, lambda existing: existing.retracts_id == label.pk)
        if replay is not None:
            return replay
        try:
            retraction = label_retract(
                label=label, author=request.user, note=note, idempotency_key=key
            )
        except LabelError as error:
            raise ValidationError({"label": [str(error)]}) from error
        return Response(
            LabelSerializer(label_get(pk=retraction.pk)).data, status=status.HTTP_201_CREATED
        )


LabelCollectionApi = route_by_method("LabelCollectionApi", get=LabelListApi, post=LabelCreateApi)
