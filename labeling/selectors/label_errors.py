"""Suspected label errors as stored (``labeling.services.learning.label_issues``): the live ones,
most suspect first, and whether a version has been scanned at all.

A flag is live while the label it judged is still its item's current label: a new label, a
retraction or a re-review decision (a new ledger row, also when it confirms the category)
leaves it stale without any write to the flag.
"""

from __future__ import annotations

from django.db.models import F, QuerySet

from labeling.models import LabelErrorScan, SuspectedLabelError


def suspected_label_errors_live(*, version_id: int) -> QuerySet[SuspectedLabelError]:
    """The version's flags whose label is still current, most suspect first."""
    return SuspectedLabelError.objects.filter(
        taxonomy_version_id=version_id, label_id=F("item__current_label_id")
    ).order_by("rank")


def label_errors_scanned(*, version_id: int) -> bool:
    """Whether confident learning has judged the version's labels at least once (a scan that
    flagged nothing counts: then nothing is suspect)."""
    return LabelErrorScan.objects.filter(taxonomy_version_id=version_id).exists()
