from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.selectors.overview import overview_counts
from labeling.views.access import reviewer_required


@require_GET
@reviewer_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "labeling/home.html", {"counts": overview_counts()})
