"""Report pages, CSV, inline and bulk corrections with undo: the rows they write, access."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from labeling.models import Label, ModelVersion, Prediction
from labeling.selectors.category_index import category_index_clear
from labeling.services.review import corrections
from labeling.services.review.labels import CATEGORY_NOT_IN_CURRENT_VERSION, label_create
from labeling.views import reports as views
from tests.factories import ItemFactory, TaxonomyVersionFactory, make_tree

HTMX = {"HX-Request": "true"}
SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
JEANS = "Apparel > Bottomwear > Jeans"
GETS = [
    ("reports:report", ["catalog"]),
    ("reports:csv", ["catalog"]),
    ("reports:confused", []),
    ("reports:search", []),
]
POSTS = ["reports:correct", "reports:bulk", "reports:undo"]


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    yield
    category_index_clear()


@pytest.fixture
def rows(version, tree):
    """Three items predicted Shirts (0.9), Tshirts (0.6), Jeans (0.3, abstained)."""
    model = ModelVersion.objects.create(taxonomy_version=version, status="active")
    out = []
    for i, (path, p) in enumerate([(SHIRTS, 0.9), (TSHIRTS, 0.6), (JEANS, 0.3)]):
        out.append(
            Prediction.objects.create(
                item=ItemFactory(title=f"Thing {i}"),
                model_version=model,
                top_category=tree[path],
                decided_category=tree[path] if p > 0.5 else None,
                candidates=[{"category": tree[path].pk, "p": p}],
                confidence=p,
            )
        )
    return out


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def correct(client, item, category, htmx=True, report="catalog"):
    data = {"item": item.pk, "category": category, "report": report, "cell": "label"}
    return client.post(reverse("reports:correct"), data, headers=HTMX if htmx else {})


def test_the_catalog_page_lists_rows_with_filters_and_links(as_alice, rows):
    response = as_alice.get(reverse("reports:report", args=["catalog"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Thing 0") < html.index("Thing 1") < html.index("Thing 2")
    assert 'id="report-filters"' in html and "js/reports.js" in html and "abstained" in html
    assert f'id="row-{rows[0].item_id}"' in html and "unlabelled" in html


def test_the_htmx_request_gets_only_the_table(as_alice, rows):
    url = reverse("reports:report", args=["low-confidence"])
    html = as_alice.get(url, headers=HTMX).content.decode().strip()
    assert html.startswith('<div id="report-table"') and "<html" not in html
    assert "Thing 2" in html and "Thing 1" not in html and "Thing 0" not in html


def test_filters_and_pages_come_from_the_query_string(as_alice, rows):
    url = reverse("reports:report", args=["catalog"])
    response = as_alice.get(url, {"conf_min": "0.5", "size": "1"})
    assert [r.item_id for r in response.context["page"].rows] == [rows[0].item_id]
    nxt = response.context["next_url"]
    assert "after=" in nxt and "conf_min=0.5" in nxt
    second = as_alice.get(nxt)
    assert [r.item_id for r in second.context["page"].rows] == [rows[1].item_id]
    assert second.context["next_url"] == ""


def test_a_bad_confidence_is_ignored_with_a_message(as_alice, rows):
    url = reverse("reports:report", args=["catalog"])
    response = as_alice.get(url, {"conf_min": "high"})
    assert views.BAD_NUMBER.format(field="conf_min") in response.content.decode()
    assert len(response.context["page"].rows) == 3


def test_an_unknown_report_is_404(as_alice, rows):
    assert as_alice.get("/reports/nonsense/").status_code == 404


def test_the_csv_holds_exactly_the_rows_shown(as_alice, rows):
    url = reverse("reports:csv", args=["catalog"])
    response = as_alice.get(url, {"sort": "confidence", "size": "2"})
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert [r[1] for r in table[1:]] == ["Thing 2", "Thing 1"]
    assert table[1][2:5] == [JEANS, "0.3000", ""]


def test_an_inline_correction_writes_an_inline_label_and_returns_the_row(
    as_alice, alice, tree, rows
):
    response = correct(as_alice, rows[1].item, tree[SHIRTS].pk)
    html = response.content.decode().strip()
    label = Label.objects.get()
    assert (label.item_id, label.category, label.source) == (
        rows[1].item_id,
        tree[SHIRTS],
        "inline",
    )
    assert (label.author, label.context, label.model_version_id) == (
        alice,
        "catalog",
        rows[1].model_version_id,
    )
    assert label.prediction_shown["top_category"] == tree[TSHIRTS].pk
    assert html.startswith(f'<tr id="row-{rows[1].item_id}"') and SHIRTS.split(" > ")[-1] in html
    assert response["HX-Trigger"] == views.CORRECTED_EVENT and "undo-button" in html
    rows[1].item.refresh_from_db()
    assert rows[1].item.current_label == label


def test_the_context_names_the_report_it_came_from(as_alice, tree, rows):
    correct(as_alice, rows[2].item, tree[JEANS].pk, report="low-confidence")
    assert Label.objects.get().context == "low-confidence"


def test_a_plain_post_redirects_back_to_the_report(as_alice, tree, rows):
    response = correct(as_alice, rows[0].item, tree[SHIRTS].pk, htmx=False)
    assert response.status_code == 302 and response["Location"] == "/reports/catalog/"
    assert Label.objects.count() == 1


@pytest.mark.parametrize(
    ("category", "message"),
    [
        ("", corrections.CATEGORY_MISSING),
        ("999999", corrections.CATEGORY_UNKNOWN.format(pk="999999")),
    ],
)
def test_a_bad_category_is_rejected_with_a_message_and_nothing_saved(
    as_alice, rows, category, message
):
    html = correct(as_alice, rows[0].item, category).content.decode()
    assert message in html and 'class="picker"' in html
    assert Label.objects.count() == 0


def test_a_category_of_another_version_is_rejected(as_alice, version, tree, rows):
    old = TaxonomyVersionFactory(taxonomy=version.taxonomy, is_current=False)
    other = make_tree(old, {"Apparel": {}})["Apparel"]
    html = correct(as_alice, rows[0].item, other.pk).content.decode()
    expected = CATEGORY_NOT_IN_CURRENT_VERSION.format(
        path="Apparel", version=old.pk, current=version.pk
    )
    assert expected.replace("'", "&#x27;") in html and Label.objects.count() == 0


def test_undo_of_an_inline_correction_retracts_it(as_alice, tree, rows):
    correct(as_alice, rows[0].item, tree[TSHIRTS].pk)
    label = Label.objects.get()
    data = {"labels": label.pk, "item": rows[0].item_id, "report": "catalog"}
    html = as_alice.post(reverse("reports:undo"), data, headers=HTMX).content.decode()
    retraction = Label.objects.get(kind="retraction")
    assert retraction.retracts == label and retraction.source == "inline"
    rows[0].item.refresh_from_db()
    assert rows[0].item.current_label is None and "unlabelled" in html


def test_nobody_undoes_someone_elses_label(as_alice, bob, tree, rows):
    label = label_create(item=rows[0].item, category=tree[SHIRTS], author=bob, source="inline")
    data = {"labels": label.pk, "report": "catalog"}
    html = as_alice.post(reverse("reports:undo"), data, headers=HTMX).content.decode()
    assert corrections.NOT_YOURS.format(pk=label.pk) in html
    assert not Label.objects.filter(kind="retraction").exists()


def test_bulk_assigns_one_bulk_label_per_item_and_undo_takes_all_back(as_alice, alice, tree, rows):
    data = {
        "items": [rows[0].item_id, rows[2].item_id],
        "category": tree[JEANS].pk,
        "report": "catalog",
        "qs": "sort=item",
    }
    html = as_alice.post(reverse("reports:bulk"), data, headers=HTMX).content.decode()
    labels = Label.objects.order_by("item_id")
    assert [(lab.item_id, lab.category, lab.source) for lab in labels] == [
        (rows[0].item_id, tree[JEANS], "bulk"),
        (rows[2].item_id, tree[JEANS], "bulk"),
    ]
    assert views.BULK_DONE.format(path=JEANS, n=2, s="s").replace(">", "&gt;") in html
    assert 'id="bulk-undo"' in html and html.strip().startswith('<div id="report-table"')
    undo = {"labels": [lab.pk for lab in labels], "report": "catalog", "qs": "sort=item"}
    html = as_alice.post(reverse("reports:undo"), undo, headers=HTMX).content.decode()
    assert Label.objects.filter(kind="retraction").count() == 2 and "Undid 2 labels" in html


def test_bulk_with_a_bad_category_or_no_rows_saves_nothing(as_alice, tree, rows):
    bad = {"items": [rows[0].item_id, 10**9], "category": tree[JEANS].pk, "report": "catalog"}
    html = as_alice.post(reverse("reports:bulk"), bad, headers=HTMX).content.decode()
    assert corrections.ITEM_UNKNOWN.format(pk=10**9) in html
    empty = {"category": tree[JEANS].pk, "report": "catalog"}
    html = as_alice.post(reverse("reports:bulk"), empty, headers=HTMX).content.decode()
    assert corrections.NO_ROWS_SELECTED in html and Label.objects.count() == 0


def test_the_picker_opens_in_the_cell_with_the_models_candidates(as_alice, tree, rows):
    url = reverse("reports:row", args=[rows[1].item_id])
    html = as_alice.get(
        url, {"cell": "predicted", "report": "catalog"}, headers=HTMX
    ).content.decode()
    predicted = html[html.index('class="cat-cell predicted"') : html.index('class="p"')]
    assert 'class="picker"' in predicted and f'value="{tree[TSHIRTS].pk}"' in predicted
    assert 'name="report" value="catalog"' in predicted


def test_the_picker_search_ranks_categories(as_alice, tree, rows):
    html = as_alice.get(
        reverse("reports:search"), {"q": "shi", "item": rows[0].item_id}
    ).content.decode()
    assert html.index("Shirts") < html.index("Tshirts")
    assert (
        "No category matches"
        in as_alice.get(reverse("reports:search"), {"q": "zzz"}).content.decode()
    )


def test_confused_pairs_and_the_items_behind_one(as_alice, alice, tree, rows):
    shown = {"candidates": [{"category": tree[SHIRTS].pk, "p": 0.9}]}
    label_create(
        item=rows[0].item,
        category=tree[TSHIRTS],
        author=alice,
        source="review",
        is_audit=True,
        prediction_shown=shown,
    )
    html = as_alice.get(reverse("reports:confused")).content.decode()
    assert "Tshirts" in html and ">1</a>" in html
    q = {"true": tree[TSHIRTS].pk, "predicted": tree[SHIRTS].pk}
    part = as_alice.get(reverse("reports:confused"), q, headers=HTMX).content.decode().strip()
    assert part.startswith('<div id="pair-items"') and rows[0].item.external_id in part


def test_the_item_ledger_shows_who_when_from_where(as_alice, alice, tree, rows):
    correct(as_alice, rows[0].item, tree[TSHIRTS].pk)
    html = as_alice.get(reverse("reports:item", args=[rows[0].item_id])).content.decode()
    assert "inline · catalog" in html and "alice" in html and "current" in html
    assert as_alice.get(reverse("reports:item", args=[10**9])).status_code == 404


@pytest.mark.parametrize(("name", "args"), GETS)
def test_anonymous_users_go_to_the_login_page(client, version, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(("name", "args"), GETS)
def test_an_outsider_is_refused(client, charlie, version, name, args):
    client.force_login(charlie)
    assert client.get(reverse(name, args=args)).status_code == 403


@pytest.mark.parametrize("name", POSTS)
def test_an_outsider_cannot_write(client, charlie, tree, rows, name):
    client.force_login(charlie)
    data = {"item": rows[0].item_id, "items": rows[0].item_id, "category": tree[SHIRTS].pk}
    assert client.post(reverse(name), data).status_code == 403
    assert Label.objects.count() == 0


@pytest.mark.parametrize("name", POSTS)
def test_writes_refuse_get(as_alice, name):
    assert as_alice.get(reverse(name)).status_code == 405


@pytest.mark.parametrize(("name", "args"), GETS)
def test_pages_refuse_post(as_alice, name, args):
    assert as_alice.post(reverse(name, args=args)).status_code == 405


def test_an_admin_may_correct_too(client, bob, tree, rows):
    client.force_login(bob)
    assert correct(client, rows[0].item, tree[JEANS].pk).status_code == 200
    assert Label.objects.get().author == bob
