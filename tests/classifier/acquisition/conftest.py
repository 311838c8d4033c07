"""A two-level tree for the acquisition tests (no database)."""

from __future__ import annotations

import pytest

from classifier.tree import Tree


@pytest.fixture
def tree() -> Tree:
    """A > {a1, a2}, B > {b1, b2}: nodes 0 A, 1 a1, 2 a2, 3 B, 4 b1, 5 b2; leaf columns 0..3."""
    return Tree.from_paths([["A", "a1"], ["A", "a2"], ["B", "b1"], ["B", "b2"]])
