"""The product's first claim, checked on real data: active learning needs fewer labels than
random sampling to reach a good model (issue 19).

A fixed sample of the shared fashion catalog (titles only, identical titles on one side of
the split), the simulator's loop with small rounds: the review queue's default mix
(``--strategies queue``: uncertain, disagreement, boundary, novel and audit by the default
quotas, each diversified) must reach 95% of full-supervision accuracy with fewer labels than
random, by a clear factor. Measured when this test was written (seed 0, 3,928 items, 71
leaves): queue 390 labels, random 697 (1.79x); margin alone 389, vote entropy 468.
"""

from __future__ import annotations

import pytest

from classifier.simulate.run import SimConfig, simulate
from tests.conftest import shared_data_path

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

# The claim holds with room: a change that brings the queue near random fails here.
MIN_SAVING_VS_RANDOM = 1.3


def test_the_default_queue_reaches_95pct_of_full_supervision_with_fewer_labels_than_random(
    tmp_path,
):
    catalog = shared_data_path("fashion", "items.csv")
    config = SimConfig(
        path=catalog,
        out=tmp_path / "sim",
        title_col="productDisplayName",
        label_col="category_path",
        strategies=("random", "queue"),
        max_items=4000,
        seed_size=50,
        batch=50,
        budget=800,
        repeats=1,
        cache_dir=tmp_path / "cache",
        quiet=True,
    )
    (result,) = simulate(config)["results"]
    full = result["full_supervision"]
    queue, random = result["strategies"]["queue"], result["strategies"]["random"]
    assert full["leaf_accuracy"] > 0.9  # the sample is learnable: the comparison means something
    assert random["labels_to_95pct"] is not None, "random never reached 95% within the budget"
    assert queue["labels_to_95pct"] is not None, "the queue never reached 95% within the budget"
    saving = random["labels_to_95pct"] / queue["labels_to_95pct"]
    assert saving >= MIN_SAVING_VS_RANDOM, (queue, random)
