"""Markdown to safe HTML, for the categories' guidelines (written by taxonomy admins, read by
every reviewer on the review card).

Two maintained libraries, each closing what the other might leave open:

- markdown-it-py (CommonMark, with tables and strikethrough) with ``html`` off: raw HTML in
  the text is escaped, never passed through, and its link check refuses ``javascript:``,
  ``vbscript:``, ``file:`` and ``data:`` URLs;
- nh3 (the Rust ammonia sanitizer) then keeps only the tags Markdown makes, ``href`` and
  ``title`` on links with an http(s) or mailto URL or a path on this site, and adds
  ``rel="noopener noreferrer nofollow"`` and ``target="_blank"`` to links, so a guideline's
  link never replaces the review card it is read on. Images are dropped (a guideline would
  load them on every card of every reviewer): link to them instead.

Rendering is cached per text: the review card shows the same few guidelines again and again.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"style"}, "th": {"style"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
RENDER_CACHE_SIZE = 1024

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_parser.enable(["table", "strikethrough"])


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def markdown_html(text: str) -> SafeString:
    """``text`` (Markdown) as HTML that is safe to put in a page as it is."""
    if not text or not text.strip():
        return mark_safe("")  # noqa: S308 -- nothing to escape
    html = nh3.clean(
        _parser.render(text),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties={"text-align"},  # a table column's alignment, nothing else
    )
    return mark_safe(html)  # noqa: S308 -- sanitised just above
