"""``{{ text|guideline_html }}``: a category's guideline (Markdown) as safe HTML
(``labeling.markdown``: raw HTML escaped, unsafe links dropped, output sanitised)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from labeling.markdown import markdown_html

register = template.Library()


@register.filter
def guideline_html(text: str | None) -> SafeString:
    return markdown_html(text or "")
