"""``manage.py embed`` and ``manage.py train``: the loop by hand, with progress bars."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Embedding, ModelVersion, TrainingRun
from labeling.services.review import labels as label_svc
from tests.factories import ItemFactory, TaxonomyVersionFactory
from tests.labeling.services.loop_data import (
    TEXT_KEY,
    clustered_items,
    leaves_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]


def _call(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_embed_encodes_new_items_and_prints_a_summary(db):
    ItemFactory.create_batch(3)
    out, _ = _call("embed", "--quiet")
    assert f"{TEXT_KEY}: 3 encoded, 0 failed, 0 unchanged" in out
    assert Embedding.objects.count() == 3
    out, _ = _call("embed", "--encoder", TEXT_KEY, "--quiet")
    assert out.strip() == f"{TEXT_KEY}: 0 encoded, 0 failed, 3 unchanged"


def test_embed_refuses_an_unknown_encoder_and_a_bad_chunk_size(db):
    with pytest.raises(CommandError, match="Unknown encoder 'nope'"):
        _call("embed", "--encoder", "nope")
    with pytest.raises(CommandError, match="--chunk-size must be at least 1"):
        _call("embed", "--chunk-size", "0")


def test_train_trains_and_promotes_with_a_progress_bar(tree, version, capsys):
    for item, leaf in clustered_items(leaves_of(version), 3).items():
        label_svc.label_create(item=item, category=leaf, author=None, source="review")
    out, _ = _call("train")
    run = TrainingRun.objects.get()
    assert out.strip() == f"training run #{run.pk}: succeeded: promoted: there was no active model"
    assert run.trigger == "manual" and run.model_version.status == "active"
    assert "done: 100%" in capsys.readouterr().err  # tqdm's last state, on standard error


def test_train_takes_over_a_run_left_queued(tree, version):
    queued = TrainingRun.objects.create(taxonomy_version=version, trigger="labels")
    _call("train", "--quiet")
    queued.refresh_from_db()
    assert queued.status == "succeeded" and TrainingRun.objects.count() == 1


def test_train_refuses_while_a_run_is_running(tree, version):
    running = TrainingRun.objects.create(taxonomy_version=version, status="running")
    with pytest.raises(
        CommandError, match=f"Training run #{running.pk} of this version is already running"
    ):
        _call("train", "--quiet")


def test_train_cold_start_builds_the_zero_shot_model(tree, version):
    ItemFactory(title="Shirts one")
    _call("embed", "--quiet")
    out, _ = _call("train", "--cold-start")
    model = ModelVersion.objects.get()
    assert out.strip() == f"model #{model.pk} is active (cold_start)"


def test_train_needs_a_current_version_and_a_name_when_there_are_several(db):
    with pytest.raises(CommandError, match="There is no current taxonomy version"):
        _call("train")
    TaxonomyVersionFactory(taxonomy__name="A")
    TaxonomyVersionFactory(taxonomy__name="B")
    with pytest.raises(CommandError, match=r"Several taxonomies have a current version \(A, B\)"):
        _call("train")
    with pytest.raises(CommandError, match="There is no current version of taxonomy 'C'"):
        _call("train", "--taxonomy", "C")
