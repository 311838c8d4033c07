"""Report pages, CSV and inline corrections between a publish and the new version's first
model: the v1 model's rows are shown in v2's categories and marked as the previous model's
(issue 6). Rows and expected figures: ``tests/labeling/across_versions_data.py``."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils.html import escape

from labeling.models import Label
from tests.labeling.across_versions_data import (
    DENIM,
    JEANS,
    SANDALS,
    SHIRTS,
    SNEAKERS,
    TOPWEAR,
    TSHIRTS,
    rescore_with_v2,
)

HTMX = {"HX-Request": "true"}
MARK = "from the previous model (v{n})"


pytestmark = pytest.mark.usefixtures("fresh_category_index")


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def catalog(client, **query) -> str:
    return client.get(reverse("reports:report", args=["catalog"]), query).content.decode()


def predicted_cells(html: str) -> list[str]:
    """The text of each row's predicted-category link, in order."""
    cells = html.split('<td class="cat-cell predicted">')[1:]
    return [
        c.split('title="Correct: pick the right category">', 1)[1].split("</a>", 1)[0]
        for c in cells
    ]


def test_the_catalog_page_shows_the_v1_rows_in_v2_categories(as_alice, av):
    html = catalog(as_alice)
    assert predicted_cells(html)[:5] == [
        escape(p) for p in (SHIRTS, SHIRTS, DENIM, SANDALS, SNEAKERS)
    ]
    assert html.count(MARK.format(n=av.v1.number)) == 8
    assert html.count("mapping needs review") == 2  # D and H: Sandals was split
    assert escape(TSHIRTS) not in "".join(predicted_cells(html))


def test_the_old_category_is_named_in_the_marks_tooltip(as_alice, av):
    html = catalog(as_alice, node=av.new[DENIM].pk)
    assert f"Predicted by the model of v{av.v1.number} ({escape(JEANS)})" in html


def test_the_node_and_disagreement_filters_work_on_the_page(as_alice, av):
    assert predicted_cells(catalog(as_alice, node=av.new[TOPWEAR].pk)) == [escape(SHIRTS)] * 3
    html = catalog(as_alice, disagreement="1")
    assert predicted_cells(html) == [escape(SHIRTS), escape(SNEAKERS)]
    assert "SKU-B" in html and "SKU-E" in html and "SKU-A" not in html


def test_the_htmx_partial_is_the_table_with_the_mapped_rows(as_alice, av):
    url = reverse("reports:report", args=["changed"])
    html = as_alice.get(url, headers=HTMX).content.decode()
    assert html.lstrip().startswith('<div id="report-table">') and "<html" not in html
    assert "SKU-F" in html and "SKU-G" not in html  # G: Shirts → Tshirts is none now


def test_the_csv_endpoint_has_the_mapped_rows_and_the_model_column(as_alice, av):
    url = reverse("reports:csv", args=["catalog"])
    response = as_alice.get(url, {"node": av.new["Footwear"].pk})
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert [r[0] for r in table[1:]] == ["SKU-D", "SKU-E", "SKU-H"]
    assert [r[2] for r in table[1:]] == [SANDALS, SNEAKERS, SANDALS]
    assert table[2][8] == f"previous model (v{av.v1.number}), mapped"


def test_the_picker_offers_v2_categories_for_a_v1_row(as_alice, av):
    url = reverse("reports:row", args=[av.items["B"].pk])
    html = as_alice.get(url, {"cell": "predicted", "report": "catalog"}, headers=HTMX)
    text = html.content.decode()
    assert f'value="{av.new[SHIRTS].pk}"' in text and f'value="{av.old[TSHIRTS].pk}"' not in text


def test_an_inline_correction_records_the_mapped_prediction_it_was_shown(as_alice, av):
    data = {"item": av.items["C"].pk, "category": av.new[DENIM].pk, "report": "catalog"}
    html = as_alice.post(reverse("reports:correct"), data, headers=HTMX).content.decode()
    label = Label.objects.get(item=av.items["C"], source="inline")
    assert label.category == av.new[DENIM] and label.model_version == av.model
    assert label.prediction_shown["top_category"] == av.new[DENIM].pk
    assert label.prediction_shown["candidates"] == [{"category": av.new[DENIM].pk, "p": 0.7}]
    assert escape(DENIM) in html and MARK.format(n=av.v1.number) in html


def test_after_v2_has_scored_no_row_is_marked(as_alice, av):
    rescore_with_v2(av)
    html = catalog(as_alice)
    assert "from the previous model" not in html and "mapping needs review" not in html
    assert len(predicted_cells(html)) == 8


def test_the_confused_pair_lists_its_items_with_the_old_models_category(as_alice, av):
    query = {"true": av.new[DENIM].pk, "predicted": av.new[SHIRTS].pk}
    html = as_alice.get(reverse("reports:confused"), query).content.decode()
    pairs, items = html.split('<div id="pair-items">', 1)
    assert (
        f'predicted={av.new[SHIRTS].pk}" hx-target="#pair-items" hx-swap="outerHTML">1</a>' in pairs
    )
    assert "SKU-B" in items and "SKU-A" not in items
    assert f"(the v{av.v1.number} model's category)" in html
