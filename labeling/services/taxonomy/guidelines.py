"""Categories' guidelines for reviewers: write one, and carry them with the taxonomy.

Where a guideline lives
    On its category row (``Guideline``, at most one per category), so it is versioned with
    the taxonomy exactly as the category is:

    - a draft starts with a copy of every guideline of the version it comes from
      (``guidelines_copy``, called by ``draft_tree.categories_copy``);
    - a rename or a move changes the row's name, path or parent, never its guideline;
    - a merge appends each merged category's guideline to the target's, under a line that
      names where it came from (``guideline_absorb``): nothing an admin wrote is lost
      silently, and the admin trims the result in the draft before publishing;
    - a deprecation drops the draft category's guideline (``guideline_drop``: it takes no new
      labels, so reviewers never see it); a category that leaves the tree takes its
      guideline along (the row is deleted with it);
    - a split keeps the guideline on the split category (now an inner node); its new
      children start without one;
    - publishing makes the draft current with its guidelines, so renamed and moved
      categories show the same text; a rollback makes the previous version current again
      with the guidelines it had then.

Editing
    ``guideline_set`` writes (or, given empty text, clears) the guideline of a category of a
    draft or of the current version. A fix on the current version reaches reviewers at once
    (the review card within the category index's 10 seconds), without a publish, and the
    open draft follows: its category with the same key gets the new text too, unless the
    draft had already changed that guideline (the draft's own text then wins on publish).
    Retired versions are read only. Every change appends a ``TaxonomyOperation`` of kind
    ``guideline`` to the version it changed (key, path, old and new text, who, when): the
    guidelines' audit trail, next to the draft's other edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from labeling.models import Category, Guideline, TaxonomyOperation, TaxonomyVersion
from labeling.services.errors import ServiceError

GUIDELINE_MAX_CHARS = 10_000
GUIDELINE_TOO_LONG = (
    "The guideline is {n:,} characters long; the limit is {limit:,}. Shorten it, or link to "
    "a longer document. Nothing was saved."
)
GUIDELINE_READ_ONLY = (
    "v{number} is {status}: its guidelines are read only. Edit them in the current version "
    "or in a draft."
)
GUIDELINE_DEPRECATED = "{path!r} is deprecated: it takes no new labels, so it has no guideline."
MERGED_FROM = "**Merged from “{path}”:**"


class GuidelineError(ServiceError):
    pass


def guideline_text_clean(text: str | None) -> str:
    """The text as stored: line breaks as ``\\n`` (a browser's form sends ``\\r\\n``), no
    blank lines or spaces around it; refused past ``GUIDELINE_MAX_CHARS``."""
    cleaned = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(cleaned) > GUIDELINE_MAX_CHARS:
        raise GuidelineError(GUIDELINE_TOO_LONG.format(n=len(cleaned), limit=GUIDELINE_MAX_CHARS))
    return cleaned


@transaction.atomic
def guideline_set(
    *, category: Category, text: str | None, author: AbstractBaseUser | None
) -> Guideline | None:
    """Write ``text`` as ``category``'s guideline (empty: clear it); the guideline, or None
    when there is none now. See the module docstring for who follows the change."""
    text = guideline_text_clean(text)
    version = TaxonomyVersion.objects.get(pk=category.version_id)
    _editable_check(version, category)
    old, row = _write(category, text, author)
    if old == text:
        return row
    _record(version.pk, category, author, old_text=old, text=text)
    if version.is_current:
        _follow_in_draft(version, category, author, old=old, text=text)
    return row


def _editable_check(version: TaxonomyVersion, category: Category) -> None:
    if version.status != TaxonomyVersion.Status.DRAFT and not version.is_current:
        raise GuidelineError(
            GUIDELINE_READ_ONLY.format(number=version.number, status=version.status)
        )
    if category.deprecated:
        raise GuidelineError(GUIDELINE_DEPRECATED.format(path=category.path))


def _write(
    category: Category, text: str, author: AbstractBaseUser | None
) -> tuple[str, Guideline | None]:
    """Store ``text`` (empty: delete the row); (the text before, the row now)."""
    row = Guideline.objects.select_for_update().filter(category_id=category.pk).first()
    old = row.text if row is not None else ""
    if old == text:
        return old, row
    if not text:
        Guideline.objects.filter(category_id=category.pk).delete()
        return old, None
    row = row or Guideline(category_id=category.pk)
    row.text, row.updated_by, row.updated_at = text, author, timezone.now()
    row.save()
    return old, row


def _follow_in_draft(
    version: TaxonomyVersion,
    category: Category,
    author: AbstractBaseUser | None,
    *,
    old: str,
    text: str,
) -> None:
    """The open draft of ``version`` takes the change where it still has the text it copied."""
    twin = Category.objects.filter(
        version__based_on=version,
        version__status=TaxonomyVersion.Status.DRAFT,
        key=category.key,
        deprecated=False,
    ).first()
    if twin is None:
        return
    draft_text = Guideline.objects.filter(category_id=twin.pk).values_list("text", flat=True)
    if (draft_text.first() or "") != old:
        return  # the draft changed this guideline itself: its text wins on publish
    _write(twin, text, author)
    _record(twin.version_id, twin, author, old_text=old, text=text, via=f"v{version.number}")


def _record(
    version_id: int, category: Category, author: AbstractBaseUser | None, **payload: Any
) -> TaxonomyOperation:
    return TaxonomyOperation.objects.create(
        version_id=version_id,
        kind=TaxonomyOperation.Kind.GUIDELINE,
        payload={"key": category.key, "path": category.path, **payload},
        author=author,
    )


# -- carried with the tree (called by the draft's edits) ----------------------------------------


def guidelines_copy(*, id_map: Mapping[int, int]) -> int:
    """Copy the guidelines of the categories ``id_map`` names (old id -> new id) to their new
    rows, with their authors and times (the same text, not a new edit); the number copied."""
    rows = Guideline.objects.filter(category_id__in=list(id_map)).values_list(
        "category_id", "text", "updated_by_id", "updated_at"
    )
    copies = [
        Guideline(category_id=id_map[old], text=text, updated_by_id=by, updated_at=at)
        for old, text, by, at in rows
    ]
    Guideline.objects.bulk_create(copies, batch_size=1000)
    return len(copies)


def guideline_absorb(
    *, source: Category, target: Category, author: AbstractBaseUser | None
) -> bool:
    """Before ``source`` is merged into ``target`` (and deleted): append its guideline to the
    target's, under a line naming it; whether there was one to append."""
    text = Guideline.objects.filter(category_id=source.pk).values_list("text", flat=True).first()
    if not text:
        return False
    old = (
        Guideline.objects.filter(category_id=target.pk).values_list("text", flat=True).first() or ""
    )
    block = f"{MERGED_FROM.format(path=source.path)}\n\n{text}"
    merged = f"{old}\n\n{block}" if old else block
    _write(target, merged, author)
    _record(target.version_id, target, author, old_text=old, text=merged, merged_from=source.path)
    return True


def guideline_drop(*, category: Category, author: AbstractBaseUser | None) -> bool:
    """A deprecated draft category's guideline goes (the version it came from keeps its
    copy); whether there was one."""
    old, _ = _write(category, "", author)
    if not old:
        return False
    _record(category.version_id, category, author, old_text=old, text="", dropped="deprecated")
    return True
