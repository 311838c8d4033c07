"""Rules beside the model over HTTP (issue 17; TaxonomyAdmin only): list, create, read,
replace, switch on or off, delete, and preview. The same services as the admin page
(``/taxonomy/rules/``, ``labeling.services.rules``): a new or replaced rule is off; switching
it on needs a preview since its last edit (``POST /api/rules/{id}/preview/``, which keeps the
figures on the rule). Rules are written on the current taxonomy version.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import NO_CURRENT_TAXONOMY_VERSION, raise_not_found
from labeling.api.fields import DbIntegerField, optional_bool
from labeling.api.permissions import IsTaxonomyAdmin
from labeling.api.serializers import CategoryRefSerializer
from labeling.models import Rule, RuleCondition
from labeling.selectors.rules import rule_get, rule_list, rule_stats
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.rules.crud import (
    RuleInput,
    rule_create,
    rule_delete,
    rule_enable,
    rule_update,
)
from labeling.services.rules.preview import rule_preview_saved

from .base import ApiView, ListApiView, route_by_method

NO_RULE_ID = "Rule {value} not found."
CONDITION_EXAMPLE = {"kind": "words", "field": "title", "value": ["charger", "cable"]}
CREATE_EXAMPLE = {
    "name": "chargers are electronics",
    "action": "assign",
    "category": "Electronics > Accessories > Chargers",
    "priority": 10,
    "conditions": [
        CONDITION_EXAMPLE,
        {"kind": "regex", "field": "text", "value": r"\b(usb[- ]?c|lightning)\b"},
        {"kind": "confidence_below", "value": 0.8},
    ],
}
RULE_EXAMPLE = {
    "id": 7,
    "taxonomy_version": 3,
    "name": "chargers are electronics",
    "action": "assign",
    "category": {"id": 41, "key": "chargers", "name": "Chargers", "path": "Electronics > ..."},
    "reason": "",
    "priority": 10,
    "enabled": True,
    "problem": "",
    "conditions": [CONDITION_EXAMPLE | {"category": None}],
    "preview": {"hits": 812, "labelled_hits": 96, "agrees": 94, "disagrees": 2},
    "previewed_at": "2025-01-31T09:30:00Z",
    "carried_from": None,
    "updated_at": "2025-01-31T09:30:00Z",
}


KINDS = ", ".join(RuleCondition.Kind.values)


class ConditionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RuleCondition.Kind.choices)
    field = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="title, description or text (both) for words/phrase/regex; the attribute's "
        "name for attribute conditions; empty otherwise",
    )
    value = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="words: a list (any of them); phrase, regex: a string; attribute_equals: a "
        'value; attribute_in: a list; attribute_range: {"min": 10, "max": 20} (either may be '
        "null); confidence_below/above: a number 0-1",
    )
    category = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="predicted_is / predicted_under: the category's id, path or key",
    )


def _flat(detail: Any, prefix: str) -> list[str]:
    """DRF's nested errors as flat messages, ``"condition 2: value: …"``."""
    if isinstance(detail, dict):
        return [m for key, inner in detail.items() for m in _flat(inner, f"{prefix}{key}: ")]
    if isinstance(detail, list):
        return [m for inner in detail for m in _flat(inner, prefix)]
    return [f"{prefix}{detail}"]


class ConditionListField(serializers.ListField):
    """1 to 20 conditions, refused as a flat list of messages (the documented 400: field ->
    list of strings); DRF nests a child's errors by index and field."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=ConditionSerializer(), min_length=1, max_length=20, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            messages = [
                m
                for key, inner in exc.detail.items()
                for m in _flat(inner, f"condition {int(key) + 1}: ")
            ]
            raise ValidationError(messages) from exc


class ConditionOutputSerializer(ConditionSerializer):
    # Plain text here: one enum used by two components cannot be named after either, and
    # drf-spectacular warns about the collision with the other models' ``kind`` choices.
    kind = serializers.CharField(help_text=f"one of {KINDS}")  # type: ignore[assignment]
    category = CategoryRefSerializer(allow_null=True)  # type: ignore[assignment]


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taxonomy_version = serializers.IntegerField(source="taxonomy_version_id")
    name = serializers.CharField()
    action = serializers.ChoiceField(choices=Rule.Action.choices)
    category = CategoryRefSerializer(allow_null=True)
    reason = serializers.CharField()
    priority = serializers.IntegerField(help_text="lower runs first; the first assign rule wins")
    enabled = serializers.BooleanField()
    problem = serializers.CharField(help_text="why Taxoloop switched it off; empty: none")
    conditions = ConditionOutputSerializer(many=True, source="conditions.all")
    preview = serializers.JSONField(help_text="the last preview's figures; {} since an edit")
    previewed_at = serializers.DateTimeField(allow_null=True)
    carried_from = serializers.IntegerField(source="carried_from_id", allow_null=True)
    updated_at = serializers.DateTimeField()


class RuleStatSerializer(serializers.Serializer):
    day = serializers.DateField()
    scored = serializers.IntegerField()
    hits = serializers.IntegerField()
    labelled = serializers.IntegerField()
    disagreements = serializers.IntegerField()
    timeouts = serializers.IntegerField()


class RuleDetailSerializer(RuleSerializer):
    stats = serializers.SerializerMethodField()

    @extend_schema_field(RuleStatSerializer(many=True))
    def get_stats(self, rule: Rule) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = RuleStatSerializer(rule_stats(rule=rule), many=True).data
        return data


class RuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    action = serializers.ChoiceField(choices=Rule.Action.choices)
    category = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="id, path or key"
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    # A PositiveIntegerField: 0 to 2**31 - 1 on every database.
    priority = DbIntegerField(required=False, default=100, min_value=0, max_value=2**31 - 1)
    conditions = ConditionListField()


def _input(data: dict[str, Any]) -> RuleInput:
    return RuleInput(
        name=data["name"],
        action=data["action"],
        category=data.get("category") or None,
        reason=data.get("reason", ""),
        priority=data.get("priority", 100),
        conditions=[dict(c) for c in data["conditions"]],
    )


def _rule_or_404(pk: int) -> Rule:
    rule = rule_get(pk=pk)
    if rule is None:
        raise_not_found(NO_RULE_ID, pk)
    return rule


def _refused(error: ServiceError) -> ValidationError:
    return ValidationError({"non_field_errors": [str(error)]})


class RuleListApi(ListApiView):
    """The current taxonomy version's rules in precedence order. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    class FilterSerializer(serializers.Serializer):
        enabled = optional_bool("only rules switched on (true) or off (false)")

    @extend_schema(
        summary="List rules",
        parameters=[FilterSerializer],
        responses=RuleSerializer(many=True),
        examples=[OpenApiExample("A rule", response_only=True, value=RULE_EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        filters = self.filters(request, self.FilterSerializer)
        rules = rule_list(version=current_version(), enabled=filters.get("enabled"))
        return self.page_response(self.paginate(rules), RuleSerializer)


class RuleCreateApi(ApiView):
    """Create a rule on the current taxonomy version, switched off. Refusals (a bad pattern,
    an unknown category, no condition...) are 400 with the reason. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(
        summary="Create a rule",
        request=RuleInputSerializer,
        responses={201: RuleDetailSerializer},
        examples=[OpenApiExample("Assign chargers", request_only=True, value=CREATE_EXAMPLE)],
    )
    def post(self, request: Request) -> Response:
        serializer = RuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = current_version()
        if version is None:
            raise ValidationError({"non_field_errors": [NO_CURRENT_TAXONOMY_VERSION]})
        try:
            rule = rule_create(
                version=version, data=_input(serializer.validated_data), author=request.user
            )
        except ServiceError as error:
            raise _refused(error) from error
        data = RuleDetailSerializer(rule_get(pk=rule.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)


class RuleGetApi(ApiView):
    """One rule, with its counts per day of scoring. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(summary="Get a rule", responses=RuleDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(RuleDetailSerializer(_rule_or_404(pk)).data)


class RulePutApi(ApiView):
    """Replace a rule (name, action, category, reason, priority, conditions). It is switched
    off afterwards and its preview is gone. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(
        summary="Replace a rule",
        request=RuleInputSerializer,
        responses=RuleDetailSerializer,
        examples=[OpenApiExample("Assign chargers", request_only=True, value=CREATE_EXAMPLE)],
    )
    def put(self, request: Request, pk: int) -> Response:
        rule = _rule_or_404(pk)
        serializer = RuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rule_update(rule=rule, data=_input(serializer.validated_data), author=request.user)
        except ServiceError as error:
            raise _refused(error) from error
        return Response(RuleDetailSerializer(rule_get(pk=pk)).data)


class RulePatchApi(ApiView):
    """Switch a rule on or off. On needs a preview since its last edit (400 otherwise).
    TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField()

    @extend_schema(
        summary="Switch a rule on or off",
        request=InputSerializer,
        responses=RuleDetailSerializer,
        examples=[OpenApiExample("On", request_only=True, value={"enabled": True})],
    )
    def patch(self, request: Request, pk: int) -> Response:
        rule = _rule_or_404(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rule_enable(
                rule=rule, enabled=serializer.validated_data["enabled"], author=request.user
            )
        except ServiceError as error:
            raise _refused(error) from error
        return Response(RuleDetailSerializer(rule_get(pk=pk)).data)


class RuleDeleteApi(ApiView):
    """Delete a rule of the current version. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(summary="Delete a rule", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        try:
            rule_delete(rule=_rule_or_404(pk))
        except ServiceError as error:
            raise _refused(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExampleSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    external_id = serializers.CharField()
    title = serializers.CharField()
    label = serializers.CharField(help_text="the item's label's path; empty: none")
    rule_says = serializers.CharField()
    model_says = serializers.CharField(help_text="the model's top category; empty: none")


class RulePreviewSerializer(serializers.Serializer):
    catalog = serializers.IntegerField(help_text="items in the catalog")
    scanned = serializers.IntegerField(help_text="items evaluated (all, or an even sample)")
    hits = serializers.IntegerField(help_text="hits among the scanned")
    hits_estimate = serializers.IntegerField(help_text="hits scaled to the catalog")
    labelled = serializers.IntegerField(help_text="labelled items evaluated")
    labelled_hits = serializers.IntegerField()
    agrees = serializers.IntegerField(help_text="labelled hits the rule gets right")
    disagrees = serializers.IntegerField(help_text="labelled hits the rule gets wrong")
    undecided = serializers.IntegerField(help_text="labels coarser than the rule's category")
    model_right = serializers.IntegerField(help_text="labelled hits the model gets right")
    precision = serializers.FloatField(allow_null=True)
    model_precision = serializers.FloatField(allow_null=True)
    timeouts = serializers.IntegerField(help_text="items whose pattern search timed out")
    examples = ExampleSerializer(many=True, help_text="labelled items it gets wrong")
    samples = ExampleSerializer(many=True, help_text="the first items it hits")
    at = serializers.CharField()


class RulePreviewApi(ApiView):
    """Evaluate a rule over the catalog and the labelled items now, and keep the figures on
    it (switching it on needs them). TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    @extend_schema(summary="Preview a rule", request=None, responses=RulePreviewSerializer)
    def post(self, request: Request, pk: int) -> Response:
        preview = rule_preview_saved(rule=_rule_or_404(pk))
        return Response(RulePreviewSerializer(preview.as_dict()).data)


RuleCollectionApi = route_by_method("RuleCollectionApi", get=RuleListApi, post=RuleCreateApi)
RuleMemberApi = route_by_method(
    "RuleMemberApi", get=RuleGetApi, put=RulePutApi, patch=RulePatchApi, delete=RuleDeleteApi
)
