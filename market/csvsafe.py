"""CSV the app writes: no cell can run as a spreadsheet formula (OWASP's CSV injection rule).

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
apostrophe, which spreadsheets show as "this is text" and do not display. A cell that
already starts with an apostrophe gets one too, so the rule can be undone exactly
(`restore`): the audit file's recount reads names back as the app had them. Numbers the
code writes (int, Decimal) are never text from a person and pass as they are, so negative
amounts stay numbers. Standard library only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MARK = "'"


def neutral(value: object) -> str:
    """The cell's text, with a leading apostrophe when a spreadsheet could run it."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    if text[:1] in TRIGGERS or text[:1] == MARK:
        return MARK + text
    return text


def restore(cell: str) -> str:
    """Undo `neutral` on a text cell read back from a file the app wrote."""
    return cell[1:] if cell[:1] == MARK else cell


class SafeWriter:
    """csv.writer whose every cell goes through `neutral`."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row of neutralised cells."""
        self._writer.writerow([neutral(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write many rows of neutralised cells."""
        for row in rows:
            self.writerow(row)


def writer(out: IO[str], **options: Any) -> SafeWriter:
    """The one CSV writer of the app (same options as csv.writer)."""
    return SafeWriter(out, **options)
