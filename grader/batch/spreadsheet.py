"""The batch's CSV files, for LibreOffice and Excel in a French locale.

Semicolon separator, decimal comma (the callers format numbers with fr_number), UTF-8 with a
byte order mark (Excel then reads the accents right), CRLF line ends. A cell that a
spreadsheet would take for a formula is prefixed with an apostrophe: a folder name is not a
place to run code from.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """``value`` as a cell that no spreadsheet runs as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(rows)
