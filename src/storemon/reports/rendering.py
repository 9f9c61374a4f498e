"""A report frame (see :mod:`storemon.reports.frame`) in each download format.

Rendering goes by column type, never by column name, so every report kind
renders the same way. Text cells a spreadsheet would run as a formula are
escaped here, in CSV and XLSX only; JSON and Parquet carry the values as
they are.

The CSV, which every ``storemon report`` writes, needs no ``pyarrow.compute``
(a fifth of the command's imports): Arrow's CSV writer turns the numbers,
dates and instants into text, and the few text columns are escaped in Python.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Literal

import pyarrow as pa

ReportFormat = Literal["csv", "json", "parquet", "xlsx"]

#: format -> (media type, file suffix)
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv", "csv"),
    "json": ("application/json", "json"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}

#: Rows of one worksheet, the header included.
XLSX_MAX_ROWS = 1_048_576

# A spreadsheet runs a cell starting with one of = + - @ tab CR as a formula.
# A leading apostrophe is escaped too, so the escaping can be undone exactly.
_FORMULA_START = r"^[=+\-@\t\r']"
_FORMULA_FIRST = "=+-@\t\r'"
# RFC 4180, minimal: quote only a field holding a comma, quote or line break.
_NEEDS_QUOTES = re.compile('[,"\n\r]')
_TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S"  # with microseconds: `%S` is fractional for [us]


class FormatLimitError(ValueError):
    """The report does not fit the format (too many rows for a worksheet)."""


def safe_cells(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Prefix an apostrophe to text a spreadsheet would read as a formula.

    >>> safe_cells(pa.array(["=HYPERLINK(1)", "8419537941919820732"])).to_pylist()
    ["'=HYPERLINK(1)", '8419537941919820732']
    """
    import pyarrow.compute as pc

    risky = pc.match_substring_regex(column, _FORMULA_START)
    return pc.if_else(risky, pc.utf8_replace_slice(column, 0, 0, "'"), column)


def _floats(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # Through the exact text: Arrow's decimal-to-double cast is not correctly
    # rounded (1.13 would become 1.1300000000000001); parsing the text is.
    return column.cast(pa.string()).cast(pa.float64())


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column as the text CSV writes: decimals with their scale, dates
    as ``YYYY-MM-DD``, instants as ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC)."""
    import pyarrow.compute as pc

    kind = column.type
    if _is_text(kind):
        return column
    if pa.types.is_timestamp(kind):
        return pc.strftime(column.cast(pa.timestamp("us", "UTC")), format=_TIMESTAMP_TEXT)
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind) or pa.types.is_date32(kind):
        return column.cast(pa.string())
    raise TypeError(f"no rendering for a {kind} column")


def _csv_text(value: str | None) -> str:
    """One text cell: escaped as a formula would be, quoted when needed."""
    if value is None:
        return ""
    if value and value[0] in _FORMULA_FIRST:
        value = "'" + value
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_written(columns: list[pa.ChunkedArray]) -> list[str]:
    """Columns of numbers, dates and instants as one text per row, their
    cells joined by commas, as Arrow's CSV writer writes them (the same text
    as casting each to a string; nulls empty; instants in UTC without a
    zone suffix, ``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    import pyarrow.csv as pa_csv

    plain = []
    for column in columns:
        kind = column.type
        if pa.types.is_timestamp(kind):
            if kind.unit != "us":
                raise TypeError(f"no rendering for a {kind} column")
            if kind.tz is not None:
                # The writer marks a zoned instant with a Z; the text is UTC either way.
                column = _naive(column)
        elif not (
            pa.types.is_decimal(kind) or pa.types.is_integer(kind) or pa.types.is_date32(kind)
        ):
            raise TypeError(f"no rendering for a {kind} column")
        plain.append(column)
    sink = io.BytesIO()
    table = pa.table(plain, names=[str(i) for i in range(len(plain))])
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    pa_csv.write_csv(table, sink, options)
    return sink.getvalue().decode().split("\n")[:-1]


def _naive(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A UTC instant column as the same instants without a zone (no copy)."""
    return pa.chunked_array([chunk.view(pa.timestamp("us")) for chunk in column.chunks])


def render_csv(frame: pa.Table) -> bytes:
    """UTF-8 CSV with a header, ``\\n`` line ends."""
    header = ",".join(frame.column_names) + "\n"
    if frame.num_rows == 0:
        return header.encode()
    # Each text column is a list of cells; each run of other columns is
    # written by Arrow as one list of texts.
    pieces: list[list[str]] = []
    run: list[pa.ChunkedArray] = []
    for column in frame.columns:
        if _is_text(column.type):
            if run:
                pieces.append(_csv_written(run))
                run = []
            pieces.append([_csv_text(value) for value in column.to_pylist()])
        else:
            run.append(column)
    if run:
        pieces.append(_csv_written(run))
    lines: Iterable[str] = (
        pieces[0] if len(pieces) == 1 else map(",".join, zip(*pieces, strict=True))
    )
    return (header + "\n".join(lines) + "\n").encode()


def render_json(frame: pa.Table) -> bytes:
    """An array of one object per row. Values rounded to decimals are JSON
    numbers; dates and instants are text as in the CSV."""
    import polars as pl

    columns = {}
    for name, column in zip(frame.column_names, frame.columns, strict=True):
        if pa.types.is_decimal(column.type):
            # The nearest double prints back as the same 2-decimal number.
            column = _floats(column)
        elif not (_is_text(column.type) or pa.types.is_integer(column.type)):
            column = _text(column)
        columns[name] = column
    return pl.from_arrow(pa.table(columns)).write_json().encode()  # type: ignore[union-attr]


def render_parquet(frame: pa.Table) -> bytes:
    """The frame itself: exact decimals, typed dates and instants, and the
    report's kind, ``now`` and parameters in the schema metadata."""
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(frame, sink)
    return sink.getvalue()


def render_xlsx(frame: pa.Table) -> bytes:
    """One worksheet: a bold header, numbers as numbers (decimals shown with
    their scale), dates as dates, instants as text (a worksheet keeps only
    milliseconds), text escaped as in the CSV."""
    import xlsxwriter

    if frame.num_rows + 1 > XLSX_MAX_ROWS:
        raise FormatLimitError(
            f"the report has {frame.num_rows} rows; an XLSX worksheet holds at most "
            f"{XLSX_MAX_ROWS - 1}"
        )
    sink = io.BytesIO()
    # Cells are written as given: no text is turned into a formula, link or number.
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    with xlsxwriter.Workbook(sink, options) as workbook:
        sheet = workbook.add_worksheet("report")
        sheet.write_row(0, 0, frame.column_names, workbook.add_format({"bold": True}))
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(frame.columns):
            kind = column.type
            cell_format = None
            if pa.types.is_decimal(kind):
                values = _floats(column)
                cell_format = workbook.add_format({"num_format": "0." + "0" * kind.scale})
            elif pa.types.is_date32(kind):
                values = column
                cell_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
            elif pa.types.is_integer(kind):
                values = column
            elif _is_text(kind):
                values = safe_cells(column)
            else:
                values = _text(column)
            sheet.write_column(1, index, values.to_pylist(), cell_format)
    return sink.getvalue()


_RENDERERS = {
    "csv": render_csv,
    "json": render_json,
    "parquet": render_parquet,
    "xlsx": render_xlsx,
}


def render(frame: pa.Table, fmt: ReportFormat) -> bytes:
    return _RENDERERS[fmt](frame)
