"""Shared fixtures. Personas (CONVENTIONS.md): alice reviews, bob administers the taxonomy,
charlie is logged in but has no role."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labeling.roles import REVIEWER, TAXONOMY_ADMIN
from tests.factories import TaxonomyVersionFactory, UserFactory, make_tree

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TAXOLOOP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

SMALL_TREE = {
    "Apparel": {"Topwear": {"Shirts": {}, "Tshirts": {}}, "Bottomwear": {"Jeans": {}}},
    "Footwear": {"Shoes": {"Sandals": {}, "Sneakers": {}}},
    "Accessories": {"Watches": {}},
}


def shared_data_path(*parts: str) -> Path:
    """Path under ../shared/data; skips the test with a clear message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set TAXOLOOP_SHARED_DATA to run this test)")
    return path


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", roles=[REVIEWER])


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", roles=[TAXONOMY_ADMIN])


@pytest.fixture
def carol(db):
    """A second reviewer (overlap: two reviewers answer one item)."""
    return UserFactory(username="carol", roles=[REVIEWER])


@pytest.fixture
def charlie(db):
    return UserFactory(username="charlie")


@pytest.fixture
def version(db):
    """The current published version of a small 3-level taxonomy."""
    return TaxonomyVersionFactory(taxonomy__name="Shop")


@pytest.fixture
def tree(version):
    """Categories of SMALL_TREE by path, e.g. tree["Apparel > Topwear > Shirts"]."""
    return make_tree(version, SMALL_TREE)
