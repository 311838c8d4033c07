"""The 400 page (``handler400`` in taxoloop/urls.py).

Django's own 400 page says only "Bad Request". A BadParameter (labeling.views.params) carries
a message naming the parameter, which is safe to show: it is ours, and the value in it is
short and escaped by the template. Other 400s (SuspiciousOperation, such as a bad Host header)
keep Django's handler, which renders the same template without a message.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults

from labeling.views.params import BadParameter

TEMPLATE = "400.html"


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not isinstance(exception, BadParameter):
        return defaults.bad_request(request, exception, template_name=TEMPLATE)
    # htmx swaps no 4xx answer by default; the fragment is for pages that opt in.
    template = f"{TEMPLATE}#bad-request" if getattr(request, "htmx", False) else TEMPLATE
    context = {"message": str(exception), "parameter": exception.name}
    return render(request, template, context, status=400)
