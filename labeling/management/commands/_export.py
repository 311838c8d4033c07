"""What the export commands share (not a command: the name starts with _): where the rows go.

``export_catalog`` and ``export_labels`` differ only in what they write; both write to
``--output`` or standard output, stop quietly when the reader of a pipe goes away, turn service
and file errors into a ``CommandError`` and report the row count on standard error.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.catalog.exports import EXPORT_FORMATS
from labeling.services.errors import ServiceError


def add_format_argument(parser: CommandParser) -> None:
    """The ``--format`` option (``options["fmt"]``)."""
    parser.add_argument("--format", dest="fmt", choices=EXPORT_FORMATS, default="csv")


def add_output_argument(parser: CommandParser) -> None:
    """The ``--output`` option (``options["output"]``, a ``Path`` or None)."""
    parser.add_argument("--output", type=Path, help="file to write (default: standard output)")


def export_to_output(
    command: BaseCommand, output: Path | None, write: Callable[[Any], int]
) -> None:
    """Call ``write(stream)`` on ``output`` (a new file) or the command's standard output.

    ``write`` returns how many rows it wrote; the count is reported on standard error when the
    rows went to a file, so that standard output stays clean for piping.
    """
    try:
        if output is None:
            count = write(command.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as stream:
                count = write(stream)
    except BrokenPipeError:
        # The reader went away (`export_catalog | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError, ValueError):  # stdout may not be a real file
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    except (ServiceError, OSError) as error:
        raise CommandError(str(error)) from error
    if output is not None:
        command.stderr.write(f"Exported {count:,} rows to {output}.")
