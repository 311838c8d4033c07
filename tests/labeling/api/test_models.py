"""GET /api/model-versions/ and /api/model-versions/<id>/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.models import ModelVersion, TrainingRun


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def model(version):
    model = ModelVersion.objects.create(
        taxonomy_version=version, status="active", label_count=120, metrics={"leaf_accuracy": 0.81}
    )
    TrainingRun.objects.create(
        taxonomy_version=version, status="succeeded", model_version=model, timings={"fit": 2.5}
    )
    return model


def test_the_detail_shows_metrics_and_training_timings(model, alice):
    body = client_for(alice).get(f"/api/model-versions/{model.pk}/").json()
    assert (body["status"], body["label_count"], body["metrics"]) == (
        "active",
        120,
        {"leaf_accuracy": 0.81},
    )
    assert body["training_runs"][0]["timings"] == {"fit": 2.5}
    assert body["training_runs"][0]["status"] == "succeeded"


def test_the_list_filters_by_status(model, version, alice):
    rejected = ModelVersion.objects.create(taxonomy_version=version, status="rejected")
    client = client_for(alice)
    assert [m["id"] for m in client.get("/api/model-versions/").json()["results"]] == [
        rejected.pk,
        model.pk,
    ]
    assert [
        m["id"] for m in client.get("/api/model-versions/?status=active").json()["results"]
    ] == [model.pk]
    assert (
        client.get(f"/api/model-versions/?taxonomy_version={version.pk + 1}").json()["count"] == 0
    )
    assert "status" in client.get("/api/model-versions/?status=great").json()


def test_the_list_runs_a_constant_number_of_queries(version, alice, django_assert_max_num_queries):
    for _ in range(50):
        model = ModelVersion.objects.create(taxonomy_version=version, status="rejected")
        TrainingRun.objects.create(taxonomy_version=version, status="failed", model_version=model)
    client = client_for(alice)
    with django_assert_max_num_queries(7):
        assert len(client.get("/api/model-versions/").json()["results"]) == 50


def test_unknown_versions_are_404_and_outsiders_refused(model, charlie, alice):
    assert client_for(alice).get("/api/model-versions/999999/").status_code == 404
    for url in ("/api/model-versions/", f"/api/model-versions/{model.pk}/"):
        assert client_for(charlie).get(url).status_code == 403
        assert client_for().get(url).status_code == 401
        assert client_for(alice).post(url, {}).status_code == 405
