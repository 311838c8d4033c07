"""Agreement figures over HTTP (issue 16): what the reviewer-quality page shows
(``/reports/quality/``), as JSON. The figures are ``labeling.selectors.review_quality``'s.

TaxonomyAdmins and Adjudicators get the team's report; a Reviewer gets their own figures only
(their row, their pairs with colleagues unnamed, no team tables), as on the page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import field_error
from labeling.api.schema import ERROR_RESPONSES
from labeling.roles import is_adjudicator
from labeling.selectors.review_quality import review_quality, review_quality_for_reviewer
from labeling.selectors.taxonomy import current_version

from .base import ApiView
from .overlaps import IsReviewerOrAdjudicator

BAD_DATE = "Give a date as YYYY-MM-DD, e.g. 2026-12-01."
NO_VERSION = "There is no current taxonomy version yet: import or publish one first."


class ShareSerializer(serializers.Serializer):
    hits = serializers.IntegerField()
    total = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True, help_text="hits / total; null with no pairs")


class DepthSerializer(serializers.Serializer):
    depth = serializers.IntegerField(help_text="1: the top level")
    agreement = ShareSerializer()


class OverallSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="overlap items with two or more answers")
    answers = serializers.IntegerField()
    leaf = ShareSerializer(help_text="pairs of answers naming the same category")
    depths = DepthSerializer(many=True)
    alpha_tree = serializers.FloatField(
        allow_null=True, help_text="Krippendorff's alpha, distance = edges between the answers"
    )
    alpha_nominal = serializers.FloatField(allow_null=True)


class BranchCountSerializer(serializers.Serializer):
    category_id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class AgreementSerializer(serializers.Serializer):
    overlap_answers = serializers.IntegerField()
    vs_adjudicated = ShareSerializer(help_text="answers on adjudicated items matching the decision")
    vs_others = ShareSerializer(help_text="pairs with another reviewer's answer that agree")
    on_audit = ShareSerializer(help_text="audit answers matching the item's resulting label")
    disagree_branches = BranchCountSerializer(many=True)


class ReviewerSerializer(serializers.Serializer):
    reviewer_id = serializers.IntegerField()
    username = serializers.CharField()
    answers = serializers.IntegerField()
    agreement = AgreementSerializer()
    median_seconds = serializers.FloatField(
        allow_null=True, help_text="between consecutive decisions; gaps over 10 minutes left out"
    )
    timed_gaps = serializers.IntegerField()
    reliability = serializers.FloatField(allow_null=True, help_text="null: not estimated yet")


class PairSerializer(serializers.Serializer):
    first_id = serializers.IntegerField()
    first_name = serializers.CharField()
    second_id = serializers.IntegerField(allow_null=True, help_text="null: an unnamed colleague")
    second_name = serializers.CharField()
    items = serializers.IntegerField()
    agreement = ShareSerializer()
    kappa = serializers.FloatField(allow_null=True, help_text="Cohen's kappa")


class BranchSerializer(serializers.Serializer):
    category_id = serializers.IntegerField()
    name = serializers.CharField()
    items = serializers.IntegerField()
    leaf = ShareSerializer()
    alpha_tree = serializers.FloatField(allow_null=True)


class WeekSerializer(serializers.Serializer):
    week = serializers.CharField(help_text='ISO week, e.g. "2026-W49"')
    items = serializers.IntegerField()
    leaf = ShareSerializer()


class QualitySerializer(serializers.Serializer):
    version_id = serializers.IntegerField()
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True, help_text="exclusive")
    own_view = serializers.BooleanField(help_text="true: the caller's own figures only")
    overlap_items = serializers.IntegerField()
    overall = OverallSerializer(allow_null=True, help_text="null in a reviewer's own view")
    reviewers = ReviewerSerializer(many=True)
    pairs = PairSerializer(many=True)
    branches = BranchSerializer(many=True)
    weeks = WeekSerializer(many=True)


EXAMPLE = {
    "version_id": 3,
    "start": None,
    "end": None,
    "own_view": False,
    "overlap_items": 120,
    "overall": {
        "items": 120,
        "answers": 240,
        "leaf": {"hits": 102, "total": 120, "value": 0.85},
        "depths": [{"depth": 1, "agreement": {"hits": 118, "total": 120, "value": 0.983}}],
        "alpha_tree": 0.91,
        "alpha_nominal": 0.84,
    },
    "reviewers": [],
    "pairs": [],
    "branches": [],
    "weeks": [
        {"week": "2026-W49", "items": 120, "leaf": {"hits": 102, "total": 120, "value": 0.85}}
    ],
}


class ReviewQualityApi(ApiView):
    """Agreement of the team's overlap answers in the current taxonomy version: overall (at the
    leaf, at each depth, Krippendorff's alpha), per reviewer (with the adjudicated answer, with
    colleagues, on audit items; speed; reliability), per pair (Cohen's kappa), per top-level
    branch and per ISO week. ``since`` and ``until`` (dates, both included) narrow the window."""

    permission_classes = [IsReviewerOrAdjudicator]

    @extend_schema(
        summary="Reviewers' agreement figures",
        parameters=[
            OpenApiParameter("since", str, description="first day, YYYY-MM-DD"),
            OpenApiParameter("until", str, description="last day (included), YYYY-MM-DD"),
        ],
        responses={200: QualitySerializer, 400: ERROR_RESPONSES[400], 404: ERROR_RESPONSES[404]},
        examples=[OpenApiExample("The team", response_only=True, value=EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        since = _day(request, "since")
        until = _day(request, "until")
        version = current_version()
        if version is None:
            raise NotFound(NO_VERSION)
        window = {
            "start": _midnight(since),
            "end": _midnight(until + timedelta(days=1)) if until else None,
        }
        if is_adjudicator(request.user):
            report = review_quality(version=version, **window)
        else:
            report = review_quality_for_reviewer(
                version=version, reviewer_id=request.user.pk, **window
            )
        return Response(QualitySerializer(report).data)


def _day(request: Request, name: str) -> date | None:
    raw = str(request.query_params.get(name, "")).strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise field_error(name, BAD_DATE) from None


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else timezone.make_aware(datetime.combine(day, time.min))
