"""Schemathesis against our own OpenAPI schema, in process through the WSGI app.

Every operation gets a bounded number of generated requests (valid and invalid bodies, query
strings and path ids) with a TaxonomyAdmin's token (a TaxonomyAdmin may call every operation,
so the bodies reach validation instead of stopping at 403). Each answer must not be a server
error and must match the schema: a documented status code, content type, headers and body.

The operations are parametrized one by one (schemathesis' own pytest loader does not work with
pytest 9 yet), and hypothesis runs derandomized: the same requests on every run. Requests that
once broke the API are pinned in PINNED, so they are sent whatever hypothesis generates.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import api_token_for
from tests.labeling.review_data import make_queue

# About 30 operations: this many requests each keeps the whole run well under a minute.
MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
APP = get_wsgi_application()


def _schema() -> schemathesis.BaseSchema:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(json.dumps(document, default=str)))


SCHEMA = _schema()
OPERATIONS = [(op.ok().path, op.ok().method.upper()) for op in SCHEMA.get_all_operations()]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's WSGI handler closes the database connection after each request, which ends
    the test's transaction on PostgreSQL; Django's own test client switches this off too."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def admin_token(bob, version, tree) -> str:
    make_queue(version, tree, n=2)  # items, predictions and an active model to find by id
    return api_token_for(bob)


# (path, query) the fuzzer found answered with a 500 on SQLite, which cannot bind an integer past
# 64 bits (OverflowError); each is now a 400 naming the parameter.
PINNED = [
    (
        "/api/model-versions/",
        {
            "offset": -51400686,
            "limit": -1992,
            "taxonomy_version": -163427731561226138585198271397888,
        },
    ),
    ("/api/model-versions/", {"taxonomy_version": 163427731561226138585198271397888}),
    ("/api/predictions/", {"model_version": 99999999999999999999999}),
]


@pytest.mark.parametrize(("path", "query"), PINNED)
def test_requests_that_once_broke_the_api_get_a_documented_400(path, query, admin_token):
    case = SCHEMA[path]["GET"].Case(query=query)
    headers = {"Authorization": f"Token {admin_token}"}
    response = case.call_and_validate(app=APP, headers=headers, checks=CHECKS)
    assert response.status_code == 400
    assert set(response.json()) <= set(query)


def test_every_schema_operation_is_fuzzed():
    assert len(OPERATIONS) >= 28
    assert ("POST", "/api/items/bulk/") in {(m, p) for p, m in OPERATIONS}


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_generated_requests_get_answers_the_schema_documents(path, method, admin_token):
    headers = {"Authorization": f"Token {admin_token}"}

    @given(case=SCHEMA[path][method].as_strategy())
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(app=APP, headers=headers, checks=CHECKS)

    check()
