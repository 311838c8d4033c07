"""Taxonomy admin pages: versions and their trees, the draft editor, publish and rollback,
and reviewers' new-category proposals. Every page needs the TaxonomyAdmin role."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.models import Taxonomy, TaxonomyVersion
from labeling.selectors import taxonomy_admin as selectors
from labeling.services.errors import ServiceError
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.proposals import (
    proposal_category_create,
    proposal_dismiss,
    proposal_groups,
)
from labeling.services.taxonomy.publish import taxonomy_publish
from labeling.services.taxonomy.publish_mapping import draft_diff
from labeling.services.taxonomy.rollback import rollback_blockers, taxonomy_rollback
from labeling.views.access import taxonomy_admin_required
from labeling.views.params import int_list_param, int_param

INDEX = "taxonomy/index.html"
VERSION = "taxonomy/version.html"
DRAFT = "taxonomy/draft.html"
PROPOSALS = "taxonomy/proposals.html"
PROPOSALS_SHOWN = 500
PROPOSALS_DISMISSED = "Dismissed {n} proposal{s}."
UNKNOWN_OPERATION = "Unknown operation {op!r}."
PUBLISHED = (
    "v{number} is now current: {migrated} label(s) migrated, {re_review} item(s) sent to "
    "re-review; a training of the new version is requested."
)
ROLLED_BACK = (
    "v{number} is current again; {restored} item(s) point at their previous labels; "
    "{cancelled} training run(s) of v{old} cancelled."
)
# The draft editor's key inputs each send their own name to the type-ahead.
SEARCH_FIELDS = ("q", "key", "parent_key", "target")
DRAFT_STARTED = "Draft v{number} started from v{base}."
DRAFT_DISCARDED = "Draft v{number} discarded."
PROPOSAL_ADDED = "{path!r} added to draft v{number}."


@require_GET
@taxonomy_admin_required
def taxonomy_index(request: HttpRequest) -> HttpResponse:
    return render(request, INDEX, {"taxonomies": selectors.taxonomy_admin_overview()})


@require_GET
@taxonomy_admin_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(TaxonomyVersion.objects.select_related("taxonomy"), pk=pk)
    q = request.GET.get("q", "").strip()
    context = {
        "version": version,
        "q": q,
        "page": selectors.tree_page(version=version, q=q),
        "guidelines_editable": version.is_current,
        "can_rollback": version.is_current
        and version.based_on_id is not None
        and not rollback_blockers(version=version),
    }
    return render(request, f"{VERSION}#tree-table" if request.htmx else VERSION, context)


@require_POST
@taxonomy_admin_required
def draft_create(request: HttpRequest, pk: int) -> HttpResponse:
    taxonomy = get_object_or_404(Taxonomy, pk=pk)
    try:
        draft = drafts.draft_start(taxonomy=taxonomy, author=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("taxonomy:index")
    messages.success(request, DRAFT_STARTED.format(number=draft.number, base=draft.based_on.number))
    return redirect("taxonomy:draft", pk=draft.pk)


@require_GET
@taxonomy_admin_required
def draft_detail(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft_or_404(pk)
    return render(request, DRAFT, _draft_context(draft, request.GET.get("q", "")))


@require_POST
@taxonomy_admin_required
def draft_operation(request: HttpRequest, pk: int, op: str) -> HttpResponse:
    draft = _draft_or_404(pk)
    error = ""
    run = OPERATIONS.get(op)
    try:
        if run is None:
            raise ServiceError(UNKNOWN_OPERATION.format(op=op))
        run(draft, request.POST, request.user)
    except ServiceError as exc:
        error = str(exc)
    if request.htmx:
        return render(request, f"{DRAFT}#draft-panel", _draft_context(draft, "", error))
    if error:
        messages.error(request, error)
    return redirect("taxonomy:draft", pk=draft.pk)


@require_GET
@taxonomy_admin_required
def draft_category_search(request: HttpRequest, pk: int) -> HttpResponse:
    """The type-ahead of the editor's key inputs: options for the ``category-keys`` datalist."""
    draft = _draft_or_404(pk)
    q = next((request.GET[f].strip() for f in SEARCH_FIELDS if request.GET.get(f)), "")
    choices = selectors.category_suggestions(version=draft, q=q)
    return render(request, f"{DRAFT}#category-keys", {"choices": choices})


@require_POST
@taxonomy_admin_required
def draft_publish(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft_or_404(pk)
    try:
        result = taxonomy_publish(draft=draft, author=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("taxonomy:draft", pk=draft.pk)
    messages.success(
        request,
        PUBLISHED.format(number=draft.number, migrated=result.migrated, re_review=result.re_review),
    )
    return redirect("taxonomy:version", pk=draft.pk)


@require_POST
@taxonomy_admin_required
def draft_discard(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft_or_404(pk)
    try:
        drafts.draft_discard(draft=draft)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("taxonomy:draft", pk=pk)
    messages.success(request, DRAFT_DISCARDED.format(number=draft.number))
    return redirect("taxonomy:index")


@require_POST
@taxonomy_admin_required
def version_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(TaxonomyVersion, pk=pk)
    try:
        result = taxonomy_rollback(version=version, author=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("taxonomy:version", pk=pk)
    messages.success(
        request,
        ROLLED_BACK.format(
            number=result.current.number,
            restored=result.restored,
            cancelled=result.cancelled_trainings,
            old=result.version.number,
        ),
    )
    return redirect("taxonomy:version", pk=result.current.pk)


@require_GET
@taxonomy_admin_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    proposals = list(selectors.proposal_open()[:PROPOSALS_SHOWN])
    groups = proposal_groups(proposals=proposals)
    taxonomies = Taxonomy.objects.filter(versions__is_current=True).distinct()
    return render(request, PROPOSALS, {"groups": groups, "taxonomies": taxonomies})


@require_POST
@taxonomy_admin_required
def proposal_create(request: HttpRequest) -> HttpResponse:
    taxonomy = get_object_or_404(Taxonomy, pk=int_param(request.POST, "taxonomy") or 0)
    try:
        draft, category = proposal_category_create(
            taxonomy=taxonomy,
            proposal_ids=int_list_param(request.POST, "proposals"),
            name=request.POST.get("name", ""),
            parent_key=request.POST.get("parent_key") or None,
            author=request.user,
        )
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("taxonomy:proposals")
    messages.success(request, PROPOSAL_ADDED.format(path=category.path, number=draft.number))
    return redirect("taxonomy:draft", pk=draft.pk)


@require_POST
@taxonomy_admin_required
def proposal_dismiss_view(request: HttpRequest) -> HttpResponse:
    try:
        n = proposal_dismiss(
            proposal_ids=int_list_param(request.POST, "proposals"), author=request.user
        )
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, PROPOSALS_DISMISSED.format(n=n, s="" if n == 1 else "s"))
    return redirect("taxonomy:proposals")


# -- helpers ---------------------------------------------------------------------------------


def _draft_or_404(pk: int) -> TaxonomyVersion:
    return get_object_or_404(
        TaxonomyVersion.objects.select_related("taxonomy", "based_on"),
        pk=pk,
        status=TaxonomyVersion.Status.DRAFT,
    )


def _draft_context(draft: TaxonomyVersion, q: str, error: str = "") -> dict[str, Any]:
    diff = draft_diff(draft=draft)
    return {
        "draft": draft,
        "q": q,
        "error": error,
        "diff": diff,
        "diff_labels": sum(row.labels for row in diff),
        "operations": selectors.draft_operations(draft=draft),
        "page": selectors.tree_page(version=draft, q=q),
        "guidelines_editable": True,
        "choices": selectors.category_suggestions(version=draft, q=""),
    }


def _list(value: str | None) -> list[str]:
    """Names or keys typed one per line or separated by commas."""
    return [part.strip() for part in re.split(r"[,\n]", value or "") if part.strip()]


Operation = Callable[[TaxonomyVersion, Any, Any], object]

OPERATIONS: dict[str, Operation] = {
    "add": lambda d, p, u: drafts.category_add(
        draft=d,
        parent_key=p.get("parent_key") or None,
        name=p.get("name", ""),
        author=u,
        description=p.get("description", ""),
        synonyms=_list(p.get("synonyms")),
    ),
    "rename": lambda d, p, u: drafts.category_rename(
        draft=d, key=p.get("key", ""), name=p.get("name", ""), author=u
    ),
    "edit": lambda d, p, u: drafts.category_edit(
        draft=d,
        key=p.get("key", ""),
        description=p.get("description", ""),
        synonyms=_list(p.get("synonyms")),
        author=u,
    ),
    "move": lambda d, p, u: drafts.category_move(
        draft=d, key=p.get("key", ""), parent_key=p.get("parent_key") or None, author=u
    ),
    "merge": lambda d, p, u: drafts.category_merge(
        draft=d, source_keys=_list(p.get("sources")), target_key=p.get("target", ""), author=u
    ),
    "split": lambda d, p, u: drafts.category_split(
        draft=d, key=p.get("key", ""), names=_list(p.get("names")), author=u
    ),
    "deprecate": lambda d, p, u: drafts.category_deprecate(draft=d, key=p.get("key", ""), author=u),
}
