"""The dashboard page: charts with tables behind them, from real rows; access."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from labeling.models import ModelVersion, Prediction
from labeling.services.review.labels import label_create
from labeling.views import dashboard as views
from tests.factories import ItemFactory

URL = "/dashboard/"
SHIRTS = "Apparel > Topwear > Shirts"


@pytest.fixture
def loop(version, tree, alice):
    """Two evaluated models, two predictions, one inline label by alice."""
    ModelVersion.objects.create(
        taxonomy_version=version,
        status="retired",
        label_count=100,
        metrics={"n_audit": 20, "audit": {"leaf_accuracy": 0.6, "macro_f1": 0.5}},
    )
    mv = ModelVersion.objects.create(
        taxonomy_version=version,
        status="active",
        label_count=300,
        metrics={
            "n_audit": 50,
            "leaf_accuracy": 0.7,
            "accuracy_by_depth": {"1": 0.9, "2": 0.8},
            "audit": {"leaf_accuracy": 0.8, "macro_f1": 0.75, "accuracy_by_depth": {"1": 0.95}},
        },
    )
    for decided in (tree[SHIRTS], None):
        p = Prediction.objects.create(
            item=ItemFactory(),
            model_version=mv,
            top_category=tree[SHIRTS],
            decided_category=decided,
            confidence=0.9,
        )
    label_create(item=p.item, category=tree[SHIRTS], author=alice, source="inline")
    return mv


def table(html: str, key: str) -> str:
    start = html.index(f'id="table-{key}"')
    return html[start : html.index("</table>", start)]


def cells(row_html: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", row_html)


def test_the_dashboard_draws_each_chart_as_svg_with_a_table(client, alice, loop):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    for key in (
        "learning-curve",
        "accuracy-by-depth",
        "reliability",
        "coverage",
        "labels-per-day",
        "per-reviewer",
        "queue",
        "latency",
        "drift",
    ):
        assert f'id="chart-{key}"' in html and f'id="table-{key}"' in html
    assert html.count("<svg") >= 6 and "<script" not in html.split("<main>")[1]


def test_the_learning_curve_table_and_points_come_from_the_metrics(client, alice, loop):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    rows = table(html, "learning-curve").split("<tr>")[2:]
    assert cells(rows[0]) == [
        f"#{ModelVersion.objects.get(status='retired').pk}",
        "retired",
        "100",
        "20",
        "60.0%",
        "50.0%",
        "—",
    ]
    assert cells(rows[1]) == [f"#{loop.pk}", "active", "300", "50", "80.0%", "75.0%", "70.0%"]
    assert "audit accuracy at 300 labels: 80.0%" in html


def test_coverage_and_reviewer_tables_count_rows(client, alice, loop):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    coverage = table(html, "coverage")
    assert "<td>abstained</td><td>1</td><td>50.0%</td>" in coverage
    assert "<td>depth 3</td><td>1</td><td>50.0%</td>" in coverage
    assert "<td>alice</td><td>1</td><td>1</td><td>0</td>" in table(html, "per-reviewer")


def test_without_models_the_charts_say_so(client, alice, version):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert "No model has been evaluated yet." in html
    assert "No audit-labelled item has a prediction of the active model yet." in html


def test_without_a_taxonomy_the_page_says_what_to_do(client, alice):
    client.force_login(alice)
    assert views.NO_CURRENT_VERSION in client.get(URL).content.decode()


def test_anonymous_users_go_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_outsider_is_refused(client, charlie):
    client.force_login(charlie)
    assert client.get(URL).status_code == 403


def test_post_is_refused(client, alice):
    client.force_login(alice)
    assert client.post(URL).status_code == 405


def test_an_admin_sees_it_too(client, bob, version):
    client.force_login(bob)
    assert client.get(reverse("dashboard:index")).status_code == 200
