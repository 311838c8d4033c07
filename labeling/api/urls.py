from django.urls import path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

import labeling.urls_converters  # noqa: F401 -- registers the <id:...> path converter
from labeling.api.views import (
    assignments,
    auth,
    catalog,
    docs,
    guidelines,
    items,
    labels,
    models,
    not_found,
    overlaps,
    predictions,
    reliability,
    review_quality,
    root,
    rules,
    taxonomy,
    taxonomy_drafts,
)

urlpatterns = [
    path("schema/", docs.SchemaApi.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("token/", auth.TokenObtainApi.as_view(), name="api-token"),
    path("tokens/", auth.TokenCollectionApi.as_view(), name="api-tokens"),
    path("tokens/<id:pk>/revoke/", auth.TokenRevokeApi.as_view(), name="api-token-revoke"),
    # Items
    path("items/", items.ItemCollectionApi.as_view(), name="api-items"),
    path("items/bulk/", items.ItemBulkCreateApi.as_view(), name="api-items-bulk"),
    path("items/<id:pk>/", items.ItemMemberApi.as_view(), name="api-item"),
    path(
        "items/<id:pk>/prediction/",
        predictions.ItemPredictionApi.as_view(),
        name="api-item-prediction",
    ),
    # Taxonomy
    path(
        "taxonomy-versions/",
        taxonomy.TaxonomyVersionListApi.as_view(),
        name="api-taxonomy-versions",
    ),
    path(
        "taxonomy-versions/current/",
        taxonomy.TaxonomyVersionCurrentApi.as_view(),
        name="api-taxonomy-version-current",
    ),
    path(
        "taxonomy-versions/<id:pk>/",
        taxonomy.TaxonomyVersionDetailApi.as_view(),
        name="api-taxonomy-version",
    ),
    path(
        "taxonomy-versions/<id:pk>/categories/",
        taxonomy.CategoryListApi.as_view(),
        name="api-taxonomy-version-categories",
    ),
    # Guidelines (read: Reviewer; write: TaxonomyAdmin)
    path(
        "taxonomy-versions/<id:pk>/guidelines/",
        guidelines.GuidelineListApi.as_view(),
        name="api-taxonomy-version-guidelines",
    ),
    path(
        "categories/<id:pk>/guideline/",
        guidelines.GuidelineMemberApi.as_view(),
        name="api-category-guideline",
    ),
    # Taxonomy drafts (TaxonomyAdmin)
    path(
        "taxonomies/<id:pk>/drafts/",
        taxonomy_drafts.DraftCreateApi.as_view(),
        name="api-taxonomy-draft-create",
    ),
    *[
        path(f"taxonomy-drafts/<id:pk>/{op}/", view.as_view(), name=f"api-taxonomy-draft-{op}")
        for op, view in (
            ("add", taxonomy_drafts.DraftAddApi),
            ("rename", taxonomy_drafts.DraftRenameApi),
            ("edit", taxonomy_drafts.DraftEditApi),
            ("move", taxonomy_drafts.DraftMoveApi),
            ("merge", taxonomy_drafts.DraftMergeApi),
            ("split", taxonomy_drafts.DraftSplitApi),
            ("deprecate", taxonomy_drafts.DraftDeprecateApi),
            ("diff", taxonomy_drafts.DraftDiffApi),
            ("publish", taxonomy_drafts.DraftPublishApi),
        )
    ],
    path(
        "taxonomy-versions/<id:pk>/rollback/",
        taxonomy_drafts.VersionRollbackApi.as_view(),
        name="api-taxonomy-version-rollback",
    ),
    # Review assignments (TaxonomyAdmin)
    path(
        "review-assignments/",
        assignments.AssignmentCollectionApi.as_view(),
        name="api-review-assignments",
    ),
    path(
        "review-assignments/<id:pk>/",
        assignments.AssignmentMemberApi.as_view(),
        name="api-review-assignment",
    ),
    # Rules beside the model (TaxonomyAdmin; issue 17)
    path("rules/", rules.RuleCollectionApi.as_view(), name="api-rules"),
    path("rules/<id:pk>/", rules.RuleMemberApi.as_view(), name="api-rule"),
    path("rules/<id:pk>/preview/", rules.RulePreviewApi.as_view(), name="api-rule-preview"),
    # Labels
    path("labels/", labels.LabelCollectionApi.as_view(), name="api-labels"),
    path("labels/<id:pk>/retract/", labels.LabelRetractApi.as_view(), name="api-label-retract"),
    # Overlaps and reliability (issue 16; adjudicating needs the Adjudicator role)
    path("overlaps/", overlaps.OverlapListApi.as_view(), name="api-overlaps"),
    path("overlaps/<id:pk>/", overlaps.OverlapDetailApi.as_view(), name="api-overlap"),
    path(
        "overlaps/<id:pk>/adjudicate/",
        overlaps.OverlapAdjudicateApi.as_view(),
        name="api-overlap-adjudicate",
    ),
    path(
        "reviewer-reliability/",
        reliability.ReviewerReliabilityListApi.as_view(),
        name="api-reviewer-reliability",
    ),
    path("review-quality/", review_quality.ReviewQualityApi.as_view(), name="api-review-quality"),
    # The catalog's final categories and statuses (issue 17; export_catalog's rows)
    path("catalog/", catalog.CatalogListApi.as_view(), name="api-catalog"),
    # Predictions and models
    path("predictions/", predictions.PredictionListApi.as_view(), name="api-predictions"),
    path("model-versions/", models.ModelVersionListApi.as_view(), name="api-model-versions"),
    path(
        "model-versions/<id:pk>/",
        models.ModelVersionDetailApi.as_view(),
        name="api-model-version",
    ),
    # Keep this last: any other /api/…/ path gets a JSON 404 (not Django's HTML page).
    re_path(r"^(?P<url>.+/)$", not_found.ApiNotFound.as_view(), name="api-not-found"),
]
# The root lists the endpoints above; it is given the list rather than importing this module.
urlpatterns.insert(0, path("", root.ApiRootApi.as_view(endpoints=urlpatterns), name="api-root"))
