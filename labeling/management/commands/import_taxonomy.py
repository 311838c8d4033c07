"""``manage.py import_taxonomy FILE``: a taxonomy file becomes a new taxonomy version."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.errors import ServiceError
from labeling.services.taxonomy_import import FORMATS, taxonomy_import


class Command(BaseCommand):
    help = (
        "Import a taxonomy (Google 'id - A > B', plain 'A > B' paths, a CSV or a JSON tree) "
        "as a new draft version, or as the published current version with --publish."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--name", help="taxonomy name (default: the file name without suffix)")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="auto")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--publish", action="store_true", help="publish and make it current")
        mode.add_argument("--draft", action="store_true", help="keep it a draft (the default)")

    def handle(self, *args: object, **options: object) -> None:
        try:
            result = taxonomy_import(
                path=str(options["file"]),
                name=options["name"] or None,  # type: ignore[arg-type]
                fmt=str(options["fmt"]),
                publish=bool(options["publish"]),
            )
        except (ServiceError, OSError) as error:
            raise CommandError(str(error)) from error
        version = result.version
        self.stdout.write(
            f"Imported {result.categories:,} categories (depth {result.max_depth}, "
            f"{result.implied_parents:,} implied parents) as {version}."
        )
