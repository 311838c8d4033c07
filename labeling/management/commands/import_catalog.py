"""``manage.py import_catalog FILE``: import items (and optional labels) from CSV or JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.catalog.imports import ImportOptions, catalog_import
from labeling.services.errors import ServiceError

UNKNOWN_AUTHOR = "There is no user named {username!r} (--author)."


class Command(BaseCommand):
    help = (
        "Import catalog items from a CSV or JSONL file. Bad rows are reported with their line "
        "number (summary and an errors CSV) and every good row is still imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--format", dest="fmt", choices=("auto", "csv", "jsonl"), default="auto"
        )
        parser.add_argument("--id-col", default="id")
        parser.add_argument("--title-col", default="title")
        parser.add_argument("--description-col", default="")
        parser.add_argument("--attribute-cols", default="", help="comma-separated column names")
        parser.add_argument("--image-col", default="")
        parser.add_argument(
            "--images-root",
            type=Path,
            help="folder image paths are relative to (default: the file's)",
        )
        parser.add_argument("--label-col", default="", help="category path column: imports labels")
        parser.add_argument("--path-sep", default=" > ", help="separator in category paths")
        parser.add_argument("--source", default="import", help="stored on new items")
        parser.add_argument("--taxonomy", default="", help="taxonomy name (default: the current)")
        parser.add_argument("--author", default="", help="username recorded on imported labels")
        parser.add_argument("--errors-file", type=Path, help="default: <FILE>.errors.csv")
        parser.add_argument("--chunk-size", type=int, default=1000)
        parser.add_argument(
            "--quiet",
            "--no-progress",
            dest="quiet",
            action="store_true",
            help="no progress bar (there is none anyway when standard error is not a terminal)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import_options = ImportOptions(
            id_col=options["id_col"],
            title_col=options["title_col"],
            description_col=options["description_col"],
            attribute_cols=tuple(
                c.strip() for c in options["attribute_cols"].split(",") if c.strip()
            ),
            image_col=options["image_col"],
            images_root=options["images_root"],
            label_col=options["label_col"],
            path_sep=options["path_sep"],
            source=options["source"],
            taxonomy=options["taxonomy"],
            author=self._author(options["author"]),
            chunk_size=options["chunk_size"],
            progress=not options["quiet"],
            errors_file=options["errors_file"],
            fmt=options["fmt"],
        )
        try:
            summary = catalog_import(path=options["file"], options=import_options)
        except (ServiceError, OSError) as error:
            raise CommandError(str(error)) from error
        for line in summary.report():
            self.stdout.write(line)

    def _author(self, username: str) -> Any:
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(UNKNOWN_AUTHOR.format(username=username))
        return user
