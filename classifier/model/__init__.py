"""The hierarchical classifier: adapters and a committee of heads over frozen embeddings."""

from classifier.model.coldstart import zero_shot_proba
from classifier.model.estimator import HierarchicalClassifier

__all__ = ["HierarchicalClassifier", "zero_shot_proba"]
