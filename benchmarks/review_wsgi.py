"""The review benchmark's WSGI entry: the project's application, with the URLconf (and the
views and ML modules it imports: torch alone takes about 1.5 s) loaded once in gunicorn's
master (``--preload``) instead of in each worker's first request, so the measured requests
are the steady state a server reaches after its first minute, not four one-off imports."""

from django.urls import get_resolver

from taxoloop.wsgi import application

get_resolver().url_patterns  # noqa: B018 (the property imports every view module)

__all__ = ["application"]
