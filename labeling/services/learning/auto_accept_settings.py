"""A taxonomy admin's target precision of a taxonomy version (issue 17).

``TaxonomyVersion.target_precision`` is the precision the auto-accepted predictions must keep,
certified with a one-sided 95% bound on the audit labels (``services.learning.auto_accept``);
empty turns auto-accept off. A change takes effect at the next rescore: a rescore job certifies
its model once when it is planned, so every shard of one job applies one policy.
"""

from __future__ import annotations

import math

from django.db import transaction

from labeling.models import TaxonomyVersion
from labeling.services.errors import ServiceError

LOWEST_TARGET = 0.5  # below it "precision" is a coin toss: the database refuses it too
BAD_TARGET = (
    "The target precision must be empty (auto-accept off) or a number from 0.5 up to, but not "
    "including, 1 (0.99 means 99 % of auto-accepted items right), got {value!r}."
)


class TargetPrecisionError(ServiceError):
    pass


def target_precision_parse(value: object) -> float | None:
    """``value`` as a target precision: None for empty (off), else a float in [0.5, 1); a
    ``TargetPrecisionError`` naming the value otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise TargetPrecisionError(BAD_TARGET.format(value=value))
    try:
        target = float(str(value).strip())
    except ValueError:
        raise TargetPrecisionError(BAD_TARGET.format(value=value)) from None
    if not math.isfinite(target) or not LOWEST_TARGET <= target < 1.0:
        raise TargetPrecisionError(BAD_TARGET.format(value=value))
    return target


@transaction.atomic
def target_precision_update(*, version: TaxonomyVersion, target: object) -> TaxonomyVersion:
    """Set ``version``'s target precision (None or "": auto-accept off); nothing changes on a
    bad value. The models already certified keep theirs until the next rescore."""
    version.target_precision = target_precision_parse(target)
    version.save(update_fields=["target_precision"])
    return version
