"""``manage.py export_catalog``: every item's final category and status as CSV or JSON lines."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from labeling.management.commands._export import (
    add_format_argument,
    add_output_argument,
    export_to_output,
)
from labeling.management.commands._versions import current_version_named
from labeling.models import TaxonomyVersion
from labeling.selectors.catalog import STATUSES
from labeling.services.catalog.catalog_export import CATALOG_COLUMNS, catalog_export


class Command(BaseCommand):
    help = (
        "Export every item of the catalog with its status (labelled, auto_accepted, "
        "needs_review), its final category in the current taxonomy version's terms (the "
        "label's; or the node the certified auto-accept policy accepted the prediction at, "
        "maybe an inner node; empty while the item needs review), its depth, the confidence "
        "of that decision (the accepted node's probability; the model's confidence for an item "
        "that needs review; empty for a labelled one), the model version, the model's top and "
        "roll-up categories, the current label's id, author and source, and the name of the rule "
        "that decided the prediction (empty: none did). An item not scored "
        "yet is labelled when it has a label, else needs_review, with empty model columns. "
        f"Columns: {', '.join(CATALOG_COLUMNS)}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_format_argument(parser)
        add_output_argument(parser)
        parser.add_argument(
            "--status",
            dest="statuses",
            action="append",
            choices=STATUSES,
            help="only items with this status; repeat it for several, e.g. --status "
            "auto_accepted --status labelled for the final categories only (default: every item)",
        )
        parser.add_argument("--taxonomy", default="", help="taxonomy name (default: the only one)")
        parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        version = current_version_named(options["taxonomy"])
        export_to_output(
            self, options["output"], lambda stream: self._export(stream, version, options)
        )

    @staticmethod
    def _export(stream: Any, version: TaxonomyVersion, options: dict[str, Any]) -> int:
        # A bar on standard error, and only on a terminal (tqdm's disable=None).
        bar = tqdm(disable=True if options["quiet"] else None, file=sys.stderr, unit=" rows")
        with bar:
            return catalog_export(
                stream=stream,
                version=version,
                fmt=options["fmt"],
                statuses=options["statuses"] or (),
                progress=lambda done: bar.update(done - bar.n),
            )
