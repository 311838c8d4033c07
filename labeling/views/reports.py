"""Reports with inline corrections: list reports, CSV of the page shown, confused pairs, the
ledger of one item, and the pages of the writes a report makes (one cell, a bulk selection,
undo; the writes themselves are ``labeling.services.review.corrections``).

Every category cell is a correction point (issue 7: reviewers correct what they see while
reading reports far more than they visit queues). htmx requests get the fragment they replace
(``#row-<id>`` or ``#report-table``); plain requests get the whole page or a redirect back to
it.
"""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from labeling.models import Category, Prediction, TaxonomyVersion
from labeling.roles import is_adjudicator
from labeling.selectors import report_pairs as pairs_sel
from labeling.selectors import reports as rsel
from labeling.selectors import review as review_sel
from labeling.selectors.category_search import category_search
from labeling.selectors.labels import LedgerViewer
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.review import corrections
from labeling.services.review.corrections import ITEM_UNKNOWN
from labeling.views.access import reviewer_required
from labeling.views.params import int_list_param, int_param

PAGE = "reports/report.html"
ROW = "reports/_row.html"
CORRECTED_EVENT = "report-corrected"
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
UNKNOWN_REPORT = "Unknown report {name!r}."
BAD_NUMBER = "{field} must be a number between 0 and 1; it was ignored."
BULK_DONE = "Assigned {path} to {n} item{s}."
UNDONE = "Undid {n} label{s}."
# The status filter's values and words (issue 17), in the order the select offers them.
STATUSES = {s: Prediction.Status(s).label for s in ("auto_accepted", "needs_review", "labelled")}


def _version() -> TaxonomyVersion | None:
    return current_version()


def _float(query: QueryDict, name: str, errors: list[str]) -> float | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        errors.append(BAD_NUMBER.format(field=name))
        return None
    return value


def parse_filters(report: str, query: QueryDict) -> tuple[rsel.ReportFilters, list[str]]:
    """The filters a query string asks for, and a message for each value that was ignored."""
    errors: list[str] = []
    labelled = {"yes": True, "no": False}.get(query.get("labelled", ""))
    filters = rsel.ReportFilters(
        report=report,
        node=int_param(query, "node"),
        conf_min=_float(query, "conf_min", errors),
        conf_max=_float(query, "conf_max", errors),
        labelled=labelled,
        labelled_as=int_param(query, "labelled_as"),
        disagreement=query.get("disagreement") == "1",
        changed=query.get("changed") == "1",
        status=query.get("status", "") if query.get("status") in STATUSES else "",
        sort=query.get("sort", ""),
        after=query.get("after", ""),
        size=int_param(query, "size") or rsel.PAGE_SIZE,
    )
    return filters, errors


def _query_of(filters: rsel.ReportFilters, **changes: Any) -> str:
    """The query string of ``filters`` (with changes), empty values left out."""
    values = {
        "node": filters.node,
        "conf_min": filters.conf_min,
        "conf_max": filters.conf_max,
        "labelled": {True: "yes", False: "no"}.get(filters.labelled),  # type: ignore[arg-type]
        "labelled_as": filters.labelled_as,
        "disagreement": "1" if filters.disagreement else None,
        "changed": "1" if filters.changed else None,
        "status": filters.status or None,
        "sort": filters.sort or None,
        "size": filters.size if filters.size != rsel.PAGE_SIZE else None,
    } | changes
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _check_report(report: str) -> None:
    if report not in rsel.LIST_REPORTS:
        raise Http404(UNKNOWN_REPORT.format(name=report))


def _table_context(
    request: HttpRequest,
    report: str,
    query: QueryDict,
    version: TaxonomyVersion | None,
    **extra: Any,
) -> dict[str, Any]:
    filters, errors = parse_filters(report, query)
    page = rsel.report_page(version=version, filters=filters) if version else None
    base = reverse("reports:report", args=[report])
    return {
        "report": report,
        "report_title": rsel.REPORTS[report],
        "page": page,
        "filters": filters,
        "errors": errors + ([] if version else [NO_CURRENT_VERSION]),
        "query": _query_of(filters, after=filters.after or None),
        "next_url": f"{base}?{_query_of(filters, after=page.next_cursor)}"
        if page and page.next_cursor
        else "",
        "first_url": f"{base}?{_query_of(filters)}",
        "csv_url": reverse("reports:csv", args=[report]) + "?" + query.urlencode(),
        "conf_sort_url": f"{base}?{_query_of(filters, sort=_flip(filters.order, 'confidence'))}",
        "item_sort_url": f"{base}?{_query_of(filters, sort=_flip(filters.order, 'item'))}",
    } | extra


def _flip(order: str, column: str) -> str:
    """The sort a column header links to: that column, reversed when it is the current one."""
    if order.lstrip("-") != column:
        return "-confidence" if column == "confidence" else "item"
    return column if order.startswith("-") else f"-{column}"


def _page_context(request: HttpRequest, report: str, query: QueryDict) -> dict[str, Any]:
    version = _version()
    nodes = (
        Category.objects.filter(version=version, depth__lte=2, deprecated=False).order_by("path")
        if version
        else Category.objects.none()
    )
    labelled_as_id = int_param(query, "labelled_as")  # the filter a guideline links to
    labelled_as = (
        Category.objects.filter(version=version, pk=labelled_as_id).first()
        if version and labelled_as_id is not None
        else None
    )
    return _table_context(request, report, query, version) | {
        "reports": rsel.REPORTS,
        "nodes": nodes,
        "labelled_as": labelled_as,
        "sorts": rsel.SORTS,
        "low_confidence": rsel.LOW_CONFIDENCE,
        "statuses": STATUSES,
    }


@require_GET
@reviewer_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("reports:report", report=rsel.CATALOG)


@require_GET
@reviewer_required
def report(request: HttpRequest, report: str) -> HttpResponse:
    _check_report(report)
    if request.htmx:
        context = _table_context(request, report, request.GET, _version())
        return render(request, f"{PAGE}#report-table", context)
    return render(request, PAGE, _page_context(request, report, request.GET))


@require_GET
@reviewer_required
def report_csv(request: HttpRequest, report: str) -> HttpResponse:
    """The rows of the page the same query shows, as CSV (not the whole catalog)."""
    _check_report(report)
    version = _version()
    filters, _ = parse_filters(report, request.GET)
    rows = rsel.report_page(version=version, filters=filters).rows if version else []
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="taxoloop-{report}.csv"'
    csv.writer(response).writerows(rsel.rows_for_csv(rows))
    return response


# -- one row: the picker, the correction, undo ------------------------------------------------


def _row_context(
    item_id: int, report: str, version: TaxonomyVersion | None, **extra: Any
) -> dict[str, Any]:
    row = rsel.report_row(item_id=item_id, version=version)
    if row is None:
        raise Http404(ITEM_UNKNOWN.format(pk=item_id))
    return {"row": row, "report": report} | extra


def _report_name(raw: str | None) -> str:
    return raw if raw in rsel.REPORTS else rsel.CATALOG


@require_GET
@reviewer_required
def row(request: HttpRequest, pk: int) -> HttpResponse:
    """The row of item ``pk``, with the picker open in the ``cell`` asked for (or closed)."""
    report = _report_name(request.GET.get("report"))
    cell = request.GET.get("cell", "")
    version = _version()
    picking = cell if cell in ("predicted", "label") else ""
    context = _row_context(pk, report, version, picking=picking)
    if context["picking"]:
        context["choices"] = _choices(context["row"], version)
    return render(request, ROW, context)


def _choices(row: Any, version: TaxonomyVersion | None) -> list[review_sel.CandidateRow]:
    """What the picker offers before anything is typed: the model's candidates, as categories
    of the current version (an older model's are mapped, as on the review card)."""
    if version is None:
        return []
    return review_sel.card_candidates(candidates=row.candidates or [], version=version, limit=5)


@require_GET
@reviewer_required
def search(request: HttpRequest) -> HttpResponse:
    """Picker results for ``q``: the review page's category search, ranked with the item's
    own probabilities."""
    version = _version()
    q = request.GET.get("q", "")
    item_id = int_param(request.GET, "item")
    results = (
        category_search(version=version, q=q, candidates=review_sel.prediction_candidates(item_id))
        if version
        else []
    )
    context = {"results": results, "q": q, "searched": bool(q.strip())}
    return render(request, "reports/_results.html", context)


@require_POST
@reviewer_required
def correct(request: HttpRequest) -> HttpResponse:
    report = _report_name(request.POST.get("report"))
    item_id = int_param(request.POST, "item")
    if item_id is None:
        raise Http404(ITEM_UNKNOWN.format(pk=request.POST.get("item")))
    cell = (
        request.POST.get("cell") if request.POST.get("cell") in ("predicted", "label") else "label"
    )
    version = _version()  # once: the shown prediction, the label and the row all use it
    try:
        label = corrections.correction_save(
            author=request.user,
            item_id=item_id,
            category_id=request.POST.get("category"),
            report=report,
            version=version,
        )
    except ServiceError as exc:
        return _row_error(request, item_id, report, cell, str(exc), version)
    if not request.htmx:
        messages.success(request, f"Labelled {label.item.external_id} as {label.category.path}.")
        return redirect("reports:report", report=report)
    context = _row_context(item_id, report, version, undo_label=label, saved=True)
    response = render(request, ROW, context)
    response["HX-Trigger"] = CORRECTED_EVENT
    return response


def _row_error(
    request: HttpRequest,
    item_id: int,
    report: str,
    cell: str,
    error: str,
    version: TaxonomyVersion | None,
) -> HttpResponse:
    if not request.htmx:
        messages.error(request, error)
        return redirect("reports:report", report=report)
    context = _row_context(item_id, report, version, picking=cell, error=error)
    context["choices"] = _choices(context["row"], version)
    return render(request, ROW, context)


@require_POST
@reviewer_required
def undo(request: HttpRequest) -> HttpResponse:
    """Undo one inline correction (answers with its row) or a bulk assignment (the table)."""
    report = _report_name(request.POST.get("report"))
    ids = int_list_param(request.POST, "labels")
    item_id = int_param(request.POST, "item")
    try:
        n = corrections.correction_undo(author=request.user, label_ids=ids)
    except ServiceError as exc:
        return _table_or_redirect(request, report, error=str(exc))
    if request.htmx and item_id is not None:
        response = render(request, ROW, _row_context(item_id, report, _version(), undone=True))
        response["HX-Trigger"] = CORRECTED_EVENT
        return response
    return _table_or_redirect(request, report, notice=UNDONE.format(n=n, s="" if n == 1 else "s"))


def _table_or_redirect(request: HttpRequest, report: str, **extra: Any) -> HttpResponse:
    query = QueryDict(request.POST.get("qs", ""))
    if report not in rsel.LIST_REPORTS:
        report = rsel.CATALOG
    if request.htmx:
        context = _table_context(request, report, query, _version(), **extra)
        response = render(request, f"{PAGE}#report-table", context)
        response["HX-Trigger"] = CORRECTED_EVENT
        return response
    if extra.get("error"):
        messages.error(request, extra["error"])
    elif extra.get("notice"):
        messages.success(request, extra["notice"])
    return redirect(reverse("reports:report", args=[report]) + "?" + query.urlencode())


@require_POST
@reviewer_required
def bulk(request: HttpRequest) -> HttpResponse:
    """One category for every selected row: one ``bulk`` ledger line per item, all or none."""
    report = _report_name(request.POST.get("report"))
    try:
        labels = corrections.correction_bulk_save(
            author=request.user,
            item_ids=int_list_param(request.POST, "items"),
            category_id=request.POST.get("category"),
            report=report,
            version=_version(),
        )
    except ServiceError as exc:
        return _table_or_redirect(request, report, error=str(exc))
    n = len(labels)
    notice = BULK_DONE.format(path=labels[0].category.path, n=n, s="" if n == 1 else "s")
    return _table_or_redirect(request, report, notice=notice, bulk_undo=[lab.pk for lab in labels])


# -- confused pairs and the ledger of one item ------------------------------------------------


@require_GET
@reviewer_required
def confused(request: HttpRequest) -> HttpResponse:
    version = _version()
    true_id, predicted_id = int_param(request.GET, "true"), int_param(request.GET, "predicted")
    pairs = pairs_sel.confused_pairs(version=version) if version else []
    items = (
        pairs_sel.confused_pair_items(version=version, true_id=true_id, predicted_id=predicted_id)
        if version and true_id is not None and predicted_id is not None
        else []
    )
    context = {
        "pairs": pairs,
        "items": items,
        "chosen": (true_id, predicted_id),
        "version": version,
        "reports": rsel.REPORTS,
        "report": rsel.CONFUSED,
        "errors": [] if version else [NO_CURRENT_VERSION],
    }
    if request.htmx:
        return render(request, "reports/confused.html#pair-items", context)
    return render(request, "reports/confused.html", context)


@require_GET
@reviewer_required
def item_ledger(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = LedgerViewer(request.user.pk, sees_every_answer=is_adjudicator(request.user))
    ledger = pairs_sel.item_ledger(item_id=pk, viewer=viewer)
    if ledger is None:
        raise Http404(ITEM_UNKNOWN.format(pk=pk))
    return render(request, "reports/item.html", {"ledger": ledger, "reports": rsel.REPORTS})
