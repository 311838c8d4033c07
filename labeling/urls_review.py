"""Routes of the reviewer's queue (``review:queue``, ``review:decide``, …), mounted at review/."""

from django.urls import path

import labeling.urls_converters  # noqa: F401 -- registers the <id:...> path converter
from labeling.views import adjudication, guidelines, hotkeys, review, review_scope

app_name = "review"

urlpatterns = [
    path("", review.queue, name="queue"),
    path("decide/", review.decide, name="decide"),
    path("skip/", review.skip, name="skip"),
    path("unskip/", review.unskip, name="unskip"),
    path("propose/", review.propose, name="propose"),
    path("undo/", review.undo, name="undo"),
    path("search/", review.search, name="search"),
    path("tree/", review.tree, name="tree"),
    path("filter/", review_scope.review_filter, name="filter"),
    path("figures/", review.figures, name="figures"),
    path("keys/", hotkeys.hotkeys, name="keys"),
    path("guidelines/<id:pk>/", guidelines.guideline_detail, name="guideline"),
    path("adjudicate/", adjudication.adjudicate_next, name="adjudicate"),
    path("adjudicate/search/", adjudication.adjudicate_search, name="adjudicate-search"),
    path("adjudicate/<id:pk>/", adjudication.adjudicate_decide, name="adjudicate-decide"),
]
