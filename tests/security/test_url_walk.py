"""Every URL and every API endpoint, walked as each persona.

The URLs come from the resolver, so a new view is walked without touching this file; its
path must match one of ROLE_RULES, which say who may use it (a URL that matches none fails the
walk: decide who may see it). Path parameters are filled with real rows of a small world.

anonymous -> pages redirect to the login, the API answers 401; a user without a role -> 403;
a Reviewer -> only reviewer URLs; an Adjudicator (and no other role) -> only the adjudication
pages and the overlap, reliability and agreement reads; a TaxonomyAdmin and a superuser ->
everything except the Django admin, which only staff reach. Unsafe methods without a CSRF token are refused. No
request may end in a 500 (the test client re-raises a view's exception: it is recorded too).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from PIL import Image

from labeling.models import (
    ApiToken,
    Category,
    Item,
    Label,
    ModelVersion,
    Overlap,
    ReviewAssignment,
    Rule,
    TaxonomyVersion,
)
from labeling.models.tokens import token_prefix
from labeling.roles import ADJUDICATOR, REVIEWER
from labeling.services.catalog.items import item_create
from labeling.services.review.assignments import assignment_set
from labeling.services.review.labels import label_create
from labeling.services.rules.crud import RuleInput, rule_create
from labeling.services.taxonomy.drafts import draft_start
from taxoloop.celery import app as celery_app
from tests.factories import ItemFactory, UserFactory, api_token_for
from tests.labeling.overlap_data import TSHIRTS, answer
from tests.labeling.review_data import SHIRTS, make_queue

PUBLIC, STAFF, REVIEWER_ROLE, ADMIN_ROLE = "public", "staff", "reviewer", "taxonomy-admin"
ADJUDICATOR_ROLE = "adjudicator"  # Adjudicators, taxonomy admins, superusers (issue 16)
TEAM_ROLE = "reviewer-or-adjudicator"  # the overlap, reliability and agreement reads
LOGGED_IN = "logged-in"  # any user, with or without a role (their own API tokens)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
WORDS = {"kind": "words", "value": "shirt"}

# (path regex, role or {method: role, "*": role}); the first match wins.
ROLE_RULES: list[tuple[str, str | dict[str, str]]] = [
    (r"^/(health|login|logout)/$", PUBLIC),
    (r"^/favicon\.ico$", PUBLIC),
    # The API's description (no data) and the token exchange (a login form for scripts).
    (r"^/api/(schema|docs|redoc|token)/$", PUBLIC),
    (r"^/admin/login/$", PUBLIC),
    (r"^/admin/", STAFF),
    (r"^/taxonomy/", ADMIN_ROLE),
    (r"^/models/train/$", ADMIN_ROLE),
    (r"^/api/(taxonomies|taxonomy-drafts)/", ADMIN_ROLE),
    (r"^/api/taxonomy-versions/\d+/rollback/$", ADMIN_ROLE),
    (r"^/api/items/bulk/$", ADMIN_ROLE),
    (r"^/api/review-assignments/", ADMIN_ROLE),
    (r"^/api/rules/", ADMIN_ROLE),  # rules beside the model (issue 17)
    (r"^/review/adjudicate/", ADJUDICATOR_ROLE),
    (r"^/api/overlaps/\d+/adjudicate/$", ADJUDICATOR_ROLE),
    (r"^/api/(overlaps|reviewer-reliability|review-quality)/", TEAM_ROLE),
    (r"^/api/items/(\d+/)?$", {"GET": REVIEWER_ROLE, "*": ADMIN_ROLE}),
    (r"^/api/categories/\d+/guideline/$", {"GET": REVIEWER_ROLE, "*": ADMIN_ROLE}),
    (r"^/api/tokens/", LOGGED_IN),
    (r"^/api/", REVIEWER_ROLE),
    (r"^/(review/.*|reports/.*|dashboard/|models/|items/\d+/image/)?$", REVIEWER_ROLE),
]


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def role(self, method: str) -> str:
        for pattern, rule in ROLE_RULES:
            if re.match(pattern, self.path):
                return rule if isinstance(rule, str) else rule.get(method, rule["*"])
        raise AssertionError(f"{self.path} matches no ROLE_RULES entry: decide who may use it")


@dataclass(frozen=True)
class World:
    version: TaxonomyVersion
    draft: TaxonomyVersion
    item: Item
    label: Label
    model: ModelVersion
    token: ApiToken  # alice's: the others revoking it get 404
    category: Category
    assignment: ReviewAssignment  # dora's (a reviewer outside the personas)
    overlap: Overlap  # disputed: dora and erin disagree on an item
    rule: Rule  # a taxonomy admin's rule (issue 17)


# -- enumerating URLs -------------------------------------------------------------------------


def _patterns(patterns: list, chain: tuple = ()) -> Iterator[tuple[tuple[Any, ...], URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, (*chain, entry.pattern))
        else:
            yield (*chain, entry.pattern), entry


def _concrete(pattern: Any, fill: Callable[[str], str]) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: fill(m.group(1)), str(pattern._route))
    assert isinstance(pattern, RegexPattern), pattern
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: fill(m.group(1)), pattern._regex)
    return text.lstrip("^").rstrip("$")


def _model_admin(view: Any) -> Any:
    """The ModelAdmin behind an admin view (``model_admin`` or a wrapped bound method)."""
    owner = getattr(view, "model_admin", None) or getattr(
        getattr(view, "__wrapped__", None), "__self__", None
    )
    return owner if hasattr(owner, "model") else None


def _filler(world: World, view: Any, route: str) -> Callable[[str], str]:
    """Real values for path parameters, chosen by name and by the segment before ``pk``."""
    by_segment = {
        "items": world.item.pk,
        "rows": world.item.pk,
        "versions": world.version.pk,
        "taxonomy-versions": world.version.pk,
        "drafts": world.draft.pk,
        "taxonomy-drafts": world.draft.pk,
        "taxonomies": world.version.taxonomy_id,
        "taxonomy": world.version.taxonomy_id,
        "labels": world.label.pk,
        "model-versions": world.model.pk,
        "tokens": world.token.pk,
        "categories": world.category.pk,  # its guideline (taxonomy admin, API)
        "guidelines": world.category.pk,  # its guideline (reviewer's page)
        "assignments": world.assignment.pk,
        "review-assignments": world.assignment.pk,  # the API's
        "overlaps": world.overlap.pk,
        "adjudicate": world.overlap.pk,
        "rules": world.rule.pk,  # the admin page's and the API's
    }
    model_admin = _model_admin(view)

    def fill(name: str) -> str:
        if name == "pk":
            segment = re.search(r"([\w-]+)/<id:pk>", route)
            assert segment and segment.group(1) in by_segment, f"which row fills pk in {route}?"
            return str(by_segment[segment.group(1)])
        if name in ("object_id", "id") and model_admin is not None:
            return str(model_admin.model.objects.values_list("pk", flat=True).first() or 1)
        values = {
            "op": "add",
            "report": "catalog",
            "app_label": "labeling",
            "content_type_id": str(ContentType.objects.get_for_model(Item).pk),
            "object_id": str(world.item.pk),
            "url": "no-such-page/",
        }
        assert name in values, f"no value for the path parameter {name!r} in {route}"
        return values[name]

    return fill


def _methods(view: Any, path: str) -> tuple[str, ...]:
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is not None and hasattr(cls, "operations"):  # labeling.api.views.base.route_by_method
        return tuple(sorted(m.upper() for m in cls.operations))
    if cls is not None:
        names = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
        return tuple(m.upper() for m in names if m in cls.http_method_names)
    response = Client().get(path)  # require_GET/require_POST answer before any login check
    if response.status_code == 405:
        return tuple(sorted(m.strip() for m in response["Allow"].split(",")))
    return ("GET",)


def endpoints(world: World) -> list[Endpoint]:
    found: dict[str, Endpoint] = {}
    for chain, entry in _patterns(get_resolver().url_patterns):
        fill = _filler(world, entry.callback, "".join(str(pattern) for pattern in chain))
        path = "/" + "".join(_concrete(pattern, fill) for pattern in chain)
        found.setdefault(path, Endpoint(path, _methods(entry.callback, path)))
    # Logging out ends the persona's session: those URLs go last.
    return sorted(found.values(), key=lambda endpoint: "logout" in endpoint.path)


# -- the world and the personas ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_worker_ping():
    """/health/ would wait a second for worker replies on every visit."""
    with mock.patch.object(celery_app.control, "ping", return_value=[]):
        yield


@pytest.fixture
def world(version, tree, alice, bob, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    entries = make_queue(version, tree, n=2)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3)).save(buffer, format="PNG")
    item = item_create(external_id="walk-1", title="Walked shirt", image=buffer.getvalue())
    label = label_create(item=item, category=tree[SHIRTS], author=alice, source="review")
    dora = UserFactory(username="dora", roles=[REVIEWER])
    disputed = ItemFactory(external_id="walk-2", title="Disputed shirt")
    answer(dora, disputed, tree[SHIRTS])
    overlap = answer(
        UserFactory(username="erin", roles=[REVIEWER]), disputed, tree[TSHIRTS]
    ).overlap
    return World(
        version=version,
        draft=draft_start(taxonomy=version.taxonomy, author=bob),
        item=item,
        label=label,
        model=entries[0].model_version,
        token=ApiToken.objects.get(prefix=token_prefix(api_token_for(alice))),
        category=tree[SHIRTS],
        assignment=assignment_set(user=dora, reasons=["audit"]),
        overlap=overlap,
        rule=rule_create(
            version=version,
            data=RuleInput(name="walk", action="review", reason="walked", conditions=[WORDS]),
            author=bob,
        ),
    )


PERSONAS: dict[str, Callable[[], Any]] = {
    "anonymous": lambda: None,
    "no-role": lambda: UserFactory(username="charlie"),
    "reviewer": lambda: UserFactory(username="alice", roles=[REVIEWER]),
    "adjudicator": lambda: UserFactory(username="judge", roles=[ADJUDICATOR]),
    "taxonomy-admin": lambda: UserFactory(username="bob"),  # roles: the world's bob
    "superuser": lambda: UserFactory(username="root", is_staff=True, is_superuser=True),
}


def expected(persona: str, role: str, is_api: bool) -> str:
    """'any', 'allow', 'deny' (403), 'login' (redirect or 401), 'admin-login' or 'staff'
    (the admin itself may still refuse an action, such as adding to the append-only ledger)."""
    if role == PUBLIC:
        return "any"
    if role == STAFF:
        return "staff" if persona == "superuser" else "admin-login"
    if persona == "anonymous":
        return "login"
    if role == LOGGED_IN:
        return "allow"
    if persona == "no-role":
        return "deny"
    if persona == "reviewer" and role in (ADMIN_ROLE, ADJUDICATOR_ROLE):
        return "deny"
    if persona == "adjudicator" and role not in (ADJUDICATOR_ROLE, TEAM_ROLE):
        return "deny"
    return "allow"


def _is_login_redirect(response: Any, prefix: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(prefix)


def verdict(response: Any, outcome: str, is_api: bool) -> bool:
    if response.status_code == 500:  # /health/'s deliberate 503 is an answer, not a crash
        return False
    if outcome == "any":
        return True
    if outcome == "admin-login":  # the admin's logout sends outsiders to its index first
        return (
            _is_login_redirect(response, "/admin/login/")
            or _is_login_redirect(response, "/admin/")
            and response["Location"] == "/admin/"
        )
    if outcome == "staff":
        return not _is_login_redirect(response, "/admin/login/")
    if outcome == "login":
        return response.status_code == 401 if is_api else _is_login_redirect(response, "/login/")
    if outcome == "deny":
        return response.status_code == 403
    return response.status_code not in (401, 403, 405) and not _is_login_redirect(
        response, "/login/"
    )


def send(client: Client, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    return client.generic(method, path, "{}", content_type="application/json")


def walk(client: Client, persona: str, world: World) -> tuple[int, list[str]]:
    problems, requests = [], 0
    for endpoint in endpoints(world):
        for method in endpoint.methods:
            outcome = expected(persona, endpoint.role(method), endpoint.is_api)
            requests += 1
            try:
                response = send(client, method, endpoint.path)
            except Exception as error:  # a 500: the client re-raises the view's exception
                problems.append(f"{method} {endpoint.path}: raised {error!r}")
                continue
            if not verdict(response, outcome, endpoint.is_api):
                problems.append(
                    f"{method} {endpoint.path}: expected {outcome}, got {response.status_code}"
                    f" {response.get('Location', '')}"
                )
    return requests, problems


# -- the tests --------------------------------------------------------------------------------


def test_the_walk_covers_every_kind_of_url(world):
    paths = {endpoint.path for endpoint in endpoints(world)}
    assert len(paths) > 100
    assert {"/review/", "/api/items/", "/admin/labeling/item/", "/health/"} <= paths
    assert f"/taxonomy/drafts/{world.draft.pk}/ops/add/" in paths
    assert f"/api/labels/{world.label.pk}/retract/" in paths


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_every_url_refuses_or_serves_each_persona_as_its_role_says(persona, world, client):
    user = PERSONAS[persona]()
    if user is not None:
        client.force_login(user)
    requests, problems = walk(client, persona, world)
    assert requests > 120
    assert "\n".join(problems) == ""


def test_unsafe_methods_without_a_csrf_token_are_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(PERSONAS["superuser"]())
    counts = [model.objects.count() for model in (Item, Label, Category, TaxonomyVersion)]
    unsafe = [(m, e.path) for e in endpoints(world) for m in e.methods if m in UNSAFE]
    assert len(unsafe) > 30
    refused = [(m, p) for m, p in unsafe if send(client, m, p).status_code == 403]
    assert refused == unsafe
    assert [model.objects.count() for model in (Item, Label, Category, TaxonomyVersion)] == counts
