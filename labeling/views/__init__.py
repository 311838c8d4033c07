"""The HTML pages and their htmx fragments: parse the request, check the role (decorators in
``access``), call a selector or one service, render a template. No writes of their own: those
are in ``labeling.services``. URL patterns are in ``labeling/urls_*.py``."""
