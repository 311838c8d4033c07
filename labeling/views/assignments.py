"""Admins' page for reviewers' assignments (``taxonomy:assignments``): which category subtrees
and queue reasons the queue may hand a reviewer or a group. Taxonomy admins only; the rules
are ``labeling.services.review.assignments`` and ``labeling.selectors.assignments``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.models import QueueEntry, ReviewAssignment
from labeling.selectors.assignments import assignable_groups, assignment_rows
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.review.assignments import (
    assignment_delete,
    assignment_set,
    categories_by_path_or_key,
)
from labeling.views.access import taxonomy_admin_required
from labeling.views.params import int_param

TEMPLATE = "taxonomy/assignments.html"


@require_GET
@taxonomy_admin_required
def assignment_list(request: HttpRequest) -> HttpResponse:
    version = current_version()
    context = {
        "rows": assignment_rows(version=version),
        "users": get_user_model().objects.filter(is_active=True).order_by("username"),
        "groups": assignable_groups(),
        "reasons": QueueEntry.Reason.values,
        "version": version,
    }
    return render(request, TEMPLATE, context)


@require_POST
@taxonomy_admin_required
def assignment_save(request: HttpRequest) -> HttpResponse:
    users, groups = get_user_model().objects.all(), assignable_groups()
    user_id, group_id = int_param(request.POST, "user"), int_param(request.POST, "group")
    version = current_version()
    try:
        assignment_set(
            user=get_object_or_404(users, pk=user_id) if user_id else None,
            group=get_object_or_404(groups, pk=group_id) if group_id else None,
            categories=categories_by_path_or_key(
                names=request.POST.get("subtrees", "").splitlines(), version=version
            ),
            reasons=request.POST.getlist("reasons"),
            version=version,
            drop_stale=bool(request.POST.get("drop_stale")),
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Assignment saved.")
    return redirect("taxonomy:assignments")


@require_POST
@taxonomy_admin_required
def assignment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    assignment_delete(assignment=get_object_or_404(ReviewAssignment, pk=pk))
    messages.success(request, "Assignment removed: unrestricted again.")
    return redirect("taxonomy:assignments")
