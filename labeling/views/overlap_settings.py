"""Taxonomy admins' overlap settings of the current taxonomy version (``taxonomy:overlap``,
issue 16): the share of the queue answered blind by several reviewers, how many, and the
depth at which their answers must agree (empty: the leaf). Writes go through
``labeling.services.review.overlap.overlap_settings_update``; a refused value comes back next
to the form with what was typed, nothing saved.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from labeling.models import TaxonomyVersion
from labeling.selectors.adjudication import version_max_depth
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.review.overlap import overlap_settings_update
from labeling.views.access import taxonomy_admin_required

TEMPLATE = "taxonomy/overlap.html"
FIELDS = ("share", "reviewers", "depth")
SAVED = "Overlap settings of {version} saved."
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
TOO_DEEP = (
    "The adjudication depth must be at most {deepest}, the deepest level of {version}; "
    "got {value!r}."
)


class DepthError(ServiceError):
    pass


def _initial(version: TaxonomyVersion) -> dict[str, str]:
    depth = version.adjudication_depth
    return {
        "share": f"{version.overlap_share:g}",
        "reviewers": str(version.overlap_reviewers),
        "depth": "" if depth is None else str(depth),
    }


def _check_depth(value: str, deepest: int, version: TaxonomyVersion) -> None:
    """The service knows no tree: past the deepest level no two answers could ever agree."""
    if re.fullmatch(r"[0-9]{1,9}", value) and int(value) > deepest:
        raise DepthError(TOO_DEEP.format(deepest=deepest, version=version, value=value))


@require_http_methods(["GET", "POST"])
@taxonomy_admin_required
def overlap_settings(request: HttpRequest) -> HttpResponse:
    version = current_version()
    if version is None:
        return render(request, TEMPLATE, {"error": NO_CURRENT_VERSION}, status=404)
    deepest = version_max_depth(version=version)
    context: dict[str, Any] = {"version": version, "deepest": deepest, "error": ""}
    context["form"] = _initial(version)
    if request.method == "POST":
        form = {name: request.POST.get(name, "").strip() for name in FIELDS}
        try:
            _check_depth(form["depth"], deepest, version)
            overlap_settings_update(
                version=version,
                share=form["share"],
                reviewers=form["reviewers"],
                depth=form["depth"],
            )
        except ServiceError as exc:
            context |= {"form": form, "error": str(exc)}
            return render(request, TEMPLATE, context, status=400)
        messages.success(request, SAVED.format(version=version))
        return redirect("taxonomy:overlap")
    return render(request, TEMPLATE, context)
