"""Save and load: JSON config + safetensors give back identical predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifier.model import HierarchicalClassifier
from classifier.tree import Tree
from tests.classifier.model._data import centres, clustered, small_model_params


@pytest.fixture
def fitted(tree: Tree) -> HierarchicalClassifier:
    """Leaf b2 has 2 labels, so prototype blending and the name embeddings are in play."""
    X, y = clustered(
        tree, 150, seed=0, image_missing=0.3, leaf_p=np.array([0.33, 0.33, 0.33, 0.01])
    )
    params = {
        **small_model_params(),
        "thresholds": [0.9, 0.7],
        "max_epochs": 4,
        "min_labels_for_head": 5,
    }
    names = centres()["text"].astype(np.float32)
    return HierarchicalClassifier(tree, **params).fit(X, y, zero_shot=names)  # type: ignore[arg-type]


def test_a_loaded_model_predicts_exactly_what_the_saved_one_did(
    fitted: HierarchicalClassifier, tmp_path: Path
) -> None:
    assert 0 < fitted.leaf_counts_[3] < fitted.min_labels_for_head  # blending is exercised
    fitted.save(tmp_path)
    loaded = HierarchicalClassifier.load(tmp_path)
    X, _ = clustered(fitted.tree, 40, seed=1, image_missing=0.3)
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert np.array_equal(loaded.predict_committee(X), fitted.predict_committee(X))
    assert np.array_equal(loaded.novelty(X), fitted.novelty(X))
    for a, b in zip(loaded.predict_topk(X, k=2)[:2], fitted.predict_topk(X, k=2)[:2], strict=True):
        assert np.array_equal(a, b)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.tree.keys == fitted.tree.keys


def test_it_writes_a_readable_config_beside_the_weights(
    fitted: HierarchicalClassifier, tmp_path: Path
) -> None:
    fitted.save(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert (tmp_path / "model" / "weights.safetensors").stat().st_size > 0
    assert config["params"]["thresholds"] == [0.9, 0.7]
    assert config["tree"]["keys"] == list(fitted.tree.keys)
    assert config["temperature"] == fitted.temperature_
    assert config["members"] == ["fused", "text", "image"]


def test_it_refuses_a_format_it_does_not_know(
    fitted: HierarchicalClassifier, tmp_path: Path
) -> None:
    fitted.save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(ValueError, match="unsupported model format 99"):
        HierarchicalClassifier.load(tmp_path)
