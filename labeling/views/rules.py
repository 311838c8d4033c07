"""Taxonomy admins' rules (issue 17): the list of the current version's rules with their
counts (``taxonomy:rules``), a rule's form with a live preview (``taxonomy:rule-create``,
``taxonomy:rule``), switching one on or off, and deleting it. Writes go through
``labeling.services.rules``; a refused value comes back in the form with what was typed.

The form: name, action, category, reason, priority, and condition rows (kind, field, value);
an empty row is ignored (one with a value but no kind is refused), and two empty rows are
always offered. "Preview" (or any
change, through htmx) evaluates the rule as typed without saving it; "Save" stores it
switched off and keeps its preview, so the rule's page shows the figures beside "Switch on".
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labeling.models import Rule, RuleCondition
from labeling.selectors.rules import rule_get, rule_list, rule_stats
from labeling.selectors.taxonomy import current_version
from labeling.services.errors import ServiceError
from labeling.services.learning import ml
from labeling.services.rules.crud import (
    RuleInput,
    rule_clean,
    rule_create,
    rule_delete,
    rule_enable,
    rule_update,
)
from labeling.services.rules.preview import rule_preview, rule_preview_saved
from labeling.views.access import taxonomy_admin_required

LIST = "taxonomy/rules.html"
FORM = "taxonomy/rule_form.html"
NO_RULE = "Rule #{pk} does not exist."
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
SAVED = "Rule {name!r} saved, switched off. Its preview is below: switch it on when it is right."
SWITCHED = "Rule {name!r} switched {state}."
DELETED = "Rule {name!r} deleted."
EMPTY_ROWS = 2
MAX_ROWS = 20


def _rule_or_404(pk: int) -> Rule:
    rule = rule_get(pk=pk)
    if rule is None:
        raise Http404(NO_RULE.format(pk=pk))
    return rule


@require_GET
@taxonomy_admin_required
def rule_list_view(request: HttpRequest) -> HttpResponse:
    version = current_version()
    rules = list(rule_list(version=version))
    for rule in rules:
        for condition in rule.conditions.all():
            condition.shown = _shown(condition)  # type: ignore[attr-defined]
    context = {"version": version, "rules": rules, "error": "" if version else NO_CURRENT_VERSION}
    return render(request, LIST, context, status=200 if version else 404)


@require_http_methods(["GET", "POST"])
@taxonomy_admin_required
def rule_create_view(request: HttpRequest) -> HttpResponse:
    version = current_version()
    if version is None:
        return render(request, LIST, {"error": NO_CURRENT_VERSION}, status=404)
    form = _form_from_post(request) if request.method == "POST" else _blank_form()
    return _form_response(request, None, form, version)


@require_http_methods(["GET", "POST"])
@taxonomy_admin_required
def rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    form = _form_from_post(request) if request.method == "POST" else _form_of(rule)
    return _form_response(request, rule, form, rule.taxonomy_version)


def _form_response(request: HttpRequest, rule: Rule | None, form: dict, version: Any) -> Any:
    """GET: the form. POST with ``preview``: the rule as typed, evaluated, nothing saved (the
    preview partial for htmx). POST: save, keep a preview, and go to the rule's page."""
    action = reverse("taxonomy:rule", args=[rule.pk]) if rule else reverse("taxonomy:rule-create")
    context: dict[str, Any] = {"rule": rule, "form": form, "version": version, "error": ""}
    context["form_action"] = action
    status = 200
    if request.method == "POST":
        try:
            if "preview" in request.POST:
                clean = rule_clean(version=version, data=_input(form))
                context["preview"] = rule_preview(
                    rule=clean.to_engine(ml.version_tree(version)), version=version
                )
            else:
                return _save(request, rule, form, version)
        except ServiceError as error:
            context["error"], status = str(error), 400
    if request.htmx and "preview" in request.POST:
        # 200 even when refused: the live preview shows the reason in place while the admin
        # types (htmx would not swap a 400, and the page's error banner is for failures).
        return render(request, f"{FORM}#rule-preview", context)
    return render(request, FORM, _with_choices(context, rule), status=status)


def _save(request: HttpRequest, rule: Rule | None, form: dict, version: Any) -> HttpResponse:
    data = _input(form)
    if rule is None:
        rule = rule_create(version=version, data=data, author=request.user)
    else:
        rule = rule_update(rule=rule, data=data, author=request.user)
    rule_preview_saved(rule=rule)
    messages.success(request, SAVED.format(name=rule.name))
    return redirect("taxonomy:rule", pk=rule.pk)


def _with_choices(context: dict[str, Any], rule: Rule | None) -> dict[str, Any]:
    version = context["version"]
    context |= {
        "actions": Rule.Action.choices,
        "kinds": RuleCondition.Kind.choices,
        "categories": version.categories.order_by("path").values_list("path", flat=True),
    }
    if rule is not None:
        context["stats"] = rule_stats(rule=rule)
    return context


@require_POST
@taxonomy_admin_required
def rule_enable_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    enabled = request.POST.get("enabled") == "1"
    try:
        rule_enable(rule=rule, enabled=enabled, author=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        state = "on" if enabled else "off"
        messages.success(request, SWITCHED.format(name=rule.name, state=state))
    if request.POST.get("next") == "list":
        return redirect("taxonomy:rules")
    return redirect("taxonomy:rule", pk=rule.pk)


@require_POST
@taxonomy_admin_required
def rule_preview_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview the saved rule again (the catalog and the labels move on) and keep it."""
    rule = _rule_or_404(pk)
    rule_preview_saved(rule=rule)
    return redirect("taxonomy:rule", pk=rule.pk)


@require_POST
@taxonomy_admin_required
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    try:
        rule_delete(rule=rule)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("taxonomy:rule", pk=rule.pk)
    messages.success(request, DELETED.format(name=rule.name))
    return redirect("taxonomy:rules")


# -- the form as typed -----------------------------------------------------------------------


def _blank_form() -> dict[str, Any]:
    rows = [{"kind": "", "field": "", "value": ""} for _ in range(EMPTY_ROWS + 1)]
    fields = {"name": "", "action": "assign", "category": "", "reason": "", "priority": "100"}
    return fields | {"rows": rows}


def _form_of(rule: Rule) -> dict[str, Any]:
    rows = [{"kind": c.kind, "field": c.field, "value": _shown(c)} for c in rule.conditions.all()]
    return {
        "name": rule.name,
        "action": rule.action,
        "category": rule.category.path if rule.category else "",
        "reason": rule.reason,
        "priority": str(rule.priority),
        "rows": rows + [{"kind": "", "field": "", "value": ""} for _ in range(EMPTY_ROWS)],
    }


def _shown(condition: RuleCondition) -> str:
    """A stored condition's value as the form's one text box takes it back."""
    value = condition.value
    if condition.category_id:
        return condition.category.path if condition.category else ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        low, high = value.get("min"), value.get("max")
        return f"{'' if low is None else f'{low:g}'}..{'' if high is None else f'{high:g}'}"
    return "" if value is None else str(value)


def _form_from_post(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    rows = []
    for i in range(MAX_ROWS):
        row = {k: post.get(f"cond-{i}-{k}", "") for k in ("kind", "field", "value")}
        if any(row.values()) or i < EMPTY_ROWS:
            rows.append(row)
    kept = [r for r in rows if any(v.strip() for v in r.values())]
    padding = [{"kind": "", "field": "", "value": ""} for _ in range(EMPTY_ROWS)]
    fields = ("name", "action", "category", "reason", "priority")
    return {name: post.get(name, "") for name in fields} | {"rows": kept + padding}


def _input(form: dict[str, Any]) -> RuleInput:
    conditions = [
        {"kind": r["kind"], "field": r["field"], "value": r["value"], "category": None}
        for r in form["rows"]
    ]
    return RuleInput(
        name=form["name"],
        action=form["action"],
        category=form["category"] or None,
        reason=form["reason"],
        priority=form["priority"],
        conditions=conditions,
    )
