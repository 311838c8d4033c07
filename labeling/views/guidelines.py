"""Categories' guidelines: the taxonomy admins' editor (``taxonomy:guideline``: write, preview,
clear, with the guideline's history) and the reviewers' page of one guideline
(``review:guideline``, read only, linked from the review card). Writes go through
``labeling.services.taxonomy.guidelines``; the Markdown is rendered by ``labeling.markdown``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from labeling.models import Category
from labeling.selectors import guidelines as selectors
from labeling.services.errors import ServiceError
from labeling.services.taxonomy.guidelines import (
    GUIDELINE_MAX_CHARS,
    guideline_set,
    guideline_text_clean,
)
from labeling.views.access import reviewer_required, taxonomy_admin_required

EDIT = "taxonomy/guideline.html"
READ = "review/guideline.html"
NO_CATEGORY = "Category #{pk} does not exist."
SAVED = "The guideline of {path!r} is saved; reviewers see it on their next card."
CLEARED = "The guideline of {path!r} is cleared."
UNCHANGED = "Nothing changed."


def _category_or_404(pk: int) -> Category:
    category = selectors.guideline_category_get(pk=pk)
    if category is None:
        raise Http404(NO_CATEGORY.format(pk=pk))
    return category


@require_http_methods(["GET", "POST"])
@taxonomy_admin_required
def guideline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the editor. POST with ``preview``: the text rendered, nothing saved. POST: save
    it (empty text clears); a refusal (too long, a retired version) comes back in the form
    with the text as typed."""
    category = _category_or_404(pk)
    guideline = selectors.guideline_get(category_id=pk)
    context: dict[str, Any] = {"text": guideline.text if guideline else "", "error": ""}
    if request.method == "POST":
        context["text"] = request.POST.get("text", "")
        if "preview" in request.POST:
            context |= _preview(context["text"])
        else:
            try:
                saved = guideline_set(category=category, text=context["text"], author=request.user)
            except ServiceError as error:
                context["error"] = str(error)
            else:
                return _saved(request, category, before=guideline, after=saved)
    context |= _editor_context(category, guideline)
    template = f"{EDIT}#guideline-editor" if request.htmx else EDIT
    return render(request, template, context)


def _preview(text: str) -> dict[str, Any]:
    try:
        return {"preview": guideline_text_clean(text)}
    except ServiceError as error:
        return {"error": str(error)}


def _saved(request: HttpRequest, category: Category, *, before: Any, after: Any) -> HttpResponse:
    """Post/redirect/get with the outcome as a message; htmx gets the editor with it."""
    if (before.text if before else "") == (after.text if after else ""):
        notice = UNCHANGED
    else:
        notice = (SAVED if after is not None else CLEARED).format(path=category.path)
    if request.htmx:
        context = {"text": after.text if after else "", "error": "", "notice": notice}
        context |= _editor_context(category, after)
        return render(request, f"{EDIT}#guideline-editor", context)
    messages.success(request, notice)
    return redirect("taxonomy:guideline", pk=category.pk)


def _editor_context(category: Category, guideline: Any) -> dict[str, Any]:
    return {
        "category": category,
        "guideline": guideline,
        "editable": selectors.guideline_editable(category=category),
        "history": selectors.guideline_history(category=category),
        "max_chars": f"{GUIDELINE_MAX_CHARS:,}",
    }


@require_GET
@reviewer_required
def guideline_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One category's guideline for reviewers, with the link to items labelled there."""
    category = _category_or_404(pk)
    context = {
        "category": category,
        "guideline": selectors.guideline_get(category_id=pk),
        "examples": category.version.is_current,
    }
    return render(request, READ, context)
