"""``manage.py export_labels``: current labels (or the whole ledger) as CSV or JSON lines."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from labeling.management.commands._export import (
    add_format_argument,
    add_output_argument,
    export_to_output,
)
from labeling.services.catalog.exports import labels_export


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
        add_format_argument(parser)
        parser.add_argument(
            "--ledger",
            action="store_true",
            help="every row, retractions and overlap answers too, with overlap columns",
        )
        add_output_argument(parser)
        parser.add_argument(
            "--note",
            help="with --ledger: only the rows whose note contains this text (any case), "
            "e.g. reviewers' notes on their decisions",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        what = self._what(options)
        export_to_output(
            self, options["output"], lambda stream: labels_export(stream=stream, **what)
        )

    @staticmethod
    def _what(options: dict[str, Any]) -> dict[str, Any]:
        return {"fmt": options["fmt"], "ledger": options["ledger"], "note": options["note"]}
