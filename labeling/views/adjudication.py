"""The adjudication queue (issue 16): overlap items whose reviewers disagreed, oldest first, one
card at a time, for adjudicators (the Adjudicator group, or taxonomy admins).

The card shows every answer with its author, note and time (keys 1..k pick one), the model's
candidates and a search of the whole current taxonomy (the review page's search selector, here
behind the adjudicator's own access check); Enter decides, with an optional note (``n``). The
decision goes through ``labeling.services.review.overlap.adjudicate`` with an idempotency key
made of the overlap and a nonce the form carries, so a double submit writes one label. A
refusal (the overlap was decided meanwhile, a category of another version) comes back on the
same card with the adjudicator's choice and note kept; a decision redirects to the next card.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.models import Overlap, TaxonomyVersion
from labeling.selectors import adjudication as sel
from labeling.selectors.category_index import candidates_in_version
from labeling.selectors.category_search import category_search
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.review.decisions import (
    DECISION_NOTE_MAX,
    category_for,
    decision_note_clean,
)
from labeling.services.review.overlap import adjudicate
from labeling.views.access import adjudicator_required
from labeling.views.params import int_param

TEMPLATE = "review/adjudicate.html"
NONCE = re.compile(r"[0-9a-f]{32}")
PICK_A_CATEGORY = "Pick a category: an answer (its digit), a candidate or a search result."
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
NO_OVERLAP = "Overlap #{pk} does not exist."
DECIDED = "Overlap #{pk} decided: {path}."
KEYS = (
    ("1–9", "pick that reviewer's answer"),
    ("↑ ↓", "move between the choices"),
    ("Enter", "decide with the chosen category (in the search: mark its first result)"),
    ("n", "write a note (Ctrl+Enter there decides)"),
    ("/", "search the whole taxonomy"),
    ("Esc", "leave the note or the search"),
)


def _overlap_or_404(pk: int) -> Overlap:
    overlap = sel.adjudication_overlap_get(pk=pk)
    if overlap is None:
        raise Http404(NO_OVERLAP.format(pk=pk))
    return overlap


def _context(
    overlap: Overlap | None,
    *,
    chosen: int | None = None,
    note: str = "",
    nonce: str = "",
    error: str = "",
    **extra: Any,
) -> dict[str, Any]:
    version = current_version()
    card = None
    if overlap is not None and version is not None:
        card = sel.adjudication_card(overlap=overlap, version=version, chosen_id=chosen)
    if overlap is not None and version is None:
        error = error or NO_CURRENT_VERSION
    return {
        "card": card,
        # base.html's nav link reads it from here instead of counting again
        "disputed_count": sel.disputed_count(),
        "chosen": chosen,
        "note": note,
        "nonce": nonce or uuid.uuid4().hex,
        "error": error,
        "note_max": DECISION_NOTE_MAX,
        "keys": KEYS,
    } | extra


@require_GET
@adjudicator_required
def adjudicate_next(request: HttpRequest) -> HttpResponse:
    """The oldest disputed item, or "Nothing to adjudicate"."""
    return render(request, TEMPLATE, _context(sel.adjudication_next()))


@require_POST
@adjudicator_required
def adjudicate_decide(request: HttpRequest, pk: int) -> HttpResponse:
    overlap = _overlap_or_404(pk)
    nonce = request.POST.get("nonce", "")
    nonce = nonce if NONCE.fullmatch(nonce) else uuid.uuid4().hex
    chosen = int_param(request.POST, "category")  # a bad value is a 400 naming it
    note = request.POST.get("note", "")
    try:
        if chosen is None:
            raise ServiceError(PICK_A_CATEGORY)
        label = adjudicate(
            overlap=overlap,
            adjudicator=request.user,
            category=category_for(chosen),
            note=decision_note_clean(note),
            idempotency_key=f"adjudicate:{overlap.pk}:{nonce}",
        )
    except ServiceError as exc:
        context = _context(overlap, chosen=chosen, note=note, nonce=nonce, error=str(exc))
        return render(request, TEMPLATE, context, status=400)
    messages.success(request, DECIDED.format(pk=overlap.pk, path=label.category.path))
    return redirect("review:adjudicate")


@require_GET
@adjudicator_required
def adjudicate_search(request: HttpRequest) -> HttpResponse:
    """Categories of the current version for the card's search (``#search-results`` for htmx;
    otherwise the card of ``overlap`` with them)."""
    overlap_id = int_param(request.GET, "overlap")
    overlap = _overlap_or_404(overlap_id) if overlap_id else sel.adjudication_next()
    version = current_version()
    q = request.GET.get("q", "")
    context = {"results": _search(version, q, overlap), "q": q, "searched": bool(q.strip())}
    if request.htmx:
        return render(request, f"{TEMPLATE}#search-results", context)
    return render(request, TEMPLATE, _context(overlap, **context))


def _search(version: TaxonomyVersion | None, q: str, overlap: Overlap | None) -> list[Any]:
    """The review page's search, ranked by the item's prediction as there."""
    if version is None:
        return []
    prediction = getattr(overlap.item, "prediction", None) if overlap is not None else None
    raw = prediction.candidates if prediction is not None else []
    return category_search(version=version, q=q, candidates=candidates_in_version(raw, version))
