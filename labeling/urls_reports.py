"""Routes of the reports (``reports:report``, ``reports:correct``, …), mounted at reports/,
and of the dashboard (``dashboard:index``), mounted at dashboard/."""

from django.urls import path

import labeling.urls_converters  # noqa: F401 -- registers the <id:...> path converter
from labeling.views import dashboard, reports, review_quality

app_name = "reports"

urlpatterns = [
    path("", reports.index, name="index"),
    path("confused/", reports.confused, name="confused"),
    path("quality/", review_quality.quality, name="quality"),
    path("items/<id:pk>/", reports.item_ledger, name="item"),
    path("rows/<id:pk>/", reports.row, name="row"),
    path("search/", reports.search, name="search"),
    path("correct/", reports.correct, name="correct"),
    path("bulk/", reports.bulk, name="bulk"),
    path("undo/", reports.undo, name="undo"),
    path("<slug:report>/", reports.report, name="report"),
    path("<slug:report>/csv/", reports.report_csv, name="csv"),
]

dashboard_patterns = (
    [
        path("", dashboard.index, name="index"),
    ],
    "dashboard",
)
