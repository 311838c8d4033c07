"""``manage.py embed``: encode items that have no up-to-date embedding yet."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labeling.services.catalog.embeddings import embed_items
from labeling.services.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Encode new and changed items with the configured text and image encoders (cached in "
        "Embedding). Unchanged items are skipped, so it is safe to run again at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--encoder",
            action="append",
            dest="keys",
            help="encoder key (repeatable); default TAXOLOOP TEXT_ENCODER and IMAGE_ENCODER",
        )
        parser.add_argument("--chunk-size", type=int, help="default TAXOLOOP EMBED_CHUNK_SIZE")
        parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] is not None and options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        bar = tqdm(disable=options["quiet"], file=sys.stderr, unit=" items", mininterval=0.5)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            with bar:
                report = embed_items(
                    keys=options["keys"], chunk_size=options["chunk_size"], progress=progress
                )
        except ServiceError as error:
            raise CommandError(str(error)) from error
        for line in report.lines():
            self.stdout.write(line)
