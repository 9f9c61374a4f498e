"""The report as CSV text (SPEC section 5 columns, 2 decimals)."""

from __future__ import annotations

import io

import numpy as np

from storemon.engine import COLUMNS, Report, rounded_columns

HEADER = ("store_id", *(name for name, _, _ in COLUMNS))

# A spreadsheet would run a cell starting with one of these as a formula. A
# leading apostrophe is escaped too, so the mapping can be undone exactly.
_ESCAPED_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def safe_cell(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would read as a formula.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell("8419537941919820732")
    ("'=HYPERLINK(1)", '8419537941919820732')
    """
    return "'" + text if text.startswith(_ESCAPED_STARTS) else text


def unsafe_cell(text: str) -> str:
    """The original text of a :func:`safe_cell` value.

    >>> unsafe_cell(safe_cell("'=x")), unsafe_cell(safe_cell("42"))
    ("'=x", '42')
    """
    return text[1:] if text.startswith("'") else text


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def render_csv(report: Report) -> bytes:
    """The whole report as UTF-8 CSV bytes, ``\\n`` line ends."""
    columns = rounded_columns(report)
    out = io.StringIO()
    out.write(",".join(HEADER) + "\n")
    if len(report):
        ids = [_csv_field(safe_cell(str(s))) for s in report.store_id]
        formatted = [np.char.mod("%.2f", columns[name]) for name in HEADER[1:]]
        for row in zip(ids, *formatted, strict=True):
            out.write(",".join(row))
            out.write("\n")
    return out.getvalue().encode()
