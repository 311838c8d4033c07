"""``manage.py import_taxonomy FILE``: a taxonomy file becomes a new taxonomy version."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.models import Taxonomy
from labeling.services.errors import ServiceError
from labeling.services.taxonomy.draft_import import draft_from_text
from labeling.services.taxonomy.import_formats import FORMATS, decode_text, taxonomy_format
from labeling.services.taxonomy.imports import taxonomy_import


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
        mode.add_argument(
            "--as-draft-of",
            metavar="TAXONOMY",
            help="diff the file against TAXONOMY's current version and record the differences "
            "as operations of a new draft (add, rename, move, edit, deprecate)",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options.get("as_draft_of"):
            self._as_draft_of(
                str(options["as_draft_of"]), str(options["file"]), str(options["fmt"])
            )
            return
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

    def _as_draft_of(self, name: str, file: str, fmt: str) -> None:
        taxonomy = Taxonomy.objects.filter(name=name).first()
        if taxonomy is None:
            raise CommandError(
                f"There is no taxonomy named {name!r}; import it with --publish first."
            )
        try:
            text = decode_text(Path(file).read_bytes())
            fmt = taxonomy_format(path=Path(file), text=text) if fmt == "auto" else fmt
            result = draft_from_text(taxonomy=taxonomy, text=text, fmt=fmt, author=None)
        except (ServiceError, OSError) as error:
            raise CommandError(str(error)) from error
        done = ", ".join(f"{n:,} {kind}" for kind, n in result.counts.items() if n) or "no changes"
        self.stdout.write(f"Draft v{result.draft.number} of {name}: {done}.")
        for line in result.skipped:
            self.stdout.write(f"skipped {line}")
