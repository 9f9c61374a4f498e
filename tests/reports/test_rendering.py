"""A stored report frame renders to CSV, JSON, Parquet and XLSX: the CSV keeps
its bytes, spreadsheet formats escape formulas, the others carry ids as loaded."""

from __future__ import annotations

import csv
import doctest
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storemon.engine import Hours, Polls, Snapshot, Stores, compute_report
from storemon.reports import frame as frame_module
from storemon.reports import rendering
from storemon.reports.frame import (
    decimal_column,
    decode_frame,
    encode_frame,
    report_frame,
    uptime_frame,
)
from storemon.reports.rendering import (
    XLSX_MAX_ROWS,
    FormatLimitError,
    render_csv,
    render_json,
    render_parquet,
    render_xlsx,
)
from storemon.reports.service import ReportRequest

from .samples import NOW_US, TRICKY_IDS, tricky_report

#: What the CSV renderer wrote for this report before reports were stored as
#: frames (kept byte for byte: SPEC section 5).
GOLDEN = Path(__file__).with_name("golden") / "uptime_report.csv"
FORMULA_IDS = {"=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "\ttab", "'apostrophe"}


@pytest.fixture(scope="module")
def frame() -> pa.Table:
    return uptime_frame(tricky_report(), ReportRequest(store_ids=None))


def _xlsx_rows(data: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_csv_is_byte_for_byte_what_it_was_before_frames(frame: pa.Table) -> None:
    assert render_csv(frame) == GOLDEN.read_bytes()


def test_the_csv_round_trips_to_the_ids_and_exact_values(frame: pa.Table) -> None:
    rows = list(csv.reader(io.StringIO(render_csv(frame).decode(), newline="")))

    assert rows[0] == frame.column_names
    unescaped = [text[1:] if text.startswith("'") else text for text, *_ in rows[1:]]
    assert unescaped == frame.column("store_id").to_pylist()
    for index, name in enumerate(frame.column_names[1:], 1):
        assert [Decimal(row[index]) for row in rows[1:]] == frame.column(name).to_pylist()


def test_formula_starts_are_escaped_in_csv_and_xlsx_only(frame: pa.Table) -> None:
    csv_ids = [row[0] for row in csv.reader(io.StringIO(render_csv(frame).decode(), newline=""))]
    xlsx_ids = [row[0] for row in _xlsx_rows(render_xlsx(frame))]
    json_ids = [row["store_id"] for row in json.loads(render_json(frame))]
    parquet_ids = pq.read_table(io.BytesIO(render_parquet(frame))).column("store_id").to_pylist()

    for text in FORMULA_IDS:
        assert "'" + text in csv_ids and "'" + text in xlsx_ids
        assert text in json_ids and text in parquet_ids
    assert "8419537941919820732" in csv_ids and "8419537941919820732" in xlsx_ids


def test_json_and_parquet_carry_the_ids_as_loaded(frame: pa.Table) -> None:
    json_rows = json.loads(render_json(frame))
    parquet = pq.read_table(io.BytesIO(render_parquet(frame)))

    assert [row["store_id"] for row in json_rows] == sorted(TRICKY_IDS)
    assert parquet.column("store_id").to_pylist() == sorted(TRICKY_IDS)


def test_json_values_are_numbers_with_the_csv_value(frame: pa.Table) -> None:
    rows = json.loads(render_json(frame), parse_float=Decimal)

    for name in frame.column_names[1:]:
        assert [row[name] for row in rows] == frame.column(name).to_pylist()


def test_the_parquet_download_is_the_frame_with_exact_decimals_and_metadata(
    frame: pa.Table,
) -> None:
    table = pq.read_table(io.BytesIO(render_parquet(frame)))

    assert table.equals(frame, check_metadata=True)
    assert table.schema.field("uptime_last_week").type == pa.decimal128(18, 2)


def test_the_xlsx_has_numbers_with_two_decimals_and_escaped_text(frame: pa.Table) -> None:
    data = render_xlsx(frame)
    rows = _xlsx_rows(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None

    assert rows[0] == frame.column_names
    assert len(rows) == frame.num_rows + 1
    for index, name in enumerate(frame.column_names[1:], 1):
        values = [Decimal(str(row[index])).quantize(Decimal("0.01")) for row in rows[1:]]
        assert values == frame.column(name).to_pylist()
    assert sheet.cell(2, 2).number_format == "0.00"
    assert sheet.cell(2, 1).data_type == "s"  # text, never a formula


def test_an_empty_report_renders_its_header_and_no_rows() -> None:
    nothing = Snapshot(Stores.build([], []), Polls.build([], [], []), Hours.build([], [], [], []))
    empty = uptime_frame(compute_report(nothing, NOW_US), ReportRequest())

    assert render_csv(empty) == GOLDEN.read_bytes().split(b"\n")[0] + b"\n"
    assert json.loads(render_json(empty)) == []
    assert pq.read_table(io.BytesIO(render_parquet(empty))).num_rows == 0
    assert _xlsx_rows(render_xlsx(empty)) == [empty.column_names]


def test_the_stored_frame_keeps_its_kind_now_and_parameters(frame: pa.Table) -> None:
    request = ReportRequest(as_of_us=NOW_US, interpolation="previous", store_ids=("b", "a"))
    stored = decode_frame(encode_frame(uptime_frame(tricky_report(), request)))

    metadata = stored.schema.metadata
    assert metadata[b"kind"] == b"uptime"
    assert int(metadata[b"now"]) == NOW_US
    assert json.loads(metadata[b"parameters"]) == {
        "as_of_us": NOW_US,
        "interpolation": "previous",
        "store_ids": ["b", "a"],
    }
    assert decode_frame(encode_frame(frame)).equals(frame, check_metadata=True)


def test_rendering_goes_by_column_type_for_any_report_kind() -> None:
    moment = datetime(2023, 1, 25, 18, 13, 22, 479220, tzinfo=UTC)
    columns = {
        "store_id": pa.array(["=x", "b,c"]),
        "date": pa.array([date(2023, 1, 24), date(2023, 1, 25)], pa.date32()),
        "start_utc": pa.array([moment, moment.replace(microsecond=0)], pa.timestamp("us", "UTC")),
        "stores": pa.array([3, 0], pa.int64()),
        "minutes": decimal_column(np.array([150, 0])),
    }
    daily = report_frame("example", columns, NOW_US, {})

    assert render_csv(daily) == (
        b"store_id,date,start_utc,stores,minutes\n"
        b"'=x,2023-01-24,2023-01-25 18:13:22.479220,3,1.50\n"
        b'"b,c",2023-01-25,2023-01-25 18:13:22.000000,0,0.00\n'
    )
    assert json.loads(render_json(daily))[0] == {
        "store_id": "=x",
        "date": "2023-01-24",
        "start_utc": "2023-01-25 18:13:22.479220",
        "stores": 3,
        "minutes": 1.5,
    }
    xlsx = _xlsx_rows(render_xlsx(daily))
    assert xlsx[1] == ["'=x", datetime(2023, 1, 24), "2023-01-25 18:13:22.479220", 3, 1.5]


def test_xlsx_refuses_a_report_longer_than_a_worksheet() -> None:
    ids = pa.array(np.full(XLSX_MAX_ROWS, "x", dtype=object), pa.string())
    too_long = report_frame("uptime", {"store_id": ids}, NOW_US, {})

    with pytest.raises(FormatLimitError, match="at most 1048575"):
        render_xlsx(too_long)


@given(st.lists(st.integers(0, 10**16 - 1), max_size=20))
def test_decimal_values_are_the_exact_hundredths(hundredths: list[int]) -> None:
    column = decimal_column(np.array(hundredths, dtype=np.int64))

    assert column.to_pylist() == [Decimal(h).scaleb(-2) for h in hundredths]
    assert column.cast(pa.string()).to_pylist() == [f"{h // 100}.{h % 100:02d}" for h in hundredths]


def _csv_by_arrow_compute(frame: pa.Table) -> bytes:
    """The CSV as rendered column by column with Arrow's compute functions
    (how it was rendered before the CSV path stopped importing them)."""
    import pyarrow.compute as pc

    def fields(column: pa.ChunkedArray) -> pa.ChunkedArray:
        if pa.types.is_string(column.type):
            text = rendering.safe_cells(column)
            quoted = pc.binary_join_element_wise(
                '"', pc.replace_substring(text, '"', '""'), '"', ""
            )
            text = pc.if_else(pc.match_substring_regex(text, '[,"\n\r]'), quoted, text)
        elif pa.types.is_timestamp(column.type):
            text = pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
        else:
            text = column.cast(pa.string())
        return pc.fill_null(text, "")

    header = ",".join(frame.column_names) + "\n"
    lines = pc.binary_join_element_wise(*[fields(c) for c in frame.columns], ",")
    return (header + "\n".join(lines.to_pylist()) + "\n").encode()


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.text()),
            st.one_of(st.none(), st.integers(-(10**15), 10**15)),
            st.one_of(st.none(), st.integers(-(10**17), 10**17)),
            st.one_of(st.none(), st.integers(-(2**62) // 1000, 2**62 // 1000)),
            st.one_of(st.none(), st.dates()),
            st.one_of(st.none(), st.text()),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_csv_equals_the_one_rendered_with_arrow_compute(
    rows: list[tuple[object, ...]],
) -> None:
    text, stores, hundredths, instant, day, name = (
        list(column) for column in zip(*rows, strict=True)
    )
    cents = np.array([0 if h is None else h for h in hundredths], dtype=np.int64)
    decimals = decimal_column(cents).to_pylist()
    frame = pa.table(
        {
            "store_id": pa.array(text, pa.string()),
            "stores": pa.array(stores, pa.int64()),
            "value": pa.array(
                [None if h is None else d for h, d in zip(hundredths, decimals, strict=True)],
                pa.decimal128(18, 2),
            ),
            "start_utc": pa.array(instant, pa.timestamp("us", "UTC")),
            "date": pa.array(day, pa.date32()),
            "group": pa.array(name, pa.string()),
        }
    )

    assert render_csv(frame) == _csv_by_arrow_compute(frame)
    assert render_csv(frame.select(["stores", "value"])) == _csv_by_arrow_compute(
        frame.select(["stores", "value"])
    )


@pytest.mark.parametrize("module", [frame_module, rendering], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)

    assert result.attempted > 0 and result.failed == 0
