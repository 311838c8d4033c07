"""What the review queue may hand this reviewer: their assignment (set by admins) narrowed by
their own filter (a reason and/or a subtree, remembered in the session), and the filter's
form (``review:filter``, POST, then back to the page).

The scope is read once per request (one query for the assignments; the filter's subtree is
looked up only while a filter names one). Changing the filter gives back the entries the
reviewer holds, so the next card already matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from labeling.models import QueueEntry, TaxonomyVersion
from labeling.selectors.assignments import Clause, QueueScope, queue_scope_for, resolve_keys
from labeling.selectors.category_index import CARD_INDEX_MAX_AGE, category_index_get
from labeling.selectors.taxonomy import category_in_current_version
from labeling.services.review import leases
from labeling.views.access import reviewer_required

FILTER_SESSION_KEY = "taxoloop_review_filter"
SCOPE_ATTR = "_taxoloop_review_scope"
MAX_SUBTREE_OPTIONS = 500


@dataclass(frozen=True)
class ReviewScope:
    assigned: QueueScope  # the assignment alone
    effective: QueueScope  # narrowed by the reviewer's filter
    reason: str  # the filter's reason ("": any)
    subtree: str  # the filter's subtree path ("": anywhere; the key when stale)

    @property
    def filtered(self) -> bool:
        return bool(self.reason or self.subtree)


def _filter_clause(
    stored: dict[str, str], version: TaxonomyVersion | None
) -> tuple[Clause | None, str]:
    reason, key = stored.get("reason", ""), stored.get("key", "")
    if not reason and not key:
        return None, ""
    paths: tuple[str, ...] | None = None
    label = ""
    if key:
        category = resolve_keys([key], version)[key]
        paths = (category.path,) if category else ()  # a stale subtree matches nothing
        label = category.path if category else key
    return Clause((reason,) if reason else (), paths), label


def review_scope(request: HttpRequest, version: TaxonomyVersion | None) -> ReviewScope:
    """The request's scope, computed once."""
    if not hasattr(request, SCOPE_ATTR):
        assigned = queue_scope_for(user=request.user, version=version)
        stored = request.session.get(FILTER_SESSION_KEY) or {}
        clause, label = _filter_clause(stored, version)
        scope = ReviewScope(assigned, assigned.narrowed(clause), stored.get("reason", ""), label)
        setattr(request, SCOPE_ATTR, scope)
    return getattr(request, SCOPE_ATTR)


def empty_queue_context(request: HttpRequest, scope: ReviewScope) -> dict[str, Any]:
    """Why the reviewer's queue is empty: their filter, their assignment, or nothing waits."""
    if not scope.effective.restricted:
        return {}
    user = request.user
    in_assignment = leases.waiting_count(reviewer=user, scope=scope.assigned)
    anywhere = leases.waiting_count(reviewer=user) if scope.assigned.restricted else in_assignment
    return {"waiting_in_assignment": in_assignment, "waiting_elsewhere": anywhere - in_assignment}


def filter_options(request: HttpRequest, version: TaxonomyVersion | None) -> dict[str, Any]:
    """The filter form: reasons and subtree paths within the reviewer's assignment (from the
    cached category index: no query)."""
    scope = review_scope(request, version)
    reasons, paths = list(QueueEntry.Reason.values), None
    if scope.assigned.restricted:
        clauses = scope.assigned.groups[0]
        if all(c.reasons for c in clauses):
            reasons = [r for r in reasons if any(r in c.reasons for c in clauses)]
        if all(c.paths is not None for c in clauses):
            paths = [p for c in clauses for p in c.paths or ()]
    subtrees = []
    if version is not None:
        for node in category_index_get(version, max_age=CARD_INDEX_MAX_AGE).nodes:
            if paths is None or any(_under(node.path, p) for p in paths):
                subtrees.append(node.path)
    return {
        "filter_reasons": reasons,
        "filter_subtrees": sorted(subtrees)[:MAX_SUBTREE_OPTIONS],
        "scope": scope,
    }


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + " > ")


@require_POST
@reviewer_required
def review_filter(request: HttpRequest) -> HttpResponse:
    """Set (or with ``clear``, forget) the reviewer's filter; back to the page."""
    stored: dict[str, str] = {}
    if "clear" not in request.POST:
        reason = request.POST.get("reason", "")
        stored["reason"] = reason if reason in QueueEntry.Reason.values else ""
        path = request.POST.get("subtree", "").strip()
        category = category_in_current_version(path=path) if path else None
        stored["key"] = category.key if category else ""
        if path and category is None:
            messages.error(request, f"No category “{path}” in the current taxonomy version.")
    request.session[FILTER_SESSION_KEY] = stored
    leases.review_release_all(reviewer=request.user)
    return redirect("review:queue")
