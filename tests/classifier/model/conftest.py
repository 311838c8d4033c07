"""Tiny trees and clustered features for the model tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from classifier.tree import Tree
from tests.classifier.model._data import two_level_tree


@pytest.fixture(autouse=True, scope="package")
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a shared 2-core machine a second
    spinning thread made each fit several times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tree() -> Tree:
    """A > {a1, a2}, B > {b1, b2}: nodes 0 A, 1 a1, 2 a2, 3 B, 4 b1, 5 b2; leaf columns 0..3."""
    return two_level_tree()
