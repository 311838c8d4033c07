"""labeling.tasks.find_label_errors_task: after a training, flag suspects, then refresh the queue."""

from __future__ import annotations

import pytest

from labeling import tasks
from labeling.models import LabelErrorScan, TaxonomyVersion, TrainingRun
from labeling.services import dispatch
from labeling.services.learning import label_issues
from tests.labeling.services.label_errors_data import label_errors_settings, noisy_labels

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]


@pytest.fixture(autouse=True)
def small_passes(settings, small_loop):
    label_errors_settings(settings)


def test_the_task_is_sent_by_name_and_acks_late():
    assert (
        dispatch.registered_task("find_label_errors_task").name == tasks.find_label_errors_task.name
    )
    assert tasks.find_label_errors_task.acks_late is True


def test_it_stores_the_flags_of_the_run_then_asks_for_a_queue_refresh(tree, version, sent):
    noisy = noisy_labels(version)
    run = TrainingRun.objects.create(taxonomy_version=version, status="succeeded")
    assert tasks.find_label_errors_task.delay(version.pk, run.pk).get() == len(noisy.wrong)
    assert LabelErrorScan.objects.get().training_run == run
    assert sent == [("queue_refresh_task", (version.pk,))]


def test_a_skipped_pass_refreshes_nothing(tree, version, settings, sent):
    label_errors_settings(settings, LABEL_ERRORS_MIN_LABELS=1000)
    noisy_labels(version)
    assert tasks.find_label_errors_task(version.pk) is None
    assert sent == [] and not LabelErrorScan.objects.exists()


def test_a_version_gone_or_no_longer_current_is_left_alone(tree, version, sent):
    TaxonomyVersion.objects.filter(pk=version.pk).update(is_current=False)
    assert tasks.find_label_errors_task(version.pk) is None
    assert tasks.find_label_errors_task(999999) is None
    assert sent == []


def test_a_second_pass_within_the_hour_is_skipped(version, monkeypatch):
    assert label_issues.label_issues_due(version=version)
    LabelErrorScan.objects.create(taxonomy_version=version, label_count=100, seconds=1.0)
    assert not label_issues.label_issues_due(version=version)
    calls = []
    monkeypatch.setattr(label_issues, "label_issues_refresh", lambda **kw: calls.append(kw))
    assert tasks.find_label_errors_task(version.pk) is None
    assert calls == []
