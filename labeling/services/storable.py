"""Text that no database column can hold, found before a write fails half-way."""

from __future__ import annotations


def unstorable(text: str) -> str:
    """What in ``text`` no database column can hold ('' when nothing): PostgreSQL refuses NUL
    in text and jsonb, and a lone surrogate (from a JSON escape like \\ud800) is not UTF-8."""
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (not valid Unicode)"
    return ""
