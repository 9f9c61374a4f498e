"""A report frame (see :mod:`storemon.reports.frame`) in each download format.

Rendering goes by column type, never by column name, so every report kind
renders the same way. Text cells a spreadsheet would run as a formula are
escaped here, in CSV and XLSX only; JSON and Parquet carry the values as
they are.
"""

from __future__ import annotations

import io
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

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
_NEEDS_QUOTES = '[,"\n\r]'
_TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S"  # with microseconds: `%S` is fractional for [us]


class FormatLimitError(ValueError):
    """The report does not fit the format (too many rows for a worksheet)."""


def safe_cells(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Prefix an apostrophe to text a spreadsheet would read as a formula.

    >>> safe_cells(pa.array(["=HYPERLINK(1)", "8419537941919820732"])).to_pylist()
    ["'=HYPERLINK(1)", '8419537941919820732']
    """
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
    kind = column.type
    if _is_text(kind):
        return column
    if pa.types.is_timestamp(kind):
        return pc.strftime(column.cast(pa.timestamp("us", "UTC")), format=_TIMESTAMP_TEXT)
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind) or pa.types.is_date32(kind):
        return column.cast(pa.string())
    raise TypeError(f"no rendering for a {kind} column")


def _csv_fields(column: pa.ChunkedArray) -> pa.ChunkedArray:
    text = _text(column)
    if _is_text(column.type):
        # RFC 4180, minimal: quote only a field holding a comma, quote or line break.
        text = safe_cells(text)
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(pc.match_substring_regex(text, _NEEDS_QUOTES), quoted, text)
    return pc.fill_null(text, "")


def render_csv(frame: pa.Table) -> bytes:
    """UTF-8 CSV with a header, ``\\n`` line ends."""
    header = ",".join(frame.column_names) + "\n"
    if frame.num_rows == 0:
        return header.encode()
    fields = [_csv_fields(column) for column in frame.columns]
    lines = pc.binary_join_element_wise(*fields, ",") if len(fields) > 1 else fields[0]
    return (header + "\n".join(lines.to_pylist()) + "\n").encode()


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
