"""GET /api/overlaps/, GET /api/overlaps/<id>/, POST /api/overlaps/<id>/adjudicate/,
GET /api/reviewer-reliability/, and the blindness of overlap answers in GET /api/labels/."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from labeling.api.errors import IDEMPOTENCY_KEY_REUSED, NO_CATEGORY
from labeling.api.views.overlaps import ADJUDICATOR_REQUIRED
from labeling.models import Item, Label, Overlap, ReviewerReliability
from labeling.roles import REVIEWER
from labeling.services.review.overlap import NOT_DISPUTED
from tests.labeling.overlap_data import SHIRTS, TSHIRTS, answer, make_overlaps


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def ov(alice, tree):
    return make_overlaps(alice, tree)


def get_overlap(user, overlap) -> dict:
    response = client_for(user).get(f"/api/overlaps/{overlap.pk}/")
    assert response.status_code == 200
    return response.json()


def adjudicate(user, overlap, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    url = f"/api/overlaps/{overlap.pk}/adjudicate/"
    return client_for(user).post(url, body, format="json", headers=headers)


# -- reading: who sees what ---------------------------------------------------------------------


def test_an_adjudicator_sees_every_answer_of_a_disputed_overlap(ov, tree):
    body = get_overlap(ov.dora, ov.disputed)
    assert (body["status"], body["why"], body["needed"], body["answers_in"]) == (
        "disputed",
        "sample",
        2,
        2,
    )
    answers = body["answers"]
    assert [(a["reviewer"], a["category"]["path"]) for a in answers] == [
        ("alice", SHIRTS),
        ("carol", TSHIRTS),
    ]
    assert answers[0]["category"]["key"] == tree[SHIRTS].key
    assert (answers[0]["note"], answers[0]["retracted"]) == ("alice's reason", False)
    assert body["label"] is None and body["adjudicator"] is None


def test_a_taxonomy_admin_sees_every_answer_too(ov, bob):
    assert len(get_overlap(bob, ov.disputed)["answers"]) == 2


def test_a_reviewer_sees_only_their_own_answer_while_the_overlap_is_disputed(ov, alice):
    body = get_overlap(alice, ov.disputed)
    assert [a["reviewer"] for a in body["answers"]] == ["alice"]
    assert body["answers_in"] == 2


def test_a_reviewer_who_did_not_answer_sees_no_answer_of_an_open_overlap(ov, alice):
    body = get_overlap(alice, ov.open)
    assert (body["status"], body["answers"], body["answers_in"]) == ("open", [], 1)


def test_a_reviewer_sees_every_answer_and_the_label_once_agreed(ov, alice, tree):
    body = get_overlap(alice, ov.agreed)
    assert [a["reviewer"] for a in body["answers"]] == ["alice", "carol"]
    assert body["label"]["id"] == ov.agreed.label_id
    assert (body["label"]["context"], body["label"]["category"]["path"]) == ("agreed", SHIRTS)
    assert body["resolved_at"] is not None


def test_the_list_filters_by_status_why_item_and_reviewer(ov):
    client = client_for(ov.dora)

    def ids(**query):
        response = client.get("/api/overlaps/", query)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [ov.open.pk, ov.agreed.pk, ov.disputed.pk]  # newest first
    assert ids(status="disputed") == [ov.disputed.pk]
    assert ids(why="audit") == []
    assert ids(item="SKU-O") == [ov.open.pk]
    assert ids(reviewer="alice") == [ov.agreed.pk, ov.disputed.pk]


def test_a_page_of_overlaps_loads_its_answers_in_one_query(ov, django_assert_num_queries):
    client = client_for(ov.dora)
    # session, user, roles, count, the page, then every answer of the page at once
    with django_assert_num_queries(6):
        assert len(client.get("/api/overlaps/").json()["results"]) == 3


def test_the_list_hides_other_answers_of_live_overlaps_from_a_reviewer(ov, alice):
    rows = client_for(alice).get("/api/overlaps/").json()["results"]
    seen = {row["id"]: [a["reviewer"] for a in row["answers"]] for row in rows}
    assert seen == {ov.open.pk: [], ov.agreed.pk: ["alice", "carol"], ov.disputed.pk: ["alice"]}


def test_the_reviewer_filter_does_not_reveal_who_answered_a_live_overlap(ov, alice):
    rows = client_for(alice).get("/api/overlaps/", {"reviewer": "carol"}).json()["results"]
    assert [row["id"] for row in rows] == [ov.agreed.pk]


def test_an_unknown_filter_value_is_a_400_naming_it(ov):
    response = client_for(ov.dora).get("/api/overlaps/", {"status": "closed"})
    assert response.status_code == 400
    assert list(response.json()) == ["status"]


def test_an_outsider_is_refused_and_an_unknown_overlap_is_a_404(ov, charlie):
    assert client_for().get("/api/overlaps/").status_code == 401
    assert client_for(charlie).get("/api/overlaps/").status_code == 403
    assert client_for(charlie).get(f"/api/overlaps/{ov.agreed.pk}/").status_code == 403
    response = client_for(ov.dora).get("/api/overlaps/999999/")
    assert (response.status_code, response.json()) == (404, {"detail": "Overlap 999999 not found."})


def test_the_overlap_endpoints_refuse_the_wrong_method(ov):
    client = client_for(ov.dora)
    assert client.post("/api/overlaps/", {}, format="json").status_code == 405
    assert client.get(f"/api/overlaps/{ov.disputed.pk}/adjudicate/").status_code == 405


# -- adjudicating --------------------------------------------------------------------------------


def test_adjudicating_writes_the_label_and_resolves_the_overlap(ov, tree):
    response = adjudicate(ov.dora, ov.disputed, {"category": TSHIRTS, "note": "no collar"})
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["adjudicator"]) == ("adjudicated", "dora")
    label = Label.objects.get(pk=body["label"]["id"])
    assert (label.context, label.category, label.author, label.note) == (
        "adjudicated",
        tree[TSHIRTS],
        ov.dora,
        "no collar",
    )
    assert Item.objects.get(pk=ov.disputed.item_id).current_label == label
    assert Overlap.objects.get(pk=ov.disputed.pk).status == "adjudicated"


def test_a_category_may_be_named_by_its_key(ov, bob, tree):
    response = adjudicate(bob, ov.disputed, {"category": tree[SHIRTS].key})
    assert response.status_code == 201
    assert response.json()["label"]["category"]["path"] == SHIRTS


def test_a_replay_with_the_same_key_returns_the_decision_with_200(ov):
    first = adjudicate(ov.dora, ov.disputed, {"category": SHIRTS}, key="adj-1")
    again = adjudicate(ov.dora, ov.disputed, {"category": SHIRTS}, key="adj-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Label.objects.filter(context="adjudicated").count() == 1


def test_the_key_of_another_decision_is_a_400_naming_idempotency_key(ov):
    first = adjudicate(ov.dora, ov.disputed, {"category": SHIRTS}, key="adj-1")
    other = adjudicate(ov.dora, ov.disputed, {"category": TSHIRTS}, key="adj-1")
    assert other.status_code == 400
    pk = first.json()["label"]["id"]
    assert other.json() == {"idempotency_key": [IDEMPOTENCY_KEY_REUSED.format(pk=pk)]}


def test_a_reviewer_may_not_adjudicate(ov, alice, charlie):
    response = adjudicate(alice, ov.disputed, {"category": SHIRTS})
    assert (response.status_code, response.json()) == (403, {"detail": ADJUDICATOR_REQUIRED})
    assert adjudicate(charlie, ov.disputed, {"category": SHIRTS}).status_code == 403
    assert Overlap.objects.get(pk=ov.disputed.pk).status == "disputed"


def test_an_overlap_that_is_not_disputed_is_a_400_on_non_field_errors(ov):
    response = adjudicate(ov.dora, ov.open, {"category": SHIRTS})
    assert response.status_code == 400
    message = NOT_DISPUTED.format(pk=ov.open.pk, status="open")
    assert response.json() == {"non_field_errors": [message]}


def test_an_unknown_or_missing_category_is_a_400_naming_category(ov):
    response = adjudicate(ov.dora, ov.disputed, {"category": "Apparel > Hats"})
    assert response.status_code == 400
    assert response.json() == {"category": [NO_CATEGORY.format(value="'Apparel > Hats'")]}
    missing = adjudicate(ov.dora, ov.disputed, {"note": "?"})
    assert (missing.status_code, list(missing.json())) == (400, ["category"])
    assert Overlap.objects.get(pk=ov.disputed.pk).status == "disputed"


def test_a_deprecated_category_is_a_400_naming_category(ov, tree):
    tree[TSHIRTS].deprecated = True
    tree[TSHIRTS].save()
    response = adjudicate(ov.dora, ov.disputed, {"category": TSHIRTS})
    assert (response.status_code, list(response.json())) == (400, ["category"])


# -- the ledger stays blind -----------------------------------------------------------------------


def ledger_of(user, item_id) -> list[tuple[str, str]]:
    response = client_for(user).get("/api/labels/", {"item": item_id})
    assert response.status_code == 200
    return sorted((row["author"] or "", row["kind"]) for row in response.json()["results"])


def test_the_ledger_hides_another_reviewers_answer_to_a_live_overlap(ov, alice, bob):
    item = ov.disputed.item_id
    ov.dora.groups.add(Group.objects.get(name=REVIEWER))  # the ledger API needs a reviewer
    assert ledger_of(alice, item) == [("alice", "label")]
    assert ledger_of(ov.carol, item) == [("carol", "label")]
    assert (
        ledger_of(ov.dora, item)
        == ledger_of(bob, item)
        == [
            ("alice", "label"),
            ("carol", "label"),
        ]
    )


def test_the_ledger_shows_every_answer_once_the_overlap_is_resolved(ov, alice):
    assert len(ledger_of(alice, ov.agreed.item_id)) == 3  # two answers and the agreed label
    adjudicate(ov.dora, ov.disputed, {"category": SHIRTS})
    assert len(ledger_of(alice, ov.disputed.item_id)) == 3


def test_a_replaced_answer_and_its_retraction_stay_hidden(ov, alice, tree):
    item = Item.objects.get(pk=ov.open.item_id)
    answer(ov.carol, item, tree[TSHIRTS])  # carol again, in another tab: the first is retracted
    assert ledger_of(alice, item.pk) == []
    assert ledger_of(ov.carol, item.pk) == [
        ("carol", "label"),
        ("carol", "label"),
        ("carol", "retraction"),
    ]


# -- reliability ----------------------------------------------------------------------------------


@pytest.fixture
def reliability(ov, alice, version):
    for user, accuracy in ((alice, 0.95), (ov.carol, 0.7)):
        ReviewerReliability.objects.create(
            user=user,
            taxonomy_version=version,
            accuracy=accuracy,
            answers=10,
            shared=4,
            trust={"apparel": accuracy},
        )
    return ov


def test_adjudicators_and_admins_see_every_reviewers_reliability(reliability, bob, version):
    for user in (reliability.dora, bob):
        rows = client_for(user).get("/api/reviewer-reliability/").json()["results"]
        assert [(r["username"], r["accuracy"]) for r in rows] == [("alice", 0.95), ("carol", 0.7)]
    assert rows[0]["trust"] == {"apparel": 0.95}
    assert (rows[0]["answers"], rows[0]["shared"], rows[0]["taxonomy_version"]) == (
        10,
        4,
        version.pk,
    )


def test_a_reviewer_sees_only_their_own_reliability(reliability, alice, charlie):
    rows = client_for(alice).get("/api/reviewer-reliability/").json()["results"]
    assert [r["username"] for r in rows] == ["alice"]
    assert client_for(charlie).get("/api/reviewer-reliability/").status_code == 403
    assert client_for(alice).post("/api/reviewer-reliability/", {}).status_code == 405
