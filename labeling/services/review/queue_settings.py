"""The settings a queue rebuild runs by: the reasons' quotas, the typical share, the queue
size, the novel boost.

``settings.TAXOLOOP["QUEUE_QUOTAS"]`` weighs the reasons (``QueueEntry.Reason`` values but
``typical``, whose share ``QUEUE_TYPICAL`` sets: "auto" or a fixed share),
``QUEUE_SIZE`` is how many entries the queue holds, and ``NOVEL_BOOST_AFTER_PUBLISH`` how
much more of the queue, and how much nearer its top, ``novel`` gets while a published version
settles (``settling_after_publish``; why, in ``queue_build``). Each is checked when read, so a
bad value fails the rebuild with a ``QueueBuildError`` that names it.
"""

from __future__ import annotations

from django.conf import settings

from labeling.models import ModelVersion, QueueEntry, TaxonomyVersion
from labeling.services.errors import ServiceError

UNKNOWN_REASONS = "QUEUE_QUOTAS names unknown reason(s) {names}; known reasons: {known}."
BAD_QUOTA = "QUEUE_QUOTAS[{reason!r}] must be a number >= 0, got {value!r}."
BAD_SIZE = "The queue size must be a non-negative integer, got {value!r}."
BAD_BOOST = "NOVEL_BOOST_AFTER_PUBLISH must be a number > 0, got {value!r}."
TYPICAL_IN_QUOTAS = (
    "QUEUE_QUOTAS must not name 'typical': its share follows the model's expected error; "
    "set QUEUE_TYPICAL (TAXOLOOP_QUEUE_TYPICAL) to 'auto' or a fixed share in [0, 1] instead."
)
BAD_TYPICAL = "QUEUE_TYPICAL must be 'auto' or a number in [0, 1], got {value!r}."

# How much more of the queue, and how much nearer its top, novel items get after a publish;
# settings.TAXOLOOP["NOVEL_BOOST_AFTER_PUBLISH"] overrides it.
NOVEL_BOOST_AFTER_PUBLISH = 3.0


class QueueBuildError(ServiceError):
    pass


def quotas() -> dict[str, float]:
    """``QUEUE_QUOTAS`` as floats; raises ``QueueBuildError`` for an unknown reason or a
    quota that is not a number >= 0."""
    raw = settings.TAXOLOOP.get("QUEUE_QUOTAS", {})
    known = list(QueueEntry.Reason.values)
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise QueueBuildError(UNKNOWN_REASONS.format(names=unknown, known=known))
    if QueueEntry.Reason.TYPICAL in raw:
        raise QueueBuildError(TYPICAL_IN_QUOTAS)
    for reason, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise QueueBuildError(BAD_QUOTA.format(reason=reason, value=value))
    return {r: float(v) for r, v in raw.items()}


def queue_size(value: int | None) -> int:
    """``value``, or ``QUEUE_SIZE`` (default 2000) when it is None; raises
    ``QueueBuildError`` unless it is an integer >= 0."""
    size = settings.TAXOLOOP.get("QUEUE_SIZE", 2000) if value is None else value
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise QueueBuildError(BAD_SIZE.format(value=size))
    return size


def novel_boost() -> float:
    """The novel boost factor after a publish; raises ``QueueBuildError`` unless it is a
    number > 0."""
    value = settings.TAXOLOOP.get("NOVEL_BOOST_AFTER_PUBLISH", NOVEL_BOOST_AFTER_PUBLISH)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise QueueBuildError(BAD_BOOST.format(value=value))
    return float(value)


def typical_setting() -> float | None:
    """``QUEUE_TYPICAL``: None for "auto" (the share follows the model, see
    ``classifier.acquisition.typical.typical_share``), else the fixed share; raises
    ``QueueBuildError`` for anything but "auto" or a number in [0, 1]."""
    value = settings.TAXOLOOP.get("QUEUE_TYPICAL", "auto")
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise QueueBuildError(BAD_TYPICAL.format(value=value)) from None
    if isinstance(value, bool) or not 0.0 <= share <= 1.0:
        raise QueueBuildError(BAD_TYPICAL.format(value=value))
    return share


def settling_after_publish(version: TaxonomyVersion, mv: ModelVersion) -> bool:
    """Whether ``version`` was published from another one and ``mv`` is its cold start or
    its first trained model (no other trained model of the version was ever promoted)."""
    if version.based_on_id is None:
        return False
    promoted = ModelVersion.objects.filter(
        taxonomy_version=version,
        config__kind="trained",
        status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.RETIRED],
    )
    return not promoted.exclude(pk=mv.pk).exists()
