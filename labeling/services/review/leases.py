"""The review queue: who holds which entry (leases), and which items a reviewer skipped.

``review_lease`` gives a reviewer the entries they hold (at most ``count``: the one on screen
and the prefetched next one), topping up from the pool in priority order. On PostgreSQL the
candidates are read with ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent reviewers walk past
each other's rows instead of queueing on them, inside one UPDATE that also counts what the
reviewer already holds; every lease is taken with a conditional UPDATE (compare-and-set on
"still free"), which alone keeps SQLite safe too. A lease lasts
``TAXOLOOP["QUEUE_LEASE_SECONDS"]`` and is renewed while the reviewer keeps working; an
expired lease returns the entry to the pool (``queue_release_expired_leases``, on beat).

Items a reviewer skipped (``decisions.review_skip`` writes a ``ReviewSkip``) are not handed
to them again for ``SKIP_REMEMBER_HOURS``; an overlap item they answered is not handed to
them again while its overlap is open (``labeling.services.review.overlap``): at most once
each, and blind to the other answers, which are not on the card.

A ``scope`` (``labeling.selectors.assignments.QueueScope``: the reviewer's assignment and
their own filter) narrows both what they hold and what they take, inside the same statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from labeling.models import Item, Overlap, OverlapAnswer, Prediction, QueueEntry, ReviewSkip
from labeling.selectors import raw_rows
from labeling.selectors.assignments import UNRESTRICTED, QueueScope

# A skipped item is not handed to the same reviewer again for this long (a week).
DEFAULT_SKIP_REMEMBER_HOURS = 7 * 24


@transaction.atomic
def queue_release_expired_leases() -> int:
    """Return entries whose lease has run out to the pool; the number released."""
    return QueueEntry.objects.filter(lease_expires_at__lt=timezone.now()).update(
        lease_holder=None, lease_expires_at=None
    )


# -- leases ------------------------------------------------------------------------------------


def lease_seconds() -> int:
    """How long a lease lasts (``TAXOLOOP["QUEUE_LEASE_SECONDS"]``)."""
    return int(settings.TAXOLOOP.get("QUEUE_LEASE_SECONDS", 600))


def review_lease(
    *, reviewer: AbstractBaseUser, count: int = 2, scope: QueueScope = UNRESTRICTED
) -> list[QueueEntry]:
    """The entries ``reviewer`` holds, topped up to ``count`` from the pool.

    Ordered highest priority first: the first is the one to show, the rest are prefetched.
    Items the reviewer skipped within ``SKIP_REMEMBER_HOURS`` are left out (they stay in the
    pool for everyone else), whichever session or login skipped them; so are entries outside
    ``scope`` (see ``labeling.selectors.assignments``).
    A lease with less than half its time left is renewed: the reviewer is still working.
    The hot path of the page: on PostgreSQL two statements, each atomic on its own, so no
    transaction round trips either: the top-up, which answers the ids held, and the read of
    those rows by primary key.
    """
    now = timezone.now()
    expires = now + timedelta(seconds=lease_seconds())
    if connection.vendor == "postgresql":
        held = _by_ids(_top_up(reviewer, count, now, expires, scope))
    else:
        held = _held(reviewer, count, now, scope)
        if len(held) < count:
            _take_free(reviewer, count - len(held), [e.pk for e in held], now, expires, scope)
            held = _held(reviewer, count, now, scope)
    stale = [
        e.pk for e in held if e.lease_expires_at - now < timedelta(seconds=lease_seconds() / 2)
    ]
    if stale:
        QueueEntry.objects.filter(pk__in=stale, lease_holder=reviewer).update(
            lease_expires_at=expires
        )
    return held


def _held(reviewer: AbstractBaseUser, count: int, now: Any, scope: QueueScope) -> list[QueueEntry]:
    held = QueueEntry.objects.filter(scope.q(), lease_holder=reviewer, lease_expires_at__gt=now)
    return list(  # not the model version: only its id is needed, and its metrics can be large
        held.exclude(item__in=_skipped_items(reviewer, now))
        .exclude(item__in=_answered_items(reviewer))
        .select_related("item", "item__prediction")
        .order_by("-priority", "id")[:count]
    )


_BY_IDS_SQL = """
    SELECT {entry_cols}, {item_cols}, {prediction_cols}
    FROM {entry} e JOIN {item} i ON i.id = e.item_id LEFT JOIN {prediction} p ON p.item_id = i.id
    WHERE e.id = ANY(%s)
"""


def _by_ids(ids: Sequence[int]) -> list[QueueEntry]:
    """PostgreSQL: the entries ``ids``, in that order, with their items and predictions (as
    ``select_related("item", "item__prediction")``, written out: see ``raw_rows``)."""
    if not ids:
        return []
    sql = _BY_IDS_SQL.format(
        entry_cols=raw_rows.columns(QueueEntry, "e"),
        item_cols=raw_rows.columns(Item, "i"),
        prediction_cols=raw_rows.columns(Prediction, "p"),
        entry=raw_rows.table(QueueEntry),
        item=raw_rows.table(Item),
        prediction=raw_rows.table(Prediction),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(ids)])
        rows = cursor.fetchall()
    by_pk = {}
    for row in rows:
        entry, item, prediction = raw_rows.split_row(row, QueueEntry, Item, Prediction)
        raw_rows.cache_related(item, "prediction", prediction)
        raw_rows.cache_related(entry, "item", item)
        by_pk[entry.pk] = entry  # type: ignore[union-attr]
    return [by_pk[pk] for pk in ids if pk in by_pk]  # type: ignore[misc]


def _free(now: Any) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)


# Raw SQL because the ORM can neither compute LIMIT in the database nor lock a subquery
# without an explicit transaction (two more round trips). ``= ANY(ARRAY(…))`` makes the pick
# an init plan, so the outer UPDATE finds its rows by primary key instead of scanning. The
# statement answers what the reviewer holds afterwards: the rows it took (RETURNING) and the
# ones they held before (the outer SELECT reads the snapshot before the UPDATE, where a row
# just taken was free, so no row comes twice), highest priority first.
_TOP_UP_SQL = """
    WITH taken AS (
        UPDATE {table} SET lease_holder_id = %(reviewer)s, lease_expires_at = %(expires)s
        WHERE id = ANY(ARRAY(
            SELECT id FROM {table}
            WHERE (lease_expires_at IS NULL OR lease_expires_at <= %(now)s)
                AND item_id NOT IN ({skipped}) AND {scope}
            ORDER BY priority DESC, id
            LIMIT GREATEST(0, %(count)s - (
                SELECT count(*) FROM {table}
                WHERE lease_holder_id = %(reviewer)s AND lease_expires_at > %(now)s
                    AND item_id NOT IN ({skipped}) AND {scope}
            ))
            FOR UPDATE SKIP LOCKED
        )) AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s)
        RETURNING id, priority
    )
    SELECT id FROM (
        SELECT id, priority FROM taken
        UNION ALL
        SELECT id, priority FROM {table}
        WHERE lease_holder_id = %(reviewer)s AND lease_expires_at > %(now)s
            AND item_id NOT IN ({skipped}) AND {scope}
    ) AS held
    ORDER BY priority DESC, id
    LIMIT %(count)s
"""


def _top_up(
    reviewer: AbstractBaseUser, count: int, now: Any, expires: Any, scope: QueueScope
) -> list[int]:
    """PostgreSQL: lease free entries until ``reviewer`` holds ``count``, in one statement.

    ``SELECT … FOR UPDATE SKIP LOCKED`` lets concurrent reviewers walk past each other's rows
    instead of queueing on them; the outer condition re-checks "still free" (compare-and-set),
    so an entry is never leased to two reviewers. Returns the ids of the entries the reviewer
    holds now within ``scope`` (at most ``count``), highest priority first.
    """
    scope_sql, scope_params = scope.sql()
    sql = _TOP_UP_SQL.format(
        table=raw_rows.table(QueueEntry),
        skipped=_SKIPPED_SQL.format(
            table=raw_rows.table(ReviewSkip),
            answers=raw_rows.table(OverlapAnswer),
            overlaps=raw_rows.table(Overlap),
        ),
        scope=scope_sql,
    )
    params = scope_params | {
        "reviewer": reviewer.pk,
        "expires": expires,
        "now": now,
        "count": count,
        "skipped_since": _skip_cutoff(now),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [int(row[0]) for row in cursor.fetchall()]


def _take_free(
    reviewer: AbstractBaseUser,
    n: int,
    exclude: Sequence[int],
    now: Any,
    expires: Any,
    scope: QueueScope,
) -> int:
    """Elsewhere than PostgreSQL (SQLite: one writer at a time): lease up to ``n`` free entries
    by compare-and-set per row, re-reading when another reviewer won a row."""
    pool = (
        QueueEntry.objects.filter(_free(now), scope.q())
        .exclude(pk__in=exclude)
        .exclude(item__in=_skipped_items(reviewer, now))
        .exclude(item__in=_answered_items(reviewer))
        .order_by("-priority", "id")
    )
    taken: list[int] = []
    for _ in range(3):  # a lost race only costs a re-read
        for pk in list(pool.exclude(pk__in=taken).values_list("pk", flat=True)[: n - len(taken)]):
            if QueueEntry.objects.filter(_free(now), pk=pk).update(
                lease_holder=reviewer, lease_expires_at=expires
            ):
                taken.append(pk)
        if len(taken) >= n:
            break
    return len(taken)


def review_release(*, reviewer: AbstractBaseUser, entry_id: int) -> bool:
    """Give an entry back to the pool; False when the reviewer did not hold it."""
    return bool(
        QueueEntry.objects.filter(pk=entry_id, lease_holder=reviewer).update(
            lease_holder=None, lease_expires_at=None
        )
    )


def review_release_all(*, reviewer: AbstractBaseUser) -> int:
    """Give back every entry the reviewer holds (their filter or assignment changed)."""
    return QueueEntry.objects.filter(lease_holder=reviewer).update(
        lease_holder=None, lease_expires_at=None
    )


def waiting_count(*, reviewer: AbstractBaseUser, scope: QueueScope = UNRESTRICTED) -> int:
    """Entries free for ``reviewer`` within ``scope`` (not leased, not skipped by them)."""
    now = timezone.now()
    free = QueueEntry.objects.filter(_free(now), scope.q())
    free = free.exclude(item__in=_skipped_items(reviewer, now))
    return free.exclude(item__in=_answered_items(reviewer)).count()


# -- skips ---------------------------------------------------------------------------------------

# Items the reviewer skipped recently, and items of open overlaps they answered.
_SKIPPED_SQL = (
    "SELECT item_id FROM {table} WHERE reviewer_id = %(reviewer)s"
    " AND created_at > %(skipped_since)s"
    " UNION ALL SELECT a.item_id FROM {answers} a JOIN {overlaps} o ON o.id = a.overlap_id"
    " WHERE a.reviewer_id = %(reviewer)s AND o.status = 'open'"
)


def skip_remember_hours() -> float:
    """How long a skipped item is kept from its reviewer (``SKIP_REMEMBER_HOURS``)."""
    return float(settings.TAXOLOOP.get("SKIP_REMEMBER_HOURS", DEFAULT_SKIP_REMEMBER_HOURS))


def _skip_cutoff(now: Any) -> Any:
    return now - timedelta(hours=skip_remember_hours())


def _skipped_items(reviewer: AbstractBaseUser, now: Any) -> QuerySet[ReviewSkip]:
    recent = ReviewSkip.objects.filter(reviewer=reviewer, created_at__gt=_skip_cutoff(now))
    return recent.values("item_id")


def _answered_items(reviewer: AbstractBaseUser) -> QuerySet[OverlapAnswer]:
    """Items of open overlaps the reviewer has answered."""
    mine = OverlapAnswer.objects.filter(reviewer=reviewer, overlap__status=Overlap.Status.OPEN)
    return mine.values("item_id")


def review_unskip_all(*, reviewer: AbstractBaseUser) -> int:
    """Forget the reviewer's skips: their items can come back to them. Returns how many."""
    deleted, _ = ReviewSkip.objects.filter(reviewer=reviewer).delete()
    return deleted


def skipped_count(*, reviewer: AbstractBaseUser) -> int:
    """Items the reviewer skipped recently and still waiting in the queue."""
    now = timezone.now()
    return QueueEntry.objects.filter(item__in=_skipped_items(reviewer, now)).count()
