"""The dashboard between a publish and the new version's first model: the previous version's
active model stands in, its predictions mapped into the new version, and the page says so
(issue 6). Rows and expected figures: ``tests/labeling/across_versions_data.py``."""

from __future__ import annotations

import re

import pytest

from labeling.models import TrainingRun
from labeling.selectors import dashboard as sel
from tests.labeling.across_versions_data import rescore_with_v2

URL = "/dashboard/"


pytestmark = pytest.mark.usefixtures("fresh_category_index")


def table_rows(html: str, key: str) -> list[list[str]]:
    start = html.index(f'id="table-{key}"')
    body = html[start : html.index("</table>", start)]
    return [re.findall(r"<td>(.*?)</td>", row) for row in body.split("<tr>")[2:]]


def page(client, user) -> str:
    client.force_login(user)
    return client.get(URL).content.decode()


def test_the_page_says_which_model_stands_in_and_that_v2s_is_training(client, alice, av):
    assert TrainingRun.objects.filter(taxonomy_version=av.v2, status="queued").exists()
    html = page(client, alice)
    n1, n2 = av.v1.number, av.v2.number
    assert (
        f"Model of v{n1} (#{av.model.pk}), mapped into v{n2}; "
        f"the first model of v{n2} is training." in html
    )
    assert "no active model yet" not in html


def test_without_a_training_the_note_says_what_to_do(client, alice, av):
    TrainingRun.objects.filter(taxonomy_version=av.v2).update(status="failed")
    html = page(client, alice)
    assert f"v{av.v2.number} has no model yet: start a training on the Models page" in html


def test_coverage_counts_the_stand_ins_predictions_at_their_mapped_depth(client, alice, av):
    # A–E decided at depth 3 (Tshirts → Shirts, Jeans → Denim, Sandals stays), F–H abstained.
    rows = table_rows(page(client, alice), "coverage")
    assert rows == [["abstained", "3", "37.5%"], ["depth 3", "5", "62.5%"]]


def test_reliability_judges_the_mapped_predictions_on_the_audit_labels(client, alice, av):
    # Audit: A 0.9 right (Shirts), B 0.8 wrong (Tshirts → Shirts, label Denim), D 0.6 right.
    # Three items: too few for more than one bin (10 a bin), and the chart says so.
    html = page(client, alice)
    assert table_rows(html, "reliability") == [["0.600–0.900", "3", "76.7%", "66.7%"]]
    assert "Only 3 audit-labelled item(s) with a prediction: too few" in html


def test_drift_maps_the_stand_ins_tops_and_previous_tops(client, alice, av):
    rows = {r[0]: r[1:] for r in table_rows(page(client, alice), "drift")}
    # columns: Accessories, Apparel, Footwear. Tops: 4 Apparel, 3 Footwear, 1 Accessories.
    assert rows[f"model #{av.model.pk}"] == ["8", "12.5%", "50.0%", "37.5%"]
    assert rows["previous model"] == ["2", "0.0%", "100.0%", "0.0%"]  # F and G: Shirts


def test_the_quality_charts_are_the_stand_ins(client, alice, av):
    html = page(client, alice)
    assert table_rows(html, "learning-curve") == [
        [f"#{av.model.pk}", "active", "40", "3", "75.0%", "—", "—"]
    ]
    assert table_rows(html, "accuracy-by-depth") == [["1", "90.0%", "—", "—"]]


def test_once_v2_has_an_active_model_only_its_own_predictions_count(client, alice, av):
    v2_model = rescore_with_v2(av)
    assert sel.stand_in_model(version=av.v2) is None
    html = page(client, alice)
    assert "mapped into" not in html and f"active model #{v2_model.pk}" in html
    # Rescored, every item decided: F on Watches (depth 2), D and H on Slides (depth 4).
    assert table_rows(html, "coverage") == [
        ["depth 2", "1", "12.5%"],
        ["depth 3", "5", "62.5%"],
        ["depth 4", "2", "25.0%"],
    ]
