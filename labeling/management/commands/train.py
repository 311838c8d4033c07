"""``manage.py train``: one training run of the current taxonomy version, in this process."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labeling.management.commands._versions import current_version_named
from labeling.models import TaxonomyVersion, TrainingRun
from labeling.services.errors import ServiceError
from labeling.services.learning.training import cold_start_model, training_request, training_run

ALREADY_RUNNING = "Training run #{pk} of this version is already running; wait for it to finish."


class Command(BaseCommand):
    help = (
        "Train, evaluate and (when it is not worse) promote a model of the current taxonomy "
        "version, here and now rather than on a worker. A run already queued is taken over."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--taxonomy", default="", help="taxonomy name (default: the only one)")
        parser.add_argument(
            "--cold-start",
            action="store_true",
            help="only build the zero-shot model from category names (when none is active)",
        )
        parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        version = current_version_named(options["taxonomy"])
        try:
            if options["cold_start"]:
                model = cold_start_model(version)
                self.stdout.write(
                    f"model #{model.pk} is {model.status} ({model.config.get('kind')})"
                )
                return
            run = self._run(version, quiet=options["quiet"])
        except ServiceError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"training run #{run.pk}: {run.status}: {run.outcome}")
        if run.status == TrainingRun.Status.FAILED:
            raise CommandError(run.error)

    def _run(self, version: TaxonomyVersion, *, quiet: bool) -> TrainingRun:
        run = training_request(version, trigger="manual", enqueue=False) or self._queued(version)
        bar = tqdm(total=100, disable=quiet, file=sys.stderr, unit="%", mininterval=0.5)

        def progress(fraction: float, stage: str) -> None:
            bar.set_description(stage)
            bar.update(round(fraction * 100) - bar.n)

        with bar:
            return training_run(run.pk, progress=progress)

    def _queued(self, version: TaxonomyVersion) -> TrainingRun:
        run = TrainingRun.objects.filter(
            taxonomy_version=version,
            status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING],
        ).first()
        if run is None:  # it finished between the two queries: train again
            return self._queued_or_new(version)
        if run.status == TrainingRun.Status.RUNNING:
            raise CommandError(ALREADY_RUNNING.format(pk=run.pk))
        return run

    def _queued_or_new(self, version: TaxonomyVersion) -> TrainingRun:
        run = training_request(version, trigger="manual", enqueue=False)
        if run is None:
            raise CommandError("Another training started meanwhile; try again when it is done.")
        return run
