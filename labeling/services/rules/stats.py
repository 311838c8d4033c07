"""What rules did at scoring, per rule and day (``RuleStat``), and switching off a rule whose
pattern keeps timing out.

Every scored chunk adds its counts to the day's row of each rule (one ``INSERT … ON CONFLICT
DO UPDATE`` with the increments, on SQLite and PostgreSQL alike), so parallel shards of one
rescore add up without reading each other's rows. ``scored`` is how many items the rule was
run on that day: two rescores in a day count every item twice, and the page shows hits as a
share of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from labeling.models import Item, Rule, RuleStat

TIMED_OUT = (
    "Switched off by Taxoloop on {day}: its pattern timed out on {count} item(s) during scoring "
    "(e.g. {example}), which count as no match. Simplify the pattern, preview it and switch "
    "it on again."
)

_UPSERT = """
INSERT INTO {table} (rule_id, day, scored, hits, labelled, disagreements, timeouts)
VALUES {values}
ON CONFLICT (rule_id, day) DO UPDATE SET
    scored = {table}.scored + EXCLUDED.scored,
    hits = {table}.hits + EXCLUDED.hits,
    labelled = {table}.labelled + EXCLUDED.labelled,
    disagreements = {table}.disagreements + EXCLUDED.disagreements,
    timeouts = {table}.timeouts + EXCLUDED.timeouts
"""


@dataclass(frozen=True)
class ChunkCounts:
    """One rule's counts in one chunk."""

    rule_id: int
    scored: int
    hits: int = 0
    labelled: int = 0
    disagreements: int = 0
    timeouts: int = 0


def rule_stats_add(counts: Sequence[ChunkCounts]) -> None:
    """Add ``counts`` to today's rows."""
    if not counts:
        return
    day = timezone.localdate()
    table = connection.ops.quote_name(RuleStat._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(counts))
    params: list[object] = []
    for c in counts:
        params += [c.rule_id, day, c.scored, c.hits, c.labelled, c.disagreements, c.timeouts]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(table=table, values=values), params)


def rules_switch_off_timed_out(timed_out: Mapping[int, Sequence[int]]) -> None:
    """Switch off the rules (by id) whose patterns timed out on the items (ids) given."""
    day = timezone.localdate().isoformat()
    for rule_id, item_ids in timed_out.items():
        example = Item.objects.filter(pk=item_ids[0]).values_list("external_id", flat=True).first()
        problem = TIMED_OUT.format(day=day, count=len(item_ids), example=example or item_ids[0])
        Rule.objects.filter(pk=rule_id).update(enabled=False, problem=problem)
