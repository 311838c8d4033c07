"""The Reviewer quality page (issue 16): agreement on overlap items and each reviewer's figures
(``labeling.selectors.review_quality``).

Taxonomy admins see the team's figures and every reviewer by name; any other reviewer sees
only their own row, their pairs (the colleague unnamed) and their speed. ``?since=`` and
``?until=`` (dates, both included) narrow it to the answers given in that window.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from labeling.roles import is_taxonomy_admin
from labeling.selectors import reports as rsel
from labeling.selectors.review_quality import review_quality, review_quality_for_reviewer
from labeling.selectors.taxonomy import current_version
from labeling.views.access import reviewer_required

TEMPLATE = "reports/quality.html"
REPORT = "quality"
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
BAD_DATE = "{field} must be a date such as 2025-03-01; it was ignored."
EMPTY_WINDOW = "“From” is after “to”: nothing can fall in that window."


def parse_window(query: QueryDict) -> tuple[date | None, date | None, list[str]]:
    """``?since=`` and ``?until=`` as dates, and a message for each one that was ignored."""
    errors: list[str] = []
    found: list[date | None] = []
    for field in ("since", "until"):
        raw = query.get(field, "").strip()
        try:
            found.append(date.fromisoformat(raw) if raw else None)
        except ValueError:
            errors.append(BAD_DATE.format(field=field))
            found.append(None)
    since, until = found
    if since and until and since > until:
        errors.append(EMPTY_WINDOW)
    return since, until, errors


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else timezone.make_aware(datetime.combine(day, time.min))


@require_GET
@reviewer_required
def quality(request: HttpRequest) -> HttpResponse:
    version = current_version()
    since, until, errors = parse_window(request.GET)
    window = {
        "start": _midnight(since),
        "end": _midnight(until + timedelta(days=1) if until else None),
    }
    admin = is_taxonomy_admin(request.user)
    if version is None:
        report = None
    elif admin:
        report = review_quality(version=version, **window)
    else:
        report = review_quality_for_reviewer(version=version, reviewer_id=request.user.pk, **window)
    context = {
        "reports": rsel.REPORTS,
        "report": REPORT,
        "version": version,
        "quality": report,
        "admin": admin,
        "since": since,
        "until": until,
        "errors": errors + ([] if version else [NO_CURRENT_VERSION]),
    }
    template = f"{TEMPLATE}#quality-report" if request.htmx else TEMPLATE
    return render(request, template, context)
