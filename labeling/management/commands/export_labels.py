"""``manage.py export_labels``: current labels (or the whole ledger) as CSV or JSON lines."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.catalog.exports import EXPORT_FORMATS, labels_export
from labeling.services.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Export the current label of every item, or with --ledger every ledger row. A label a "
        "taxonomy publish carried over shows its original author and source; its migrated_from "
        "column holds the original label's id. The ledger's last columns show overlaps: "
        "overlap_id, overlap_status, overlap_role (answer: a reviewer's blind answer; agreed: "
        "the label their agreement wrote; adjudicated: an adjudicator's decision; empty "
        "otherwise) and author_reliability (the author's estimated accuracy, empty when none)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", dest="fmt", choices=EXPORT_FORMATS, default="csv")
        parser.add_argument(
            "--ledger",
            action="store_true",
            help="every row, retractions and overlap answers too, with overlap columns",
        )
        parser.add_argument("--output", type=Path, help="file to write (default: standard output)")
        parser.add_argument(
            "--note",
            help="with --ledger: only the rows whose note contains this text (any case), "
            "e.g. reviewers' notes on their decisions",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path | None = options["output"]
        try:
            if output is None:
                count = labels_export(stream=self.stdout, **self._what(options))
            else:
                with output.open("w", encoding="utf-8", newline="") as stream:
                    count = labels_export(stream=stream, **self._what(options))
        except BrokenPipeError:
            # The reader went away (`export_labels | head`): stop quietly, as Unix tools do.
            with contextlib.suppress(OSError, ValueError):  # stdout may not be a real file
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        except (ServiceError, OSError) as error:
            raise CommandError(str(error)) from error
        if output is not None:  # standard output stays clean for piping
            self.stderr.write(f"Exported {count:,} rows to {output}.")

    @staticmethod
    def _what(options: dict[str, Any]) -> dict[str, Any]:
        return {"fmt": options["fmt"], "ledger": options["ledger"], "note": options["note"]}
