"""Fixtures shared by the page tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from labeling.selectors.category_index import category_index_clear


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """The in-memory category index and the cache emptied around a test: a page that reads
    them (query counts, guidelines, reasons) sees this test's rows, not an earlier test's."""
    category_index_clear()
    cache.clear()
    yield
    category_index_clear()
