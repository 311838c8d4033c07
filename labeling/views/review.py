"""The reviewer's queue page and its actions (decide, with an optional note; skip, not in
taxonomy, undo, search, tree). The candidates, search results and tree rows show their
categories' guidelines, collapsed (from the category index: no query).

Every action answers an htmx request with the fragment it replaces (``#review-card`` for the
actions, with the session's figures out of band; ``#search-results``, ``#review-tree``,
``#review-figures``, the side panel's timed refresh) and a plain request with
a redirect back to the page (POST) or the whole page (GET), so the basic accept works
without JavaScript. Per-session state (labels for undo, skipped entries, the figures) lives
in the Django session; everything durable goes through ``labeling.services.review.decisions``
(and ``leases``: who holds which entry, which items were skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from labeling.models import QueueEntry, TaxonomyVersion
from labeling.selectors import review as sel
from labeling.selectors.category_index import candidates_in_version
from labeling.selectors.category_search import category_search, category_tree_level
from labeling.selectors.hotkeys import HOTKEY_DEFAULTS, hotkeys_for
from labeling.selectors.review_reason import card_reason
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.review import decisions as svc
from labeling.services.review import leases, proposing
from labeling.views.access import reviewer_required
from labeling.views.hotkeys import review_legend
from labeling.views.params import int_param
from labeling.views.review_scope import empty_queue_context, filter_options, review_scope

TEMPLATE = "review/page.html"
SESSION_KEY = "taxoloop_review"
UNDO_DEPTH = 50
SKIP_MEMORY = 200
DECIDED_EVENT = "review-decided"
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
VERSION_ATTR = "_taxoloop_review_version"
QUEUE_SIZES_KEY = "taxoloop:review:queue-sizes"
QUEUE_SIZES_SECONDS = 5
# The side panel's queue by reason refreshes on its own this often (the session's figures
# come with every card).
QUEUE_REFRESH_SECONDS = 15


class ReviewSession:
    """This browser session's review figures, undo stack and skipped entries."""

    def __init__(self, request: HttpRequest) -> None:
        self._session = request.session
        self.data: dict[str, Any] = request.session.get(SESSION_KEY) or {
            "started": timezone.now().isoformat(),
            "labels": [],
            "skipped": [],
            "count": 0,
        }

    def _save(self) -> None:
        self._session[SESSION_KEY] = self.data

    @property
    def skipped(self) -> list[int]:
        return list(self.data["skipped"])

    def decided(self, label_id: int) -> None:
        self.data["labels"] = [*self.data["labels"], label_id][-UNDO_DEPTH:]
        self.data["count"] += 1
        self._save()

    def last_label(self) -> int | None:
        return self.data["labels"][-1] if self.data["labels"] else None

    def undone(self) -> None:
        self.data["labels"] = self.data["labels"][:-1]
        self.data["count"] = max(0, self.data["count"] - 1)
        self._save()

    def skip(self, entry_id: int) -> None:
        self.data["skipped"] = [*self.data["skipped"], entry_id][-SKIP_MEMORY:]
        self._save()

    def unskip_all(self) -> None:
        self.data["skipped"] = []
        self._save()

    def figures(self) -> dict[str, Any]:
        started = datetime.fromisoformat(self.data["started"])
        hours = max((timezone.now() - started).total_seconds(), 60.0) / 3600
        if SESSION_KEY not in self._session:
            self._save()  # the start time counts from the first visit
        return {
            "count": self.data["count"],
            "per_hour": round(self.data["count"] / hours),
            "skipped": len(self.data["skipped"]),
        }


@dataclass(frozen=True)
class LeasedCard:
    """Everything the card shows for one leased entry."""

    entry: QueueEntry
    token: str
    reason_text: str
    candidates: list[sel.CandidateRow]
    proposal_targets: list[Any]
    attributes: list[tuple[str, Any]]


def _version(request: HttpRequest, known: TaxonomyVersion | None = None) -> TaxonomyVersion | None:
    """The current taxonomy version, read once per request: a decision and the card after it
    share it. ``known``: the current version when the caller has it already."""
    if not hasattr(request, VERSION_ATTR):
        current = known or current_version()
        setattr(request, VERSION_ATTR, current)
    return getattr(request, VERSION_ATTR)


def _task(entry: QueueEntry, version: TaxonomyVersion | None) -> LeasedCard:
    """The card for ``entry``; its candidates are mapped to ``version`` and the signed token
    records them as shown."""
    prediction = getattr(entry.item, "prediction", None)
    raw = prediction.candidates if prediction is not None else []
    rows = sel.card_candidates(candidates=raw, version=version) if version else []
    shown = svc.ShownCard.of(
        entry, candidates=[{"category": r.category.pk, "p": r.p} for r in rows]
    )
    return LeasedCard(
        entry=entry,
        token=shown.sign(),
        reason_text=card_reason(entry=entry, rows=rows, version=version),
        candidates=rows,
        proposal_targets=sel.proposal_targets(rows, version) if version else [],
        attributes=sorted((entry.item.attributes or {}).items()),
    )


def _card_context(request: HttpRequest, error: str = "") -> dict[str, Any]:
    session = ReviewSession(request)
    version = _version(request)
    scope = review_scope(request, version)
    entries = leases.review_lease(reviewer=request.user, scope=scope.effective)
    following = entries[1] if len(entries) > 1 else None
    empty = empty_queue_context(request, scope) if not entries else {}
    return empty | {
        "task": _task(entries[0], version) if entries else None,
        "next_image": (
            reverse("labeling:item_image", args=[following.item.pk])
            if following and following.item.image
            else ""
        ),
        "next_item": following.item_id if following else None,
        # the empty queue says how many of the reviewer's skips wait (from any session)
        "skipped": leases.skipped_count(reviewer=request.user) if not entries else 0,
        "can_undo": session.last_label() is not None,
        "error": error,
        "version": version,
        "hotkeys": HOTKEY_DEFAULTS,
        "note_max": svc.DECISION_NOTE_MAX,
        "scope": scope,
    }


def _page_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    context = _card_context(request) | filter_options(request, _version(request))
    context["figures"] = _figures(request)
    context["queue_refresh"] = QUEUE_REFRESH_SECONDS
    # The reviewer's own keys: on the whole page only (one query), never on the card a
    # decision returns (its key hints start as the defaults and review.js puts the
    # reviewer's keys in, from the page's copy).
    context["hotkeys"] = hotkeys_for(user=request.user)
    context["legend"] = review_legend(context["hotkeys"])
    return context | extra


def _session_figures(request: HttpRequest) -> str:
    """The session's figures as an out-of-band swap (no query: they live in the session)."""
    context = {"figures": ReviewSession(request).figures(), "oob": True}
    return render_to_string(f"{TEMPLATE}#session-figures", context)


def _figures(request: HttpRequest) -> dict[str, Any]:
    """The session's figures and the queue by reason; the queue counts are shared for a few
    seconds, because every reviewer's panel refreshes after every decision and counting a
    queue of 100,000 entries per refresh would cost more than the decision itself."""
    queue = cache.get_or_set(QUEUE_SIZES_KEY, sel.queue_size_by_reason, QUEUE_SIZES_SECONDS)
    return ReviewSession(request).figures() | {"queue": queue}


def _card(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    """The next card: the fragment for htmx, otherwise back to the page (post/redirect/get).

    The fragment carries the session's figures out of band: the side panel's count moves
    with the answer itself, without a second request per decision (which cost a third of the
    server's time per decision under load; issue 16)."""
    if request.htmx:
        response = render(
            request, f"{TEMPLATE}#review-card", _card_context(request, error), status=status
        )
        response.write(_session_figures(request))
        response["HX-Trigger"] = DECIDED_EVENT
        return response
    if error:
        messages.error(request, error)
    return redirect("review:queue")


@require_GET
@reviewer_required
def queue(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        return render(request, f"{TEMPLATE}#review-card", _card_context(request))
    return render(request, TEMPLATE, _page_context(request))


@require_POST
@reviewer_required
def decide(request: HttpRequest) -> HttpResponse:
    try:
        shown = svc.ShownCard.load(request.POST.get("shown", ""))
        category = svc.category_for(request.POST.get("category"))
        current = category.version if category.version_id == category.current_version_id else None
        decision = svc.review_decide(
            reviewer=request.user,
            shown=shown,
            category=category,
            note=request.POST.get("note", ""),
            version=_version(request, current),
        )
    except ServiceError as exc:
        return _card(request, str(exc))
    _remember(request, decision)
    return _card(request)


def _remember(request: HttpRequest, decision: svc.Decision) -> None:
    if decision.created:
        ReviewSession(request).decided(decision.label.pk)
    if decision.conflict is not None and not request.htmx:
        messages.warning(request, decision.label.note)


@require_POST
@reviewer_required
def skip(request: HttpRequest) -> HttpResponse:
    try:
        shown = svc.ShownCard.load(request.POST.get("shown", ""))
    except ServiceError as exc:
        return _card(request, str(exc))
    svc.review_skip(reviewer=request.user, shown=shown)
    ReviewSession(request).skip(shown.entry)
    return _card(request)


@require_POST
@reviewer_required
def unskip(request: HttpRequest) -> HttpResponse:
    leases.review_unskip_all(reviewer=request.user)
    ReviewSession(request).unskip_all()
    return _card(request)


@require_POST
@reviewer_required
def propose(request: HttpRequest) -> HttpResponse:
    try:
        shown = svc.ShownCard.load(request.POST.get("shown", ""))
        raw = request.POST.get("category")  # empty: the reviewer vouches for no category
        vouched = svc.category_for(raw) if raw else None
        decision = proposing.review_propose(
            reviewer=request.user, shown=shown, text=request.POST.get("note", ""), vouched=vouched
        )
    except ServiceError as exc:
        return _card(request, str(exc))
    if decision.created and decision.label is not None:
        ReviewSession(request).decided(decision.label.pk)
    return _card(request)


@require_POST
@reviewer_required
def undo(request: HttpRequest) -> HttpResponse:
    session = ReviewSession(request)
    try:
        svc.review_undo(reviewer=request.user, label_id=session.last_label())
    except ServiceError as exc:
        return _card(request, str(exc))
    session.undone()
    return _card(request)


@require_GET
@reviewer_required
def search(request: HttpRequest) -> HttpResponse:
    version = _version(request)
    q = request.GET.get("q", "")
    results = (
        category_search(version=version, q=q, candidates=_candidates(request, version))
        if version
        else []
    )
    context = {"results": results, "q": q, "searched": bool(q.strip())}
    if request.htmx:
        return render(request, f"{TEMPLATE}#search-results", context)
    return render(request, TEMPLATE, _page_context(request, **context))


@require_GET
@reviewer_required
def tree(request: HttpRequest) -> HttpResponse:
    version = _version(request)
    if version is None:
        return render(request, TEMPLATE, _page_context(request, error=NO_CURRENT_VERSION))
    level = category_tree_level(
        version=version,
        node_id=int_param(request.GET, "node"),
        candidates=_candidates(request, version),
    )
    context = {"level": level, "tree_item": int_param(request.GET, "item")}
    if request.htmx:
        context["hotkeys"] = HOTKEY_DEFAULTS  # review.js puts the reviewer's keys in
        return render(request, f"{TEMPLATE}#review-tree", context)
    return render(request, TEMPLATE, _page_context(request, **context))


@require_GET
@reviewer_required
def figures(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        return render(request, f"{TEMPLATE}#review-figures", {"figures": _figures(request)})
    return render(request, TEMPLATE, _page_context(request))


def _candidates(request: HttpRequest, version: TaxonomyVersion) -> list[dict[str, Any]]:
    """The ``item`` parameter's prediction in ``version``'s categories (ranks search and tree)."""
    raw = sel.prediction_candidates(int_param(request.GET, "item"))
    return candidates_in_version(raw, version)
