"""Rows read with written-out SQL come back as the ORM would build them (issue 16's hot path)."""

from __future__ import annotations

import pytest
from django.db import connection

from labeling.models import Category, Item, QueueEntry
from labeling.selectors import raw_rows
from labeling.services.review import decision_reads, leases
from tests.labeling.review_data import SHIRTS, make_queue


def fields_of(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_an_instance_from_raw_columns_equals_the_orm_one(version, tree):
    entry = make_queue(version, tree, n=1)[0]
    item = Item.objects.get(pk=entry.item_id)
    item.attributes = {"colour": "blue", "sizes": [38, 40], "note": "ünïcode"}
    item.save()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {raw_rows.columns(Item, 'i')} FROM {Item._meta.db_table} i WHERE i.id = %s",
            [item.pk],
        )
        (built,) = raw_rows.split_row(cursor.fetchone(), Item)
    assert fields_of(built) == fields_of(Item.objects.get(pk=item.pk))
    assert built.attributes["sizes"] == [38, 40] and built.created_at.tzinfo is not None
    assert not built._state.adding and built._state.db == "default"


def test_a_left_join_that_found_nothing_gives_none():
    assert raw_rows.split_row((None,) * raw_rows.width(Category), Category) == [None]


def test_the_category_comes_with_its_version_and_the_current_id(
    version, tree, django_assert_num_queries
):
    with django_assert_num_queries(1):
        category = decision_reads.category_with_version(tree[SHIRTS].pk)
        assert category.version == version  # cached: no second query
        assert category.current_version_id == version.pk
    assert fields_of(category) == fields_of(Category.objects.get(pk=tree[SHIRTS].pk))
    assert fields_of(category.version) == fields_of(version)
    assert decision_reads.category_with_version(10**9) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL lease path")
def test_leased_entries_come_with_their_items_and_predictions(
    alice, version, tree, django_assert_num_queries
):
    entries = make_queue(version, tree, n=3)
    Item.objects.filter(pk=entries[2].item_id).update(title="No prediction")
    entries[2].item.prediction.delete()
    ids = [entries[2].pk, entries[0].pk]
    with django_assert_num_queries(1):
        held = leases._by_ids(ids)
        assert [e.pk for e in held] == ids
        assert held[1].item.prediction.candidates == entries[0].item.prediction.candidates
        assert getattr(held[0].item, "prediction", None) is None
    for got in held:
        orm = QueueEntry.objects.select_related("item").get(pk=got.pk)
        assert fields_of(got) == fields_of(orm) and fields_of(got.item) == fields_of(orm.item)
