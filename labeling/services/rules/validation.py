"""What a rule may say, checked before it is saved or previewed, with messages an admin can act
on. ``condition_clean`` turns one condition as typed (a form row or an API object) into the
stored form; ``category_resolve`` finds a category of the rule's version by id, path or key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import regex

from classifier.rules import TEXT_FIELDS
from classifier.rules.text import Pattern, tokens
from labeling.models import Category, RuleCondition, TaxonomyVersion
from labeling.services.errors import ServiceError

Kind = RuleCondition.Kind
TEXT_KINDS = (Kind.WORDS, Kind.PHRASE, Kind.REGEX)
ATTRIBUTE_KINDS = (Kind.ATTRIBUTE_EQUALS, Kind.ATTRIBUTE_IN, Kind.ATTRIBUTE_RANGE)
CATEGORY_KINDS = (Kind.PREDICTED_IS, Kind.PREDICTED_UNDER)
CONFIDENCE_KINDS = (Kind.CONFIDENCE_BELOW, Kind.CONFIDENCE_ABOVE)
MAX_WORDS = 50
MAX_VALUES = 100
MAX_TEXT = 500
PROBE_TIMEOUT = 0.02  # seconds a pattern may take on one probe text before it is refused

UNKNOWN_KIND = "Condition {n}: unknown kind {kind!r}; one of {kinds}."
NO_KIND = "Condition {n}: it has a field or a value but no kind: choose what it tests."
BAD_FIELD = "Condition {n}: {kind} reads the title, the description or text (both), not {field!r}."
NO_ATTRIBUTE = "Condition {n}: name the attribute ({kind})."
NO_WORDS = "Condition {n}: give at least one word."
TOO_MANY = "Condition {n}: at most {max} values, got {count}."
NOT_ONE_WORD = (
    "Condition {n}: {word!r} is not one word (letters, digits and _ only); write it as a "
    "phrase condition instead."
)
NO_TEXT = "Condition {n}: {kind} needs a text (at most {max} characters)."
NO_PHRASE_WORDS = "Condition {n}: the phrase {phrase!r} has no words."
BAD_PATTERN = "Condition {n}: {pattern!r} is not a valid regular expression: {error}."
EMPTY_PATTERN = (
    "Condition {n}: the pattern {pattern!r} matches an empty text, so it would hit every item; "
    "make it require at least one character."
)
SLOW_PATTERN = (
    "Condition {n}: the pattern {pattern!r} took more than {ms} ms on a short test text "
    "(catastrophic backtracking, e.g. nested repeats like (a+)+); simplify it."
)
BAD_VALUE = "Condition {n}: {kind} needs a text, a number or true/false, got {value!r}."
BAD_RANGE = (
    "Condition {n}: a range needs a lowest and/or a highest number, lowest first "
    "(e.g. 10..20, ..20 or 10..), got {value!r}."
)
BAD_CONFIDENCE = "Condition {n}: a confidence is a number between 0 and 1, got {value!r}."
NO_CATEGORY = "No category {ref!r} in {version} (give its id, its path or its key)."
CATEGORY_NEEDED = "Condition {n}: {kind} needs a category of {version}."


class RuleError(ServiceError):
    pass


@dataclass(frozen=True)
class CleanCondition:
    """A condition as stored: ``RuleCondition`` fields."""

    kind: str
    field: str = ""
    value: Any = None
    category: Category | None = None


def category_resolve(version: TaxonomyVersion, ref: Any) -> Category:
    """A category of ``version`` by id, path or key; ``RuleError`` when there is none."""
    if isinstance(ref, Category) and ref.version_id == version.pk:
        return ref
    categories = Category.objects.filter(version=version)
    text = str(ref.pk if isinstance(ref, Category) else ref).strip()
    found = None
    if re.fullmatch(r"[0-9]{1,18}", text):
        found = categories.filter(pk=int(text)).first()
    found = found or categories.filter(path=text).first() or categories.filter(key=text).first()
    if found is None:
        raise RuleError(NO_CATEGORY.format(ref=text, version=version))
    return found


def condition_clean(n: int, raw: Mapping[str, Any], version: TaxonomyVersion) -> CleanCondition:
    """Condition number ``n`` (from 1) of a rule, as typed, in its stored form."""
    kind = str(raw.get("kind") or "").strip()
    if not kind:
        raise RuleError(NO_KIND.format(n=n))
    if kind not in Kind.values:
        raise RuleError(UNKNOWN_KIND.format(n=n, kind=kind, kinds=", ".join(Kind.values)))
    value = raw.get("value")
    if kind in TEXT_KINDS:
        field = str(raw.get("field") or "title").strip()
        if field not in TEXT_FIELDS:
            raise RuleError(BAD_FIELD.format(n=n, kind=kind, field=field))
        return CleanCondition(kind, field, _text_value(n, kind, value))
    if kind in ATTRIBUTE_KINDS:
        field = str(raw.get("field") or "").strip()[:100]
        if not field:
            raise RuleError(NO_ATTRIBUTE.format(n=n, kind=kind))
        return CleanCondition(kind, field, _attribute_value(n, kind, value))
    if kind in CATEGORY_KINDS:
        ref = raw.get("category") if raw.get("category") not in (None, "") else value
        if ref in (None, ""):
            raise RuleError(CATEGORY_NEEDED.format(n=n, kind=kind, version=version))
        return CleanCondition(kind, category=category_resolve(version, ref))
    return CleanCondition(kind, value=_confidence(n, value))


def _text_value(n: int, kind: str, value: Any) -> Any:
    if kind == Kind.WORDS:
        return _words(n, value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise RuleError(NO_TEXT.format(n=n, kind=kind, max=MAX_TEXT))
    if kind == Kind.PHRASE:
        if not tokens(value):
            raise RuleError(NO_PHRASE_WORDS.format(n=n, phrase=value))
        return value.strip()
    return _pattern(n, value)


def _listed(value: Any) -> list[Any]:
    """A list as typed: a JSON list, or text split at commas and line breaks."""
    if isinstance(value, list | tuple):
        return [v.strip() if isinstance(v, str) else v for v in value]
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,\n]", value)]
    return [value]


def _words(n: int, value: Any) -> list[str]:
    words = [w for w in _listed(value) if w not in (None, "")]
    if not words:
        raise RuleError(NO_WORDS.format(n=n))
    if len(words) > MAX_WORDS:
        raise RuleError(TOO_MANY.format(n=n, max=MAX_WORDS, count=len(words)))
    for word in words:
        if not isinstance(word, str) or len(tokens(word)) != 1 or len(word) > 100:
            raise RuleError(NOT_ONE_WORD.format(n=n, word=word))
    return list(dict.fromkeys(words))


def _pattern(n: int, source: str) -> str:
    try:
        pattern = Pattern.compile(source)
    except (regex.error, OverflowError, RecursionError, ValueError) as error:
        raise RuleError(BAD_PATTERN.format(n=n, pattern=source, error=error)) from error
    try:
        if pattern.compiled.search("", timeout=PROBE_TIMEOUT) is not None:
            raise RuleError(EMPTY_PATTERN.format(n=n, pattern=source))
        for probe in _probes(source):
            pattern.compiled.search(probe, timeout=PROBE_TIMEOUT)
    except TimeoutError as error:
        ms = round(PROBE_TIMEOUT * 1000)
        raise RuleError(SLOW_PATTERN.format(n=n, pattern=source, ms=ms)) from error
    return source


def _probes(source: str) -> list[str]:
    """Texts that make nested repeats backtrack: a run of one of the pattern's own
    characters (or a space) ended by one that breaks the match."""
    chars = list(dict.fromkeys(c for c in source if c.isalnum()))[:10] + [" "]
    return [c * 40 + end for c in chars for end in ("!", "\n")]


def _attribute_value(n: int, kind: str, value: Any) -> Any:
    if kind == Kind.ATTRIBUTE_RANGE:
        return _range(n, value)
    values = _listed(value) if kind == Kind.ATTRIBUTE_IN else [value]
    values = [v for v in values if v not in (None, "")]
    if not values:
        raise RuleError(BAD_VALUE.format(n=n, kind=kind, value=value))
    if len(values) > MAX_VALUES:
        raise RuleError(TOO_MANY.format(n=n, max=MAX_VALUES, count=len(values)))
    for v in values:
        if not isinstance(v, str | int | float | bool) or (isinstance(v, str) and len(v) > 200):
            raise RuleError(BAD_VALUE.format(n=n, kind=kind, value=v))
        if isinstance(v, float) and not math.isfinite(v):
            raise RuleError(BAD_VALUE.format(n=n, kind=kind, value=v))
    return values if kind == Kind.ATTRIBUTE_IN else values[0]


def _range(n: int, typed: Any) -> dict[str, float | None]:
    value = typed
    if isinstance(value, str):
        parts = value.split("..")
        value = {"min": parts[0], "max": parts[1]} if len(parts) == 2 else None
    if not isinstance(value, Mapping):
        raise RuleError(BAD_RANGE.format(n=n, value=typed))
    try:
        low, high = (_number(value.get(k)) for k in ("min", "max"))
    except (TypeError, ValueError) as error:
        raise RuleError(BAD_RANGE.format(n=n, value=typed)) from error
    if (low is None and high is None) or (low is not None and high is not None and low > high):
        raise RuleError(BAD_RANGE.format(n=n, value=typed))
    return {"min": low, "max": high}


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _confidence(n: int, value: Any) -> float:
    try:
        number = _number(value)
    except (TypeError, ValueError) as error:
        raise RuleError(BAD_CONFIDENCE.format(n=n, value=value)) from error
    if number is None or not 0 <= number <= 1:
        raise RuleError(BAD_CONFIDENCE.format(n=n, value=value))
    return number
