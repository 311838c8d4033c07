"""The model page: versions with metrics, training runs with live progress, "Train now"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from labeling.models import ModelVersion, TrainingRun
from labeling.views.models import TRAINING_COALESCED, human_duration
from tests.factories import TaxonomyVersionFactory, UserFactory

URL = "/models/"


@pytest.fixture
def models(version):
    """An active model trained in 95 s, 4 min 10 s after its newest label, and its parent."""
    t0 = timezone.now() - timedelta(hours=1)
    parent = ModelVersion.objects.create(taxonomy_version=version, status="retired", label_count=20)
    active = ModelVersion.objects.create(
        taxonomy_version=version,
        status="active",
        label_count=140,
        parent=parent,
        metrics={
            "leaf_accuracy": 0.9123,
            "macro_f1": 0.8456,
            "ece": 0.0312,
            "rollup": {"decided_share": 0.934},
            "audit": {"leaf_accuracy": 0.88},
        },
        newest_label_at=t0,
        promoted_at=t0 + timedelta(minutes=4, seconds=10),
    )
    TrainingRun.objects.create(
        taxonomy_version=version,
        status="succeeded",
        model_version=active,
        started_at=t0,
        finished_at=t0 + timedelta(seconds=95),
        progress=1.0,
        outcome="promoted",
    )
    return parent, active


def test_the_page_lists_the_versions_with_metrics_durations_and_latency(client, alice, models):
    parent, active = models
    other = ModelVersion.objects.create(taxonomy_version=TaxonomyVersionFactory(is_current=False))
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    rows = response.context["rows"]
    assert [r.model for r in rows] == [active, parent]
    assert other.pk not in {r.model.pk for r in rows}
    assert (rows[0].duration, rows[0].latency) == ("1 min 35 s", "4 min 10 s")
    row = html[html.index(f'id="model-{active.pk}"') :]
    row = row[: row.index("</tr>")]
    for text in [
        "active",
        f"#{parent.pk}",
        "140",
        "0.912",
        "(audit 0.880)",
        "0.846",
        "0.031",
        "93%",
    ]:
        assert text in row
    assert "Train now" not in html  # alice reviews; only taxonomy admins train


def test_running_runs_are_polled_every_two_seconds(client, alice, version):
    run = TrainingRun.objects.create(
        taxonomy_version=version, status="running", stage="fit", progress=0.42
    )
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert 'hx-trigger="every 2s"' in html and f'hx-get="{URL}"' in html
    assert f'id="run-{run.pk}"' in html and "42%" in html and ">fit<" in html


def test_polling_stops_when_no_run_is_in_flight(client, alice, models):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert 'id="training-runs"' in html and "every 2s" not in html


def test_the_htmx_request_gets_only_the_runs_fragment(client, alice, version):
    TrainingRun.objects.create(
        taxonomy_version=version, status="running", stage="rescore", progress=0.9
    )
    client.force_login(alice)
    response = client.get(URL, headers={"HX-Request": "true"})
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<div id="training-runs"') and html.endswith("</div>")
    assert "90%" in html and "<html" not in html and "Model versions" not in html


def test_a_taxonomy_admin_starts_a_training(
    client, bob, version, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    assert "Train now" in client.get(URL).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("models:train"))
    assert response.status_code == 302 and response["Location"] == URL
    run = TrainingRun.objects.get()
    assert (run.status, run.trigger, run.taxonomy_version) == ("queued", "manual", version)
    assert len(callbacks) == 1  # the task is sent only after the commit
    assert f"Training run #{run.pk} is queued" in client.get(URL).content.decode()


def test_a_second_train_request_is_coalesced(client, bob, version):
    running = TrainingRun.objects.create(taxonomy_version=version, status="running")
    client.force_login(bob)
    response = client.post(reverse("models:train"), follow=True)
    assert list(TrainingRun.objects.all()) == [running]
    assert TRAINING_COALESCED in response.content.decode()


def test_a_superuser_may_train(client, version):
    root = UserFactory(username="root", is_superuser=True)
    client.force_login(root)
    client.post(reverse("models:train"))
    assert TrainingRun.objects.filter(trigger="manual").count() == 1


def test_a_reviewer_may_not_train(client, alice, version):
    client.force_login(alice)
    response = client.post(reverse("models:train"))
    assert response.status_code == 403 and b"TaxonomyAdmin" in response.content
    assert not TrainingRun.objects.exists()


def test_a_user_without_a_role_is_refused(client, charlie, version):
    client.force_login(charlie)
    response = client.get(URL)
    assert response.status_code == 403 and b"Reviewer" in response.content


def test_anonymous_visitors_are_sent_to_the_login_page(client, version):
    for response in (client.get(URL), client.post(reverse("models:train"))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert not TrainingRun.objects.exists()


def test_the_wrong_method_is_refused(client, bob, version):
    client.force_login(bob)
    assert client.post(URL).status_code == 405
    assert client.get(reverse("models:train")).status_code == 405
    assert not TrainingRun.objects.exists()


def test_without_a_current_version_the_page_says_to_import_one(client, alice, db):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert "No current taxonomy version" in html


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.4, "0 s"),
        (59, "59 s"),
        (61, "1 min 01 s"),
        (3600 + 4 * 60 + 59, "1 h 04 min"),
    ],
)
def test_durations_read_as_words(seconds, text):
    assert human_duration(None if seconds is None else timedelta(seconds=seconds)) == text


def test_a_running_rescore_shows_its_progress_over_all_shards_and_the_page_polls(
    client, alice, models
):
    from labeling.models import RescoreJob, RescoreShard

    _, active = models
    job = RescoreJob.objects.create(model_version=active, shard_count=4, item_count=20_000)
    for number, done in enumerate((5000, 5000, 2500, 0)):
        RescoreShard.objects.create(job=job, number=number, items_done=done)
    job.shards_finished = 2
    job.save()
    client.force_login(alice)
    page = client.get(URL)
    assert page.context["rescores"] == [job]
    assert page.context["rescores"][0].fraction == pytest.approx(12_500 / 20_000)
    html = client.get(URL, headers={"HX-Request": "true"}).content.decode()  # the poll
    assert f'id="rescore-{job.pk}"' in html and "62% of 20000 items" in html
    assert "2 / 4" in html and 'hx-trigger="every 2s"' in html
    job.status = RescoreJob.Status.DONE
    job.save()
    again = client.get(URL)
    assert again.context["rescores"][0].fraction == 1.0
    assert 'hx-trigger="every 2s"' not in again.content.decode()


def _row_html(html, model):
    row = html[html.index(f'id="model-{model.pk}"') :]
    return row[: row.index("</tr>")]


def _cells(row_html, names):
    """The text of the cells with the given data-figure names, in that order."""
    out = []
    for name in names:
        at = row_html.index(f'data-figure="{name}"')
        out.append(row_html[row_html.index(">", at) + 1 : row_html.index("</td>", at)].strip())
    return out


@pytest.fixture
def compared(version):
    """The issue's page: a retired model that scored 0.982 on its own (easier, smaller)
    held-out set, and the active one, 0.958 on its own; the active model's run scored the
    retired one on the same 60 labels: 0.941."""
    retired = ModelVersion.objects.create(
        taxonomy_version=version,
        status="retired",
        label_count=150,
        metrics={"leaf_accuracy": 0.982, "score": 0.99, "n_eval": 40, "n_audit": 8},
    )
    active = ModelVersion.objects.create(
        taxonomy_version=version,
        status="active",
        label_count=240,
        parent=retired,
        metrics={
            "leaf_accuracy": 0.958,
            "score": 0.9712,
            "macro_f1": 0.9,
            "n_eval": 60,
            "n_audit": 12,
            "comparison": {
                "model": retired.pk,
                "difference": 0.0123,
                "low": -0.004,
                "high": 0.0311,
                "n": 60,
                "confidence": 0.95,
                "resamples": 2000,
                "margin": 0.0,
            },
            "common": {
                "n_eval": 60,
                "n_audit": 12,
                "models": {
                    str(retired.pk): {"leaf_accuracy": 0.941, "score": 0.9589, "macro_f1": 0.88}
                },
            },
        },
    )
    return retired, active


def test_models_are_compared_on_the_common_held_out_set(client, alice, compared):
    retired, active = compared
    client.force_login(alice)
    html = client.get(URL).content.decode()
    common = ["common-accuracy", "common-hf1"]
    assert _cells(_row_html(html, active), common) == ["0.958", "0.971"]
    assert _cells(_row_html(html, retired), common) == ["0.941", "0.959"]
    # Each model's own figure stays, saying on how many labels it was measured.
    assert _cells(_row_html(html, active), ["own-accuracy"]) == ["0.958 <small>on 60</small>"]
    assert _cells(_row_html(html, retired), ["own-accuracy"]) == ["0.982 <small>on 40</small>"]
    assert f"the 60 held-out labels (12 audit) of model #{active.pk}’s training run" in html


def test_the_paired_interval_against_the_model_it_replaced_is_shown(client, alice, compared):
    retired, active = compared
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert _cells(_row_html(html, active), ["comparison"]) == [
        f"+0.0123 <small>[−0.0040, +0.0311] vs #{retired.pk}, n = 60</small>"
    ]
    assert _cells(_row_html(html, retired), ["comparison"]) == ["—"]


def test_a_model_outside_the_common_set_shows_a_dash_there(client, alice, compared, version):
    retired, active = compared
    old = ModelVersion.objects.create(
        taxonomy_version=version, status="retired", metrics={"leaf_accuracy": 0.99, "n_eval": 9}
    )
    ModelVersion.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert _cells(_row_html(html, old), ["common-accuracy", "common-hf1"]) == ["—", "—"]


def test_without_a_common_set_the_page_says_so(client, alice, models):
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert "No model has been scored on a common held-out set yet" in html
