"""The review page's keys: the legend it shows (every key, the reviewer's own where they chose
one) and the page where a reviewer changes theirs (``review:keys``).

``static/js/review.js`` reads the same keys from the review page (``json_script``), so what
the legend says is what the keys do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from labeling.selectors.hotkeys import HOTKEY_ACTIONS, hotkeys_for
from labeling.services.review.hotkeys import HotkeyError, hotkeys_reset, hotkeys_update
from labeling.views.access import reviewer_required

TEMPLATE = "review/hotkeys.html"
SAVED = "Your keys are saved; the review page uses them from its next load."
RESET = "Your keys are back to the defaults."
NOT_SAVED = "Nothing was saved: fix the keys marked below."


def review_legend(keys: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every key of the review page with what it does, in the order a reviewer meets them."""
    what = {action.name: action.description for action in HOTKEY_ACTIONS}

    def own(name: str) -> tuple[str, str]:
        return (keys.get(name) or "(none)", what[name])

    return [
        ("1–9", "pick that candidate"),
        ("Enter", "accept the top candidate (in the tree: open the row, or choose its leaf)"),
        own("search"),
        ("↑ ↓", "move in the search results or the tree"),
        own("tree"),
        ("→ ←", "in the tree: open an inner node, go up a level"),
        ("Home End", "in the tree: first, last row"),
        own("skip"),
        own("note"),
        own("comment"),
        ("Ctrl+Enter", "in the note on a decision: accept the top candidate with it"),
        own("guides"),
        own("undo"),
        own("zoom"),
        ("Esc", "close search, tree, proposal or this list; leave a decision's note (kept)"),
        own("help"),
        ("r", "send a failed request again"),
    ]


def _rows(keys: Mapping[str, str], errors: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"action": a, "key": keys.get(a.name, ""), "error": errors.get(a.name, "")}
        for a in HOTKEY_ACTIONS
    ]


@require_http_methods(["GET", "POST"])
@reviewer_required
def hotkeys(request: HttpRequest) -> HttpResponse:
    """GET: the form with the reviewer's keys. POST: save them (or ``reset`` to the defaults);
    refused keys come back in the form, each with its message (a 200, as htmx swaps it)."""
    keys, errors = hotkeys_for(user=request.user), {}
    if request.method == "POST":
        if "reset" in request.POST:
            hotkeys_reset(user=request.user)
            return _saved(request, RESET)
        keys = {a.name: request.POST.get(a.name, "").strip() for a in HOTKEY_ACTIONS}
        try:
            hotkeys_update(user=request.user, keys=keys)
        except HotkeyError as exc:
            errors = exc.errors
        else:
            return _saved(request, SAVED)
    context = {"rows": _rows(keys, errors), "errors": errors, "not_saved": NOT_SAVED}
    template = f"{TEMPLATE}#hotkey-form" if request.htmx else TEMPLATE
    return render(request, template, context)


def _saved(request: HttpRequest, message: str) -> HttpResponse:
    messages.success(request, message)
    if request.htmx:
        keys = hotkeys_for(user=request.user)
        return render(request, f"{TEMPLATE}#hotkey-form", {"rows": _rows(keys, {})})
    return redirect("review:keys")
