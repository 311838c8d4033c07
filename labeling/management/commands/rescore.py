"""``manage.py rescore``: apply the active model to every item, then rebuild the queue."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labeling.management.commands._versions import current_version_named
from labeling.models import ModelVersion
from labeling.services.errors import ServiceError
from labeling.services.learning import auto_accept
from labeling.services.learning.ml import active_model_version
from labeling.services.learning.scoring import rescore
from labeling.services.review.queue_build import rebuild_queue

STOPPED = (
    "model #{pk} is no longer active: stopped after {written} predictions; the active model's "
    "own rescore rebuilds the queue."
)
NO_ACTIVE_MODEL = (
    "Taxonomy version {version} has no active model yet: run `manage.py train` "
    "(or `manage.py train --cold-start`) first."
)


class Command(BaseCommand):
    help = (
        "Score every item with the active model of the current taxonomy version (chunked bulk "
        "writes) and rebuild the review queue. Safe to interrupt and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--taxonomy", default="", help="taxonomy name (default: the only one)")
        parser.add_argument("--chunk-size", type=int, help="default TAXOLOOP RESCORE_CHUNK_SIZE")
        parser.add_argument("--no-queue", action="store_true", help="skip rebuilding the queue")
        parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] is not None and options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        version = current_version_named(options["taxonomy"])
        model = active_model_version(version)
        if model is None:
            raise CommandError(NO_ACTIVE_MODEL.format(version=version))
        try:
            self._certify(model)
            written = self._rescore(model, options["chunk_size"], quiet=options["quiet"])
            model.refresh_from_db(fields=["status"])
            if model.status != ModelVersion.Status.ACTIVE:  # retired meanwhile: rescore stopped
                self.stdout.write(STOPPED.format(pk=model.pk, written=written))
                return
            self.stdout.write(f"model #{model.pk}: {written} predictions written")
            if not options["no_queue"]:
                counts = rebuild_queue(version)
                summary = ", ".join(f"{reason} {n}" for reason, n in counts.items())
                self.stdout.write(f"queue: {sum(counts.values())} new entries ({summary})")
            snapshot = auto_accept.catalog_snapshot(model)["by_status"]
            self.stdout.write(
                "catalog: {labelled} labelled, {auto_accepted} auto-accepted, "
                "{needs_review} need review".format(**snapshot)
            )
        except ServiceError as error:
            raise CommandError(str(error)) from error

    def _certify(self, model: ModelVersion) -> None:
        """Certify the auto-accept policy the rescore applies (as a rescore job does)."""
        summary = auto_accept.certify(model)
        if summary.get("target") is None:
            self.stdout.write("auto-accept: off (no target precision for this taxonomy version)")
            return
        self.stdout.write(
            f"auto-accept at precision {summary['target']}: {summary['units_certified']} of "
            f"{len(summary['units'])} units certified on {summary['n_audit']} audit labels"
        )

    def _rescore(self, model: ModelVersion, chunk_size: int | None, *, quiet: bool) -> int:
        bar = tqdm(disable=quiet, file=sys.stderr, unit=" items", mininterval=0.5)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        with bar:
            return rescore(model, chunk_size=chunk_size, progress=progress)
