"""Taxonomy admins' review and auto-accept settings of the current taxonomy version
(``taxonomy:overlap``, issue 16): the share of the queue answered blind by several reviewers,
how many, and the depth at which their answers must agree (empty: the leaf); and (issue 17) the
target precision of auto-accept (empty: off). Writes go through
``labeling.services.review.overlap.overlap_settings_update`` and
``labeling.services.learning.auto_accept_settings.target_precision_update`` in one
transaction; a refused value comes back next to the form with what was typed, nothing saved.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from labeling.models import TaxonomyVersion
from labeling.selectors.adjudication import version_max_depth
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.learning.auto_accept_settings import target_precision_update
from labeling.services.review.overlap import overlap_settings_update
from labeling.views.access import taxonomy_admin_required

TEMPLATE = "taxonomy/overlap.html"
FIELDS = ("share", "reviewers", "depth", "target")
SAVED = "Overlap settings of {version} saved."
TARGET_SAVED = (
    "Target precision of {version}: {target}. It takes effect at the next rescore (after the "
    "next model is promoted, or manage.py rescore), when the policy is certified again."
)
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
        "target": "" if version.target_precision is None else f"{version.target_precision:g}",
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
        before = version.target_precision
        try:
            _save(request, version, form, deepest)
        except ServiceError as exc:
            version.refresh_from_db()  # nothing was saved: the page shows what is stored
            context |= {"form": form, "error": str(exc)}
            return render(request, TEMPLATE, context, status=400)
        messages.success(request, SAVED.format(version=version))
        if version.target_precision != before:
            target = "off" if version.target_precision is None else version.target_precision
            messages.success(request, TARGET_SAVED.format(version=version, target=target))
        return redirect("taxonomy:overlap")
    return render(request, TEMPLATE, context)


@transaction.atomic
def _save(
    request: HttpRequest, version: TaxonomyVersion, form: dict[str, str], deepest: int
) -> None:
    """Both settings or neither. A form without the target field (an older page, a script)
    leaves the target as it is: an empty one means off."""
    _check_depth(form["depth"], deepest, version)
    overlap_settings_update(
        version=version, share=form["share"], reviewers=form["reviewers"], depth=form["depth"]
    )
    if "target" in request.POST:
        target_precision_update(version=version, target=form["target"])
