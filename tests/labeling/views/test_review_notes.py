"""A note on any decision (issue 16): typed on the review card with the decision, stored on the
label, found by the ledger's searches (the API's ``?note=``, ``export_labels --ledger
--note``) and shown on the item's ledger page."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from labeling.models import Label
from labeling.services.review import decisions as svc
from labeling.services.review.labels import label_create
from tests.labeling.review_data import SHIRTS, TSHIRTS, make_queue

URL = "/review/"
HTMX = {"HX-Request": "true"}
NOTE = "Collar says shirt,\r\nfabric says T-shirt"


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def entries(version, tree):
    return make_queue(version, tree, n=3)


@pytest.fixture
def as_alice(client, alice, entries):
    client.force_login(alice)
    return client


def decide(client, tree, path=SHIRTS, note=None):
    data = {"shown": client.get(URL).context["task"].token, "category": tree[path].pk}
    if note is not None:
        data["note"] = note
    return client.post(reverse("review:decide"), data, headers=HTMX)


def test_the_card_has_a_note_field_in_the_decide_form_with_its_key(as_alice):
    html = as_alice.get(URL).content.decode()
    form = html[
        html.index('id="decide-form"') : html.index("</form>", html.index('id="decide-form"'))
    ]
    assert '<textarea id="decision-note" name="note"' in form
    assert f'maxlength="{svc.DECISION_NOTE_MAX}"' in form
    assert '<kbd data-hotkey="comment">m</kbd>' in form
    assert "<dt><kbd>m</kbd></dt><dd>add a note to this decision</dd>" in html


def test_a_decision_with_a_note_stores_it_on_the_label(as_alice, alice, tree):
    response = decide(as_alice, tree, TSHIRTS, note=NOTE)
    assert response.status_code == 200 and "Oxford shirt 1" in response.content.decode()
    label = Label.objects.get()
    assert (label.category, label.author) == (tree[TSHIRTS], alice)
    assert label.note == "Collar says shirt,\nfabric says T-shirt"


def test_a_decision_without_a_note_stores_none(as_alice, tree):
    decide(as_alice, tree, note="   ")
    assert Label.objects.get().note == ""


def test_too_long_a_note_is_refused_and_nothing_is_saved(as_alice, tree):
    html = decide(as_alice, tree, note="x" * (svc.DECISION_NOTE_MAX + 1)).content.decode()
    assert "2,001 characters long" in html and not Label.objects.exists()
    assert "Oxford shirt 0" in html  # the same card, to decide again


def test_a_conflicts_note_follows_the_reviewers_own(as_alice, alice, bob, tree, entries):
    token = as_alice.get(URL).context["task"].token
    label_create(item=entries[0].item, category=tree[SHIRTS], author=bob, source="review")
    data = {"shown": token, "category": tree[TSHIRTS].pk, "note": "Knitted."}
    as_alice.post(reverse("review:decide"), data, headers=HTMX)
    note = Label.objects.filter(author=alice).get().note
    assert note.startswith("Knitted. Conflict: item was labelled meanwhile by bob")


def test_the_ledger_api_finds_a_decision_by_its_note(as_alice, alice, tree):
    decide(as_alice, tree, TSHIRTS, note=NOTE)
    decide(as_alice, tree, SHIRTS, note="Obvious.")
    api = APIClient()
    api.force_login(alice)
    found = api.get("/api/labels/", {"note": "FABRIC says"}).json()["results"]
    assert [(r["category"]["path"], r["note"]) for r in found] == [
        (TSHIRTS, "Collar says shirt,\nfabric says T-shirt")
    ]
    assert api.get("/api/labels/", {"note": "nowhere"}).json()["results"] == []


def test_the_ledger_export_finds_a_decision_by_its_note(as_alice, tree):
    decide(as_alice, tree, TSHIRTS, note=NOTE)
    decide(as_alice, tree, SHIRTS)
    out = io.StringIO()
    call_command("export_labels", "--ledger", "--note", "fabric", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["category_path"], r["note"]) for r in rows] == [
        (TSHIRTS, "Collar says shirt,\nfabric says T-shirt")
    ]


def test_the_export_searches_notes_only_in_the_ledger(db):
    with pytest.raises(CommandError, match="add --ledger"):
        call_command("export_labels", "--note", "x", stdout=io.StringIO())


def test_the_items_ledger_page_shows_the_note(as_alice, tree, entries):
    decide(as_alice, tree, TSHIRTS, note="Knitted, no collar.")
    html = as_alice.get(reverse("reports:item", args=[entries[0].item_id])).content.decode()
    assert "Knitted, no collar." in html


def test_the_label_api_refuses_too_long_a_note(alice, tree, entries):
    api = APIClient()
    api.force_login(alice)
    body = {"item": entries[0].item_id, "category": tree[SHIRTS].pk}
    response = api.post("/api/labels/", body | {"note": "x" * (svc.DECISION_NOTE_MAX + 1)})
    assert response.status_code == 400 and "note" in response.json()
    assert api.post("/api/labels/", body | {"note": "From a script."}).status_code == 201
    assert Label.objects.get().note == "From a script."
