"""labeling.services.learning.label_issues: suspected label errors, judged out of fold, stored."""

from __future__ import annotations

import logging

import pytest

from labeling.models import Label, LabelErrorScan, SuspectedLabelError
from labeling.selectors.label_errors import label_errors_scanned, suspected_label_errors_live
from labeling.services.learning import label_issues as svc
from labeling.services.learning import training
from labeling.services.review.labels import label_create
from tests.labeling.services.label_errors_data import label_errors_settings, noisy_labels
from tests.labeling.services.loop_data import clustered_items, leaves_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]


@pytest.fixture(autouse=True)
def small_passes(settings, small_loop):
    label_errors_settings(settings)


@pytest.fixture
def noisy(tree, version):
    return noisy_labels(version)


def _flags(version):
    return {f.item: f for f in suspected_label_errors_live(version_id=version.pk)}


def test_the_wrong_labels_are_flagged_with_their_evidence(version, noisy, caplog):
    with caplog.at_level(logging.INFO, logger=svc.__name__):
        outcome = svc.label_issues_refresh(version=version)
    flags = _flags(version)
    assert set(flags) == set(noisy.wrong)  # well-separated clusters: exactly the wrong ones
    assert outcome.labels == len(noisy.truth) and outcome.flags == len(flags)
    for item, given in noisy.wrong.items():
        flag = flags[item]
        assert (flag.label, flag.given, flag.suggested) == (
            Label.objects.get(item=item),
            given,
            noisy.truth[item],
        )
        assert flag.p_given < 0.5 < flag.p_suggested and flag.score == flag.p_given
    assert [f.rank for f in flags.values()] == sorted(f.rank for f in flags.values())
    assert "suspected label errors among 90 labels" in caplog.text


def test_the_scan_records_what_it_read(version, noisy):
    outcome = svc.label_issues_refresh(version=version)
    scan = LabelErrorScan.objects.get()
    assert scan == outcome.scan and scan.training_run is None
    assert (scan.label_count, scan.flag_count) == (90, outcome.flags)
    assert scan.config["folds"] == 3 and scan.config["filter_by"] == "both"
    assert label_errors_scanned(version_id=version.pk)


def test_a_new_label_makes_the_flag_stale(version, noisy):
    svc.label_issues_refresh(version=version)
    item = next(iter(noisy.wrong))
    label_create(item=item, category=noisy.truth[item], author=None, source="review")
    assert item not in _flags(version)
    assert SuspectedLabelError.objects.filter(item=item).exists()  # stored, no longer live


def test_a_second_pass_replaces_the_flags(version, noisy):
    svc.label_issues_refresh(version=version)
    for item in noisy.wrong:
        label_create(item=item, category=noisy.truth[item], author=None, source="review")
    svc.label_issues_refresh(version=version)
    latest = LabelErrorScan.objects.first()
    assert LabelErrorScan.objects.count() == 2
    assert set(SuspectedLabelError.objects.values_list("scan", flat=True)) <= {latest.pk}
    assert not set(noisy.wrong) & set(_flags(version))


def test_too_few_labels_skip_the_pass_and_store_nothing(tree, version, settings):
    label_errors_settings(settings, LABEL_ERRORS_MIN_LABELS=100)
    noisy_labels(version)
    outcome = svc.label_issues_refresh(version=version)
    assert outcome.skipped == svc.TOO_FEW_LABELS.format(n=90, minimum=100)
    assert outcome.scan is None and not LabelErrorScan.objects.exists()


def test_labels_all_in_one_leaf_skip_the_pass(tree, version):
    leaves = leaves_of(version)
    for item in clustered_items(leaves, 12, seed=1):
        label_create(item=item, category=leaves[0], author=None, source="review")
    outcome = svc.label_issues_refresh(version=version)
    assert outcome.skipped == svc.TOO_FEW_CLASSES.format(k=1, size=2)
    assert "skipped" in outcome.line() and not LabelErrorScan.objects.exists()


def test_a_training_run_with_enough_labels_asks_for_a_pass_after_commit(
    version, noisy, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = training.training_request(version, trigger="manual", enqueue=False)
        run = training.training_run(run.pk)
    assert ("find_label_errors_task", (version.pk, run.pk)) in sent
    assert ("rescore_task", (run.model_version_id,)) in sent


def test_a_training_run_with_fewer_labels_asks_for_none(
    version, noisy, settings, sent, django_capture_on_commit_callbacks
):
    label_errors_settings(settings, LABEL_ERRORS_MIN_LABELS=1000)
    with django_capture_on_commit_callbacks(execute=True):
        run = training.training_request(version, trigger="manual", enqueue=False)
        training.training_run(run.pk)
    assert [name for name, _ in sent] == ["rescore_task"]
