"""Routes of the taxonomy admin pages (``taxonomy:index``, ``taxonomy:draft``, …)."""

from django.urls import path

import labeling.urls_converters  # noqa: F401 -- registers the <id:...> path converter
from labeling.views import assignments, guidelines, overlap_settings, rules
from labeling.views import taxonomy_admin as views

app_name = "taxonomy"

urlpatterns = [
    path("", views.taxonomy_index, name="index"),
    path("versions/<id:pk>/", views.version_detail, name="version"),
    path("versions/<id:pk>/rollback/", views.version_rollback, name="rollback"),
    path("<id:pk>/drafts/new/", views.draft_create, name="draft-create"),
    path("drafts/<id:pk>/", views.draft_detail, name="draft"),
    path("drafts/<id:pk>/ops/<slug:op>/", views.draft_operation, name="draft-operation"),
    path("drafts/<id:pk>/categories/", views.draft_category_search, name="draft-categories"),
    path("drafts/<id:pk>/publish/", views.draft_publish, name="draft-publish"),
    path("drafts/<id:pk>/discard/", views.draft_discard, name="draft-discard"),
    path("categories/<id:pk>/guideline/", guidelines.guideline_edit, name="guideline"),
    path("assignments/", assignments.assignment_list, name="assignments"),
    path("assignments/save/", assignments.assignment_save, name="assignment-save"),
    path("assignments/<id:pk>/remove/", assignments.assignment_remove, name="assignment-remove"),
    path("overlap/", overlap_settings.overlap_settings, name="overlap"),
    # Rules beside the model (issue 17)
    path("rules/", rules.rule_list_view, name="rules"),
    path("rules/new/", rules.rule_create_view, name="rule-create"),
    path("rules/<id:pk>/", rules.rule_edit_view, name="rule"),
    path("rules/<id:pk>/enable/", rules.rule_enable_view, name="rule-enable"),
    path("rules/<id:pk>/preview/", rules.rule_preview_view, name="rule-preview"),
    path("rules/<id:pk>/delete/", rules.rule_delete_view, name="rule-delete"),
    path("proposals/", views.proposal_list, name="proposals"),
    path("proposals/create/", views.proposal_create, name="proposal-create"),
    path("proposals/dismiss/", views.proposal_dismiss_view, name="proposal-dismiss"),
]
