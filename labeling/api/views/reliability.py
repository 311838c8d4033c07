"""Reviewers' estimated reliability over HTTP (issue 16): what the team's overlap answers say
about each reviewer (``labeling.services.review.reliability`` refreshes the rows)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.selectors.labels import reviewer_reliability_list

from .base import ListApiView
from .labels import ledger_viewer
from .overlaps import IsReviewerOrAdjudicator

EXAMPLE = {
    "username": "alice",
    "taxonomy_version": 3,
    "accuracy": 0.93,
    "answers": 412,
    "shared": 57,
    "trust": {"apparel": 0.95, "footwear": 0.88},
    "updated_at": "2025-02-01T03:00:00Z",
}


class ReliabilitySerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    taxonomy_version = serializers.IntegerField(
        source="taxonomy_version_id", help_text="the version the estimate was made in"
    )
    accuracy = serializers.FloatField(
        help_text="estimated probability that their answer names the right top-level branch"
    )
    answers = serializers.IntegerField(help_text="answers the estimate is based on")
    shared = serializers.IntegerField(help_text="of which on items two or more people answered")
    trust = serializers.DictField(
        child=serializers.FloatField(),
        help_text="top-level branch key -> probability their answer there is right",
    )
    updated_at = serializers.DateTimeField()


class ReviewerReliabilityListApi(ListApiView):
    """Each reviewer's estimated reliability, by username. Adjudicators and TaxonomyAdmins
    see every reviewer's row; a Reviewer only their own (an empty list before their first
    estimate)."""

    permission_classes = [IsReviewerOrAdjudicator]

    @extend_schema(
        summary="List reviewers' reliability",
        responses=ReliabilitySerializer(many=True),
        examples=[OpenApiExample("A reviewer", response_only=True, value=EXAMPLE)],
    )
    def get(self, request: Request) -> Response:
        rows = reviewer_reliability_list(viewer=ledger_viewer(request))
        return self.page_response(self.paginate(rows), ReliabilitySerializer)
