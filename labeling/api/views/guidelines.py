"""Categories' guidelines over HTTP: read a version's (Reviewer) and one category's, write one
(TaxonomyAdmin). The text is Markdown; ``html`` is it rendered as the review card shows it
(``labeling.markdown``: raw HTML escaped, unsafe links dropped). Writes go through
``labeling.services.taxonomy.guidelines.guideline_set``: on a draft or the current version,
carried through publish with the category."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import NO_TAXONOMY_VERSION_ID, field_error, raise_not_found
from labeling.api.permissions import IsReviewer, IsTaxonomyAdmin
from labeling.api.serializers import CategoryRefSerializer
from labeling.markdown import markdown_html
from labeling.models import Category, Guideline, TaxonomyVersion
from labeling.selectors.guidelines import guideline_category_get, guideline_get, guideline_list
from labeling.services.taxonomy.guidelines import (
    GUIDELINE_MAX_CHARS,
    GuidelineError,
    guideline_set,
    guideline_text_clean,
)

from .base import ApiView, ListApiView, route_by_method

NO_CATEGORY_ID = "Category {value} not found."
NO_GUIDELINE = "Category {value} has no guideline."


class GuidelineSerializer(serializers.Serializer):
    category = CategoryRefSerializer()
    text = serializers.CharField(help_text="Markdown")
    html = serializers.SerializerMethodField()
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)
    updated_at = serializers.DateTimeField()

    @extend_schema_field(
        serializers.CharField(
            help_text="the text as safe HTML, as reviewers see it (raw HTML escaped, "
            "javascript: and data: links dropped, no images)"
        )
    )
    def get_html(self, guideline: Guideline) -> str:
        return str(markdown_html(guideline.text))


def _category_or_404(pk: int) -> Category:
    category = guideline_category_get(pk=pk)
    if category is None:
        raise_not_found(NO_CATEGORY_ID, pk)
    return category


class GuidelineListApi(ListApiView):
    """Every guideline of a taxonomy version, in its categories' path order."""

    permission_classes = [IsReviewer]

    @extend_schema(
        summary="List a taxonomy version's guidelines", responses=GuidelineSerializer(many=True)
    )
    def get(self, request: Request, pk: int) -> Response:
        version = TaxonomyVersion.objects.filter(pk=pk).first()
        if version is None:
            raise_not_found(NO_TAXONOMY_VERSION_ID, pk)
        return self.page_response(
            self.paginate(guideline_list(version=version)), GuidelineSerializer
        )


class GuidelineGetApi(ApiView):
    permission_classes = [IsReviewer]

    @extend_schema(
        summary="Get a category's guideline",
        responses=GuidelineSerializer,
        description="404 when the category has none.",
    )
    def get(self, request: Request, pk: int) -> Response:
        _category_or_404(pk)
        guideline = guideline_get(category_id=pk)
        if guideline is None:
            raise_not_found(NO_GUIDELINE, pk)
        return Response(GuidelineSerializer(guideline).data)


class GuidelinePutApi(ApiView):
    """Write a category's guideline (empty ``text`` clears it: 204). The category must be
    live in a draft or in the current version; on the current version the open draft's
    same category follows unless the draft changed its guideline. TaxonomyAdmin only."""

    permission_classes = [IsTaxonomyAdmin]

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(
            allow_blank=True,
            trim_whitespace=False,
            help_text=f"Markdown, at most {GUIDELINE_MAX_CHARS:,} characters; empty clears it",
        )

    @extend_schema(
        summary="Write a category's guideline",
        request=InputSerializer,
        responses={200: GuidelineSerializer, 204: None},
        examples=[
            OpenApiExample(
                "Markdown",
                request_only=True,
                value={"text": "Collared, buttoned **shirts**; T-shirts go to *Tshirts*."},
            )
        ],
    )
    def put(self, request: Request, pk: int) -> Response:
        category = _category_or_404(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            text = guideline_text_clean(serializer.validated_data["text"])
        except GuidelineError as error:
            raise field_error("text", str(error)) from error
        try:
            guideline = guideline_set(category=category, text=text, author=request.user)
        except GuidelineError as error:
            raise field_error("detail", str(error)) from error
        if guideline is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(GuidelineSerializer(guideline_get(category_id=pk)).data)


GuidelineMemberApi = route_by_method("GuidelineMemberApi", get=GuidelineGetApi, put=GuidelinePutApi)
