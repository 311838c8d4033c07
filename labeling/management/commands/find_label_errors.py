"""``manage.py find_label_errors``: judge the current labels out of fold, store the suspects."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labeling.management.commands._versions import current_version_named
from labeling.models import TaxonomyVersion
from labeling.selectors.label_errors import suspected_label_errors_live
from labeling.services.errors import ServiceError
from labeling.services.learning.label_issues import LabelIssuesOutcome, label_issues_refresh
from labeling.services.learning.ml import active_model_version
from labeling.services.review.queue_build import rebuild_queue

NO_ACTIVE_MODEL = "queue: not rebuilt, the version has no active model yet"
SUSPECT = (
    "  {rank}. item {item} {title!r}: labelled {given} ({p_given:.2f}), "
    "suggested {suggested} ({p_suggested:.2f})"
)


class Command(BaseCommand):
    help = (
        "Find labels of the current taxonomy version that are probably wrong (confident learning "
        "on out-of-fold probabilities), store them for re-review and rebuild the review queue. "
        "Workers do this after every training; this runs it here and now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--taxonomy", default="", help="taxonomy name (default: the only one)")
        parser.add_argument("--show", type=int, default=10, help="suspects to list (default 10)")
        parser.add_argument("--no-queue", action="store_true", help="skip rebuilding the queue")
        parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        version = current_version_named(options["taxonomy"])
        try:
            outcome = self._refresh(version, quiet=options["quiet"])
            self.stdout.write(f"{version}: {outcome.line()}")
            if outcome.scan is None:
                return
            self._show(version, max(options["show"], 0))
            if not options["no_queue"]:
                self._queue(version)
        except ServiceError as error:
            raise CommandError(str(error)) from error

    def _refresh(self, version: TaxonomyVersion, *, quiet: bool) -> LabelIssuesOutcome:
        bar = tqdm(disable=quiet, file=sys.stderr, unit=" folds", desc="out-of-fold models")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        with bar:
            return label_issues_refresh(version=version, progress=progress)

    def _show(self, version: TaxonomyVersion, n: int) -> None:
        flags = suspected_label_errors_live(version_id=version.pk).select_related(
            "item", "given", "suggested"
        )[:n]
        for flag in flags:
            self.stdout.write(
                SUSPECT.format(
                    rank=flag.rank + 1,
                    item=flag.item.external_id,
                    title=flag.item.title,
                    given=flag.given.name,
                    p_given=flag.p_given,
                    suggested=flag.suggested.name,
                    p_suggested=flag.p_suggested,
                )
            )

    def _queue(self, version: TaxonomyVersion) -> None:
        if active_model_version(version) is None:
            self.stdout.write(NO_ACTIVE_MODEL)
            return
        counts = rebuild_queue(version)
        total, re_review = sum(counts.values()), counts.get("re-review", 0)
        self.stdout.write(f"queue: {total} new entries, {re_review} of them re-review")
