"""``manage.py find_label_errors``: the suspects found here and now, listed, queued."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labeling.models import LabelErrorScan, QueueEntry
from labeling.services.learning import scoring, training
from labeling.services.learning.ml import active_model_version
from tests.labeling.services.label_errors_data import label_errors_settings, noisy_labels
from tests.labeling.services.loop_data import clustered_items, leaves_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]


@pytest.fixture(autouse=True)
def small_passes(settings, small_loop):
    label_errors_settings(settings)


def _call(*args):
    out, err = StringIO(), StringIO()
    call_command("find_label_errors", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_a_summary_and_the_most_suspect_labels(tree, version, capsys):
    noisy = noisy_labels(version)
    out, _ = _call("--no-queue", "--show", "2")
    summary, *suspects = out.splitlines()
    assert summary.startswith(f"{version}: 3 suspected label errors among 90 labels (")
    assert len(suspects) == 2 and suspects[0].startswith("  1. item ")
    assert any(repr(item.title) in suspects[0] for item in noisy.wrong)
    bar = capsys.readouterr().err  # the progress bar, on the process's stderr
    assert "out-of-fold models" in bar and "3/3" in bar
    assert not QueueEntry.objects.exists()


def test_it_rebuilds_the_queue_with_the_suspects(tree, version, settings):
    noisy_labels(version)
    clustered_items(leaves_of(version), 3, seed=9)  # unlabelled items beside them
    settings.TAXOLOOP = {**settings.TAXOLOOP, "QUEUE_QUOTAS": {"re-review": 0.5, "uncertain": 0.5}}
    training.training_run(training.training_request(version, trigger="manual", enqueue=False).pk)
    scoring.rescore(active_model_version(version))
    out, _ = _call("--quiet", "--show", "0")
    assert out.splitlines()[-1].endswith(", 3 of them re-review")
    entries = QueueEntry.objects.filter(reason="re-review")
    assert entries.count() == 3 and all(e.detail["suspected"] for e in entries)


def test_without_an_active_model_the_queue_is_left_alone(tree, version):
    noisy_labels(version)
    out, _ = _call("--quiet")
    assert out.splitlines()[-1] == "queue: not rebuilt, the version has no active model yet"


def test_it_says_why_it_skipped(tree, version, settings):
    label_errors_settings(settings, LABEL_ERRORS_MIN_LABELS=1000)
    noisy_labels(version)
    out, _ = _call("--quiet")
    assert out.startswith(
        f"{version}: skipped: 90 usable labels, fewer than LABEL_ERRORS_MIN_LABELS (1000) ("
    )
    assert not LabelErrorScan.objects.exists()


def test_it_refuses_an_unknown_taxonomy(db):
    with pytest.raises(CommandError, match="no current version of taxonomy 'nope'"):
        _call("--taxonomy", "nope")
