"""Integers past the database's range, negative ones and non-numbers, in every integer
parameter of every API endpoint and HTML page: a 400 naming the parameter (a 404 for an id in
the path), never a 500, and nothing written.

SQLite cannot bind an integer past 64 bits (``OverflowError``): ``?taxonomy_version=10**32``
was a 500 on /api/model-versions/, ``?item=10**30`` on /review/tree/ and /reports/search/.
The API's integers are found in its schema, so a new filter is walked without touching this
file; the HTML pages' integer parameters are listed in HTML_PARAMS, and a test checks that the
list names every parameter the views read through labeling.views.params.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from labeling.models import Category, Item, Label, ModelVersion, Overlap, Rule, TaxonomyVersion
from labeling.roles import REVIEWER
from labeling.services.review.labels import label_create
from labeling.services.taxonomy.drafts import draft_start
from labeling.urls_converters import DB_INT_MAX, DB_INT_MIN, ID_MAX
from tests.factories import UserFactory
from tests.labeling.overlap_data import TSHIRTS, answer
from tests.labeling.review_data import SHIRTS, make_queue
from tests.labeling.rules_data import make_rule

VIEWS = Path(__file__).resolve().parents[2] / "labeling" / "views"
HUGE = 163427731561226138585198271397888  # the value the API fuzz test found


@dataclass(frozen=True)
class World:
    version: TaxonomyVersion
    draft: TaxonomyVersion
    item: Item
    label: Label
    model: ModelVersion
    overlap: Overlap  # disputed: alice and carol disagree
    rule: Rule

    def id_for(self, segment: str) -> int:
        """A real id for the path parameter after ``segment`` (``items/{id}/``)."""
        return {
            "items": self.item.pk,
            "rows": self.item.pk,
            "versions": self.version.pk,
            "taxonomy-versions": self.version.pk,
            "drafts": self.draft.pk,
            "taxonomy-drafts": self.draft.pk,
            "taxonomies": self.version.taxonomy_id,
            "taxonomy": self.version.taxonomy_id,
            "labels": self.label.pk,
            "model-versions": self.model.pk,
            "rules": self.rule.pk,
        }.get(segment, 1)


@pytest.fixture
def world(version, tree, alice, bob) -> World:
    entries = make_queue(version, tree, n=2)
    item = entries[0].item
    return World(
        version=version,
        draft=draft_start(taxonomy=version.taxonomy, author=bob),
        item=item,
        label=label_create(item=item, category=tree[SHIRTS], author=bob, source="review"),
        model=entries[0].model_version,
        overlap=_disputed(entries[1].item, tree),
        rule=make_rule(version),
    )


def _disputed(item: Item, tree: dict[str, Category]) -> Overlap:
    answer(UserFactory(username="carol", roles=[REVIEWER]), item, tree[SHIRTS])
    return answer(UserFactory(username="erin", roles=[REVIEWER]), item, tree[TSHIRTS]).overlap


def row_counts() -> dict[str, int]:
    models = [*apps.get_app_config("labeling").get_models(), get_user_model()]
    return {model.__name__: model.objects.count() for model in models}


# -- the API: every integer its schema documents ------------------------------------------------


@dataclass(frozen=True)
class ApiInteger:
    method: str
    path: str
    location: str  # query, path or body
    name: str
    minimum: int | None
    maximum: int | None

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.location}:{self.name}"


def _schema() -> dict[str, Any]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(document, default=str))


def _body_properties(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return {}
    body = content["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return body.get("properties", {})


def api_integers() -> list[ApiInteger]:
    schema, found = _schema(), []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            inputs = [
                (p["in"], p["name"], p["schema"]) for p in operation.get("parameters", [])
            ] + [("body", n, s) for n, s in _body_properties(schema, operation).items()]
            found += [
                ApiInteger(method.upper(), path, where, name, s.get("minimum"), s.get("maximum"))
                for where, name, s in inputs
                if s.get("type") == "integer" and not s.get("readOnly")
            ]
    return found


API_INTEGERS = api_integers()


def test_the_api_documents_a_database_range_for_every_integer_it_reads():
    assert {i.location for i in API_INTEGERS} == {"query", "path", "body"}
    assert len(API_INTEGERS) > 40
    unbounded = [str(i) for i in API_INTEGERS if i.minimum is None or i.maximum is None]
    assert unbounded == []
    assert all(DB_INT_MIN <= i.minimum <= i.maximum <= DB_INT_MAX for i in API_INTEGERS)  # type: ignore[operator]


def _bad_values(integer: ApiInteger) -> list[int]:
    assert integer.minimum is not None and integer.maximum is not None
    return sorted({integer.minimum - 1, integer.maximum + 1, HUGE, -HUGE})


def _api_request(api: APIClient, integer: ApiInteger, value: int, world: World) -> Any:
    def fill(match: re.Match) -> str:
        if integer.location == "path" and match[2] == integer.name:
            return f"{match[1]}/{value}"
        return f"{match[1]}/{world.id_for(match[1])}"

    path = re.sub(r"([\w-]+)/\{(\w+)\}", fill, integer.path)
    query = {integer.name: value} if integer.location == "query" else {}
    body = {integer.name: value} if integer.location == "body" else {}
    if integer.method == "GET":
        return api.get(path, query)
    path += "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return api.generic(integer.method, path, json.dumps(body), content_type="application/json")


@pytest.fixture
def api(world, bob) -> APIClient:
    client = APIClient()
    client.force_login(bob)  # a TaxonomyAdmin may call every operation
    return client


@pytest.mark.parametrize("integer", API_INTEGERS, ids=str)
def test_an_api_integer_out_of_range_is_refused_and_nothing_is_written(integer, api, world):
    before = row_counts()
    for value in _bad_values(integer):
        response = _api_request(api, integer, value, world)
        if integer.location == "path":  # no object has that id: a JSON 404
            assert response.status_code == 404, (value, response.status_code)
            assert "detail" in response.json()
        else:
            assert response.status_code == 400, (value, response.content[:300])
            assert integer.name in response.json(), (value, response.json())
    assert row_counts() == before


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"taxonomy_version": HUGE}, "taxonomy_version"),
        ({"offset": -51400686, "limit": -1992, "taxonomy_version": -HUGE}, "taxonomy_version"),
        ({"offset": -51400686, "limit": -1992}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": ID_MAX + 1}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_a_bad_filter_or_page_is_a_400_in_the_api_error_shape(api, query, name):
    response = api.get("/api/model-versions/", query)
    assert response.status_code == 400
    assert name in response.json()
    assert all(isinstance(m, str) for m in response.json()[name])


def test_a_limit_past_the_largest_page_is_still_cut_to_it(api, world):
    response = api.get("/api/items/", {"limit": ID_MAX, "offset": 1})
    assert response.status_code == 200
    assert "limit=1000" in response.json()["previous"]


# -- every URL with an id in its path ---------------------------------------------------------


def _routes(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        else:
            yield route, entry


def test_no_url_takes_an_int_without_a_range():
    """``<int:…>`` matches any run of digits; ``<id:…>`` (labeling.urls_converters) only ids
    the database can hold."""
    loose = [
        route
        for route, entry in _routes(get_resolver().url_patterns)
        if any(
            isinstance(c, IntConverter) for c in getattr(entry.pattern, "converters", {}).values()
        )
    ]
    assert loose == []


ID_ROUTES = sorted({route for route, _ in _routes(get_resolver().url_patterns) if "<id:" in route})


def test_the_id_routes_cover_the_pages_and_the_api():
    assert len(ID_ROUTES) > 20
    assert {"reports/rows/<id:pk>/", "api/items/<id:pk>/", "items/<id:pk>/image/"} <= set(ID_ROUTES)


@pytest.mark.parametrize("route", ID_ROUTES)
@pytest.mark.parametrize("value", [ID_MAX + 1, HUGE, -1])
def test_an_id_past_the_range_in_a_path_is_a_404(route, value, client, bob, db):
    bob.is_staff = bob.is_superuser = True
    bob.save()
    client.force_login(bob)
    path = "/" + re.sub(r"<id:\w+>", str(value), route)
    path = re.sub(r"<\w+:\w+>", "add", path)
    before = row_counts()
    for method in ("GET", "POST"):
        response = client.generic(method, path)
        assert response.status_code in (404, 405), (method, path, response.status_code)
    assert row_counts() == before


# -- the HTML pages' integer parameters --------------------------------------------------------


@dataclass(frozen=True)
class HtmlParam:
    method: str
    path: str
    name: str
    # Other parameters the view needs to read this one (real ids come from the world).
    given: Callable[[World], dict[str, Any]] = field(default=lambda world: {})
    # The parameter travels inside the form field ``qs`` (a report's query string).
    in_qs: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.name}{' in qs' if self.in_qs else ''}"


HTML_PARAMS = [
    HtmlParam("GET", "/review/tree/", "node"),
    HtmlParam("GET", "/review/tree/", "item"),
    HtmlParam("GET", "/review/search/", "item", lambda w: {"q": "shirt"}),
    HtmlParam("GET", "/reports/search/", "item", lambda w: {"q": "shirt"}),
    HtmlParam("GET", "/reports/confused/", "true", lambda w: {"predicted": 1}),
    HtmlParam("GET", "/reports/confused/", "predicted", lambda w: {"true": 1}),
    HtmlParam("GET", "/reports/catalog/", "node"),
    HtmlParam("GET", "/reports/catalog/", "size"),
    HtmlParam("GET", "/reports/catalog/", "labelled_as"),  # a guideline's examples
    HtmlParam("GET", "/reports/catalog/csv/", "labelled_as"),
    HtmlParam("GET", "/reports/catalog/csv/", "node"),
    HtmlParam("POST", "/reports/correct/", "item", lambda w: {"category": 1}),
    HtmlParam("POST", "/reports/undo/", "labels"),
    HtmlParam("POST", "/reports/undo/", "item", lambda w: {"labels": w.label.pk}),
    HtmlParam("POST", "/reports/undo/", "node", in_qs=True),
    HtmlParam("POST", "/reports/bulk/", "items", lambda w: {"category": 1}),
    HtmlParam("POST", "/taxonomy/proposals/create/", "taxonomy", lambda w: {"name": "New"}),
    HtmlParam(
        "POST",
        "/taxonomy/proposals/create/",
        "proposals",
        lambda w: {"taxonomy": w.version.taxonomy_id, "name": "New"},
    ),
    HtmlParam("POST", "/taxonomy/proposals/dismiss/", "proposals"),
    HtmlParam("POST", "/taxonomy/assignments/save/", "user"),  # whose assignment
    HtmlParam("POST", "/taxonomy/assignments/save/", "group"),
    HtmlParam("GET", "/review/adjudicate/search/", "overlap"),
    HtmlParam("POST", "/review/adjudicate/{overlap}/", "category"),  # the adjudicator's choice
]
BAD_HTML_VALUES = [str(ID_MAX + 1), str(HUGE), "-1", "0", str(-HUGE), "12abc", "1_000", "٣"]


def test_the_list_names_every_integer_parameter_the_views_read():
    read = set()
    for module in VIEWS.glob("*.py"):
        source = module.read_text()
        read |= set(re.findall(r"int(?:_list)?_param\(\s*[\w.]+,\s*\"(\w+)\"", source))
        assert ".isdigit()" not in source and "int(request." not in source, module.name
    assert read == {p.name for p in HTML_PARAMS}


def _html_request(client: Client, param: HtmlParam, value: str, world: World, htmx: bool) -> Any:
    data = param.given(world) | {param.name: value}
    if param.in_qs:
        data = {"qs": f"{param.name}={value}"}
    headers = {"HX-Request": "true"} if htmx or param.in_qs else {}
    path = param.path.format(overlap=world.overlap.pk)
    if param.method == "GET":
        return client.get(path, data, headers=headers)
    return client.post(path, data, headers=headers)


@pytest.mark.parametrize("param", HTML_PARAMS, ids=str)
def test_a_page_parameter_out_of_range_is_a_400_naming_it(param, client, bob, world):
    client.force_login(bob)
    before = row_counts()
    for value in BAD_HTML_VALUES:
        for htmx in (False, True):
            response = _html_request(client, param, value, world, htmx)
            assert response.status_code == 400, (value, htmx, response.status_code)
            assert f"parameter &#x27;{param.name}&#x27;" in response.content.decode()
            assert (b"<html" in response.content) is not (htmx or param.in_qs)
    assert row_counts() == before


def test_a_page_parameter_in_range_still_works(client, alice, world):
    client.force_login(alice)
    assert client.get("/review/tree/", {"item": world.item.pk, "node": ""}).status_code == 200
    assert client.get("/reports/catalog/", {"size": "20", "node": ""}).status_code == 200


def test_other_bad_requests_keep_the_plain_400_page(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = client.get("/login/", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert b"Bad request" in response.content
    assert b"evil" not in response.content


@pytest.mark.parametrize("sort", ["item", "-item", "confidence"])
def test_a_report_cursor_past_the_range_starts_at_the_first_page(client, alice, world, sort):
    client.force_login(alice)
    cursor = {"sort": sort, "after": f"{HUGE}_{-HUGE}"}
    first_page = client.get("/reports/catalog/", {"sort": sort}).content
    response = client.get("/reports/catalog/", cursor)
    assert response.status_code == 200
    rows = first_page.count(b'class="report-row')
    assert rows > 0
    assert response.content.count(b'class="report-row') == rows
