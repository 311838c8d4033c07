"""The queue tests' pool: clustered items over the shop's six leaves and a model of a third."""

from __future__ import annotations

import pytest

from tests.labeling.services.loop_data import clustered_items, leaves_of
from tests.labeling.services.scoring_data import fit_and_store


@pytest.fixture
def truth(tree, version):
    """60 clustered items (6 leaves x 10), every second with an image embedding."""
    return clustered_items(leaves_of(version), 10, seed=2)


@pytest.fixture
def model_version(version, truth):
    """Trained on every third item, stored (not yet scoring anything)."""
    return fit_and_store(version, list(truth.items())[::3])
