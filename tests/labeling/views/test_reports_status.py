"""The catalog report's status filter (issue 17): all / auto-accepted / needs review / labelled,
and each row's status with the node an auto-accepted item was accepted at."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from labeling.selectors import reports as rsel
from tests.labeling import catalog_data
from tests.labeling.catalog_data import SNEAKERS, TOPWEAR

HTMX = {"HX-Request": "true"}
URL = reverse("reports:report", args=["catalog"])


@pytest.fixture
def cat(version, tree, alice, fresh_caches):
    return catalog_data.build(version, tree, alice)


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def shown(html: str) -> list[str]:
    """External ids of the rows on the page, in order."""
    return re.findall(r'<a href="/reports/items/\d+/">(SKU-\w)</a>', html)


def test_every_status_is_listed_without_the_filter(as_alice, cat):
    html = as_alice.get(URL).content.decode()
    assert shown(html) == ["SKU-F", "SKU-B", "SKU-A", "SKU-C"]  # scored items, surest first
    assert '<select name="status"><option value="">all</option>' in html
    assert html.count('class="status status-auto_accepted"') == 2
    assert html.count('class="status status-labelled"') == 1
    assert html.count('class="status status-needs_review"') == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("auto_accepted", ["SKU-F", "SKU-B"]),
        ("needs_review", ["SKU-C"]),
        ("labelled", ["SKU-A"]),
        ("bogus", ["SKU-F", "SKU-B", "SKU-A", "SKU-C"]),  # ignored, like the other filters
    ],
)
def test_the_status_filter_keeps_only_that_status(as_alice, cat, status, expected):
    html = as_alice.get(URL, {"status": status}).content.decode()
    assert shown(html) == expected


def test_an_auto_accepted_row_shows_the_node_and_its_probability(as_alice, cat):
    html = as_alice.get(URL, {"status": "auto_accepted"}).content.decode()
    topwear, sneakers = (escape(path) for path in (TOPWEAR, SNEAKERS))
    assert f'auto-accepted<br><small class="muted accepted">at {topwear} (0.995)</small>' in html
    assert f"at {sneakers} (0.970)" in html
    assert '<option value="auto_accepted" selected>auto-accepted</option>' in html


def test_the_next_page_keeps_the_filter(as_alice, cat):
    html = as_alice.get(URL, {"status": "auto_accepted", "size": 1}).content.decode()
    assert shown(html) == ["SKU-F"]
    next_url = re.search(r'id="next-page" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "status=auto_accepted" in next_url
    assert shown(as_alice.get(next_url).content.decode()) == ["SKU-B"]


def test_the_htmx_request_gets_only_the_filtered_table(as_alice, cat):
    html = as_alice.get(URL, {"status": "needs_review"}, headers=HTMX).content.decode().strip()
    assert html.startswith('<div id="report-table"') and "<html" not in html
    assert shown(html) == ["SKU-C"]


def test_the_selector_filters_on_the_stored_status(cat, version):
    page = rsel.report_page(version=version, filters=rsel.ReportFilters(status="labelled"))
    assert [row.item.external_id for row in page.rows] == ["SKU-A"]
    assert page.rows[0].shown.accepted is None


def test_outsiders_are_refused_and_a_post_is_405(client, charlie, cat):
    assert client.get(URL, {"status": "labelled"}).status_code == 302  # to the login page
    client.force_login(charlie)
    assert client.get(URL, {"status": "labelled"}).status_code == 403
    assert client.post(URL, {"status": "labelled"}).status_code == 405
