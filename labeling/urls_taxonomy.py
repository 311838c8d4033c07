"""Routes of the taxonomy admin pages (``taxonomy:index``, ``taxonomy:draft``, …)."""

from django.urls import path

from labeling.views import taxonomy_admin as views

app_name = "taxonomy"

urlpatterns = [
    path("", views.taxonomy_index, name="index"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/rollback/", views.version_rollback, name="rollback"),
    path("<int:pk>/drafts/new/", views.draft_create, name="draft-create"),
    path("drafts/<int:pk>/", views.draft_detail, name="draft"),
    path("drafts/<int:pk>/ops/<slug:op>/", views.draft_operation, name="draft-operation"),
    path("drafts/<int:pk>/categories/", views.draft_category_search, name="draft-categories"),
    path("drafts/<int:pk>/publish/", views.draft_publish, name="draft-publish"),
    path("drafts/<int:pk>/discard/", views.draft_discard, name="draft-discard"),
    path("proposals/", views.proposal_list, name="proposals"),
    path("proposals/create/", views.proposal_create, name="proposal-create"),
]
