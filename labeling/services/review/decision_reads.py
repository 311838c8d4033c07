"""The reads of a review decision, written out (``decisions`` uses them on every decision).

Composing these queries with the ORM (a select_related and a subquery; four annotated
subqueries and a row lock) cost more Python time than the database took to answer them:
together about a fifth of the server's time for "decide and get the next item" (issue 16).
The rows come back as model instances through ``labeling.selectors.raw_rows``, exactly as
the ORM would build them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from labeling.models import (
    Category,
    Item,
    Label,
    ModelVersion,
    Overlap,
    ReviewerReliability,
    TaxonomyVersion,
)
from labeling.selectors import raw_rows
from labeling.selectors.taxonomy import current_versions
from labeling.services.review.overlap import second_opinion_evidence


def category_with_version(pk: int) -> Category | None:
    """Category ``pk`` with its version (cached on it, as ``select_related``) and
    ``current_version_id``, the current taxonomy version's id; None when it does not exist."""
    current_sql, current_params = _current_version_sql()
    sql = (
        f"SELECT {raw_rows.columns(Category, 'c')}, {raw_rows.columns(TaxonomyVersion, 'v')},"
        f" ({current_sql}) FROM {raw_rows.table(Category)} c"
        f" JOIN {raw_rows.table(TaxonomyVersion)} v ON v.id = c.version_id WHERE c.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*current_params, pk])
        row = cursor.fetchone()
    if row is None:
        return None
    category, version = raw_rows.split_row(row[:-1], Category, TaxonomyVersion)
    raw_rows.cache_related(category, "version", version)
    category.current_version_id = row[-1]  # type: ignore[union-attr]
    return category


def _current_version_sql() -> tuple[str, tuple[Any, ...]]:
    """``current_versions()``'s first id as SQL, compiled once per process and setting."""
    preferred = settings.TAXOLOOP.get("TAXONOMY") or ""
    key = (connection.vendor, preferred)
    if key not in _CURRENT_SQL:
        _CURRENT_SQL[key] = current_versions().values("pk")[:1].query.sql_with_params()
    return _CURRENT_SQL[key]


_CURRENT_SQL: dict[tuple[str, str], tuple[str, tuple[Any, ...]]] = {}


def locked_item(
    *, item_id: int, key: str, model_version: int | None, reviewer: AbstractBaseUser
) -> Item:
    """Item ``item_id``, locked, with facts read in the same statement (one round trip
    instead of five): ``replay_id``, the label the form with idempotency ``key`` already
    wrote (a double click or a retry), ``model_id``, the shown ``model_version`` if it still
    exists, ``overlap_id``, the item's open or disputed overlap, and ``reliability``, the
    reviewer's (once their answers shared with others are evidence enough)."""
    sql = _LOCKED_ITEM_SQL.format(
        item=raw_rows.table(Item),
        label=raw_rows.table(Label),
        model=raw_rows.table(ModelVersion),
        overlap=raw_rows.table(Overlap),
        trust=raw_rows.table(ReviewerReliability),
        lock=" FOR UPDATE" if connection.features.has_select_for_update else "",
    )
    params: dict[str, Any] = {
        "key": key,
        "model": model_version,
        "live": [str(Overlap.Status.OPEN), str(Overlap.Status.DISPUTED)],
        "reviewer": reviewer.pk,
        "evidence": second_opinion_evidence(),
        "item": item_id,
    }
    if connection.vendor != "postgresql":  # no arrays: the two statuses one by one
        sql = sql.replace("= ANY(%(live)s)", "IN (%(live0)s, %(live1)s)")
        live = params.pop("live")
        params |= {"live0": live[0], "live1": live[1]}
    found = list(Item.objects.raw(sql, params))
    if not found:
        raise Item.DoesNotExist(f"Item {item_id} does not exist.")
    return found[0]


_LOCKED_ITEM_SQL = """
    SELECT i.*,
        (SELECT l.id FROM {label} l WHERE l.idempotency_key = %(key)s LIMIT 1) AS replay_id,
        (SELECT m.id FROM {model} m WHERE m.id = %(model)s LIMIT 1) AS model_id,
        (SELECT o.id FROM {overlap} o WHERE o.item_id = i.id AND o.status = ANY(%(live)s)
            LIMIT 1) AS overlap_id,
        (SELECT r.accuracy FROM {trust} r WHERE r.user_id = %(reviewer)s
            AND r.shared >= %(evidence)s LIMIT 1) AS reliability
    FROM {item} i WHERE i.id = %(item)s{lock}
"""
