"""``{% adjudication_count as n %}``: how many disputed overlap items wait for an adjudicator,
for the nav link of adjudicators (None for everyone else: no query for them).

The roles come from ``labeling.roles``, cached on the request's user (the page's own access
check has usually read them already); the count is one query on the ``overlap_status``
index, skipped when the page's context has it (``disputed_count``, the adjudication page).
"""

from __future__ import annotations

from typing import Any

from django import template

from labeling.roles import is_adjudicator
from labeling.selectors.adjudication import disputed_count

register = template.Library()


@register.simple_tag(takes_context=True)
def adjudication_count(context: template.Context) -> int | None:
    user: Any = context.get("user")
    if user is None or not is_adjudicator(user):
        return None
    known = context.get("disputed_count")
    return known if isinstance(known, int) else disputed_count()
