"""A small three-level tree with one shallower leaf, for the metric tests (no database)."""

from __future__ import annotations

import pytest

from classifier.tree import Tree

PATHS = [
    ["Apparel", "Topwear", "Shirts"],
    ["Apparel", "Topwear", "Tshirts"],
    ["Apparel", "Bottomwear", "Jeans"],
    ["Footwear", "Shoes", "Sneakers"],
    ["Accessories", "Watches"],
]


@pytest.fixture
def tree() -> Tree:
    """Nodes 0 Apparel, 1 Topwear, 2 Shirts, 3 Tshirts, 4 Bottomwear, 5 Jeans, 6 Footwear,
    7 Shoes, 8 Sneakers, 9 Accessories, 10 Watches (depth 2). Leaf columns 0 Shirts,
    1 Tshirts, 2 Jeans, 3 Sneakers, 4 Watches."""
    return Tree.from_paths(PATHS)
