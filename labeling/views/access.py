"""Access helpers for HTML views: login first, then the role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from labeling.roles import is_adjudicator, is_reviewer, is_taxonomy_admin

View = Callable[..., HttpResponse]


def _requires(check: Callable[..., bool], role_name: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not check(request.user):
                return render(request, "403.html", {"role": role_name}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


reviewer_required = _requires(is_reviewer, "Reviewer")
taxonomy_admin_required = _requires(is_taxonomy_admin, "TaxonomyAdmin")
adjudicator_required = _requires(is_adjudicator, "Adjudicator")
