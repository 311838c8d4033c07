"""Turn an item's title, attributes and description into the one string the text encoder sees.

The output is deterministic (same item, same string, same cached embedding) and reads like a
sentence, which is what sentence-transformers models were trained on::

    Men Navy Blue Shirt. colour: Navy Blue; season: Fall. Slim fit cotton shirt with a

(the description cut at a word boundary).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = (".", "!", "?")
_TRIM_AFTER_CUT = " ,;:-"


def compose_text(
    *,
    title: str,
    description: str = "",
    attributes: Mapping[str, object] | None = None,
    attribute_keys: Sequence[str] | None = None,
    max_description_chars: int = 300,
) -> str:
    """Compose ``"<title>. <k>: <v>; <k>: <v>. <description>"`` with whitespace normalised.

    Args:
        title: the product title; comes first.
        description: free text, cut at a word boundary to at most ``max_description_chars``
            characters (0 drops it).
        attributes: item attributes; values that are None or blank are skipped, lists and
            tuples are joined with ", ".
        attribute_keys: which attributes to include, in this order; None means all of them,
            sorted by key so that the result does not depend on dict order.
        max_description_chars: see ``description``.

    Returns:
        The composed string; sections that are empty are left out.
    """
    if max_description_chars < 0:
        raise ValueError(f"max_description_chars must be >= 0, got {max_description_chars}")
    sections = [
        _normalise(title),
        _attribute_section(attributes or {}, attribute_keys),
        _truncate(_normalise(description), max_description_chars),
    ]
    return _join_sentences([s for s in sections if s])


def _normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _attribute_section(attributes: Mapping[str, object], keys: Sequence[str] | None) -> str:
    chosen = sorted(attributes) if keys is None else [k for k in keys if k in attributes]
    pairs = []
    for key in chosen:
        value = _format_value(attributes[key])
        if value:
            pairs.append(f"{_normalise(str(key))}: {value}")
    return "; ".join(pairs)


def _format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(v for v in (_format_value(item) for item in value) if v)
    return _normalise(str(value))


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    # Cutting mid-word leaves a fragment the tokenizer would split into junk pieces.
    if not text[limit].isspace() and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(_TRIM_AFTER_CUT)


def _join_sentences(sections: list[str]) -> str:
    text = ""
    for section in sections:
        if not text:
            text = section
        elif text.endswith(_SENTENCE_END):
            text = f"{text} {section}"
        else:
            text = f"{text}. {section}"
    return text
