"""The target precision of a taxonomy version (labeling.services.learning.auto_accept_settings)."""

from __future__ import annotations

import pytest

from labeling.services.learning.auto_accept_settings import (
    BAD_TARGET,
    TargetPrecisionError,
    target_precision_parse,
    target_precision_update,
)


@pytest.mark.parametrize(
    ("value", "target"),
    [("0.99", 0.99), (" 0.5 ", 0.5), (0.9999, 0.9999), ("", None), (None, None)],
)
def test_it_reads_a_target_or_empty_for_off(value, target):
    assert target_precision_parse(value) == target


@pytest.mark.parametrize("value", ["1", 1.0, "0.49", "99", "-0.9", "inf", "nan", "ten", True])
def test_it_refuses_anything_outside_half_to_one_naming_the_value(value):
    with pytest.raises(TargetPrecisionError) as refused:
        target_precision_parse(value)
    assert str(refused.value) == BAD_TARGET.format(value=value)


def test_it_saves_the_target_and_off(version):
    target_precision_update(version=version, target="0.95")
    version.refresh_from_db()
    assert version.target_precision == 0.95
    target_precision_update(version=version, target="")
    version.refresh_from_db()
    assert version.target_precision is None


def test_a_bad_value_changes_nothing(version):
    with pytest.raises(TargetPrecisionError):
        target_precision_update(version=version, target="1.5")
    assert version.target_precision == 0.99
    version.refresh_from_db()
    assert version.target_precision == 0.99
