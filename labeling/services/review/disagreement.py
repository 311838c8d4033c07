"""``Prediction.label_disagrees`` (the item's current label contradicts the prediction) and
``Prediction.status`` (``labelled`` when the item has a label, else ``auto_accepted`` when the
certified policy accepted the prediction at a node, else ``needs_review``; issue 17).

The catalog report's disagreement filter used to test this per row, joining the item, its
label and both categories while walking the predictions in confidence order. A model trained
on the labels agrees with nearly all of them, and most with its most confident predictions,
so that walk went through most of the table before it had a page: 318 ms at 100k items
(bench_scale), and linear in the catalog. The flag, with a partial index on the disagreeing
rows, makes the page a read of those rows alone.

A label disagrees unless it is the predicted category or one of its ancestors (a label
"Topwear" does not contradict a prediction "Topwear > Shirts"); no label, no disagreement.
It is written wherever either side changes: each rescore chunk (``scoring``), each label
write (``labels``), and a publish or rollback (``taxonomy.publish``), which re-points the
current labels of every item. Predictions of an older taxonomy version's model are compared
through the category mapping by the report itself (``_label_agrees_mapped``); their flag is
not read.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from labeling.models import Category, Item, Label, Prediction

_REFRESH = """
    UPDATE {prediction} SET label_disagrees = d.disagrees, status = d.status
    FROM (
        SELECT p.id AS id, COALESCE(
            l.category_id <> p.top_category_id
            AND substr(tc.path, 1, length(lc.path) + 3) <> lc.path || ' > ',
            FALSE
        ) AS disagrees,
        CASE
            WHEN l.id IS NOT NULL THEN 'labelled'
            WHEN p.accepted_category_id IS NOT NULL THEN 'auto_accepted'
            ELSE 'needs_review'
        END AS status
        FROM {prediction} p
        JOIN {item} i ON i.id = p.item_id
        JOIN {category} tc ON tc.id = p.top_category_id
        LEFT JOIN {label} l ON l.id = i.current_label_id
        LEFT JOIN {category} lc ON lc.id = l.category_id
        WHERE {scope}
    ) d
    WHERE {prediction}.id = d.id
        AND ({prediction}.label_disagrees <> d.disagrees OR {prediction}.status <> d.status)
"""


def disagreement_refresh(
    *, item_ids: Sequence[int] | None = None, version_id: int | None = None
) -> int:
    """Recompute the flag of the predictions of ``item_ids`` (or of every item), optionally
    only those whose top category is in taxonomy version ``version_id``; rows whose flag
    changed. One UPDATE per range or per IN list the database takes; rows that keep their
    flag are not rewritten."""
    scope, params = [], []
    if version_id is not None:
        scope, params = ["tc.version_id = %s"], [version_id]
    if item_ids is None:
        return _refresh(scope, params)
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        return 0
    if ids[-1] - ids[0] < 2 * len(ids):
        # Nearly consecutive ids (a rescore chunk) as one range: a 5,000-value IN list costs
        # about 20 times the range scan on PostgreSQL (see prediction_writes._stored_for).
        return _refresh([*scope, "p.item_id BETWEEN %s AND %s"], [*params, ids[0], ids[-1]])
    step = max((connection.features.max_query_params or 1000) - len(params) - 1, 1)
    changed = 0
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        listed = f"p.item_id IN ({', '.join(['%s'] * len(chunk))})"
        changed += _refresh([*scope, listed], [*params, *chunk])
    return changed


def _refresh(scope: list[str], params: list[int]) -> int:
    sql = _REFRESH.format(
        prediction=Prediction._meta.db_table,
        item=Item._meta.db_table,
        category=Category._meta.db_table,
        label=Label._meta.db_table,
        scope=" AND ".join(scope) or "TRUE",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)
