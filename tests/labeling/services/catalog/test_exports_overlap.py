"""The ledger export shows overlaps with their provenance: the overlap a row answers or
resolves, its status, the row's role in it and the author's estimated reliability."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command

from labeling.models import Label, ReviewerReliability
from labeling.services.catalog import exports as svc
from labeling.services.review.labels import label_create
from labeling.services.review.overlap import adjudicate
from tests.factories import ItemFactory
from tests.labeling.overlap_data import SHIRTS, make_overlaps

OVERLAP_COLUMNS = ["overlap_id", "overlap_status", "overlap_role", "author_reliability"]


@pytest.fixture
def ov(alice, tree, version):
    made = make_overlaps(alice, tree)
    adjudicate(overlap=made.disputed, adjudicator=made.dora, category=tree[SHIRTS])
    ReviewerReliability.objects.create(user=alice, taxonomy_version=version, accuracy=0.9)
    label_create(item=ItemFactory(), category=tree[SHIRTS], author=alice, source="inline")
    return made


def ledger(fmt="jsonl"):
    stream = io.StringIO()
    svc.labels_export(stream=stream, fmt=fmt, ledger=True)
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(stream.getvalue())))
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def overlap_cells(row):
    return tuple(row[column] for column in OVERLAP_COLUMNS)


def test_the_overlap_columns_come_last_after_the_existing_ones(ov):
    header = list(ledger("csv")[0])
    assert header[-4:] == OVERLAP_COLUMNS
    assert header[:-4] == [c for c in svc.LEDGER_COLUMNS if c not in OVERLAP_COLUMNS]
    assert header[:3] == ["label_id", "external_id", "kind"] and header[-5] == "note"


def test_answers_and_resolutions_show_their_overlap_and_role(ov):
    rows = {row["label_id"]: row for row in ledger()}
    disputed, agreed = ov.disputed, ov.agreed
    disputed.refresh_from_db()
    alice_answer, carol_answer = Label.objects.filter(overlap_answer__overlap=disputed).order_by(
        "id"
    )
    assert overlap_cells(rows[alice_answer.pk]) == (disputed.pk, "adjudicated", "answer", 0.9)
    assert overlap_cells(rows[carol_answer.pk]) == (disputed.pk, "adjudicated", "answer", None)
    assert overlap_cells(rows[disputed.label_id]) == (
        disputed.pk,
        "adjudicated",
        "adjudicated",
        None,
    )
    assert overlap_cells(rows[agreed.label_id])[:3] == (agreed.pk, "agreed", "agreed")
    open_answer = Label.objects.get(overlap_answer__overlap=ov.open)
    assert overlap_cells(rows[open_answer.pk]) == (ov.open.pk, "open", "answer", None)


def test_a_plain_label_has_no_overlap_but_its_authors_reliability(ov):
    plain = ledger()[-1]
    assert (plain["source"], overlap_cells(plain)) == ("inline", (None, None, None, 0.9))
    assert overlap_cells(ledger("csv")[-1]) == ("", "", "", "0.9")


def test_the_overlap_columns_cost_three_queries_per_chunk_not_per_row(
    ov, django_assert_num_queries
):
    # the rows, then per chunk: answers, resolutions, reliability (no migrated row: no origins)
    with django_assert_num_queries(4):
        rows = ledger()
    assert len(rows) == Label.objects.count() == 8


def test_the_command_writes_the_overlap_columns(ov, capsys):
    call_command("export_labels", "--ledger")
    header = capsys.readouterr().out.splitlines()[0]
    assert header.endswith(",note," + ",".join(OVERLAP_COLUMNS))
