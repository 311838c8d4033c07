"""Fixtures shared by the labeling tests: the learning loop's fakes (see services/loop_data.py)."""

from __future__ import annotations

import pytest

from tests.labeling.services.loop_data import (  # noqa: F401 (fixtures, found by name)
    SMALL_MODEL,
    fake_encoders,
    fresh_caches,
    one_torch_thread,
)


def small_models_settings(settings, **extra: object) -> None:
    """Small, fast models and a low training minimum, plus ``extra`` TAXOLOOP keys."""
    settings.TAXOLOOP = {
        **settings.TAXOLOOP,
        "MODEL_PARAMS": SMALL_MODEL,
        "MIN_LABELS_TO_TRAIN": 10,
        **extra,
    }


@pytest.fixture
def small_loop(settings, fake_encoders, fresh_caches, one_torch_thread):  # noqa: F811
    """The loop with fake encoders, fresh caches, one torch thread and small models."""
    small_models_settings(settings)


@pytest.fixture
def sent(monkeypatch):
    """Tasks that would have gone to the broker, as (name, args), recorded instead of sent."""
    from labeling.services import dispatch

    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        dispatch, "enqueue_now", lambda name, *args, **_: calls.append((name, args)) or True
    )
    return calls


@pytest.fixture
def fresh_category_index():
    """The review search's cached category index, cleared before and after the test."""
    from labeling.selectors.category_index import category_index_clear

    category_index_clear()
    yield
    category_index_clear()


@pytest.fixture
def av(version, tree, alice, bob, fresh_category_index):
    """The publish scenario of tests/labeling/across_versions_data.py (v1 model, then v2)."""
    from tests.labeling.across_versions_data import build

    return build(version, tree, alice, bob)


@pytest.fixture
def rebuilds(monkeypatch):
    """Calls of queue_build.rebuild_queue (still rebuilt for real), by taxonomy version id."""
    from labeling.services.review import queue_build

    calls: list[int] = []
    real = queue_build.rebuild_queue

    def counted(version, **kwargs):
        calls.append(version.pk)
        return real(version, **kwargs)

    monkeypatch.setattr(queue_build, "rebuild_queue", counted)
    return calls
