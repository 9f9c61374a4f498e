"""Reading a stored report: pages sorted and filtered on the server, and the
summary, for each kind of report frame."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from storemon.reports.reading import ReadingError, ReportTable, ReportTableCache, RowQuery


def _decimals(values: list[str]) -> pa.Array:
    return pa.array([Decimal(v) for v in values], pa.decimal128(18, 2))


def _stores_frame() -> pa.Table:
    """Four stores in id order, as the section 5 report stores them."""
    return pa.table(
        {
            "store_id": pa.array(["a1", "a2", "b1", "c"]),
            "uptime_last_hour": _decimals(["60.00", "30.00", "0.00", "45.50"]),
            "uptime_last_day": _decimals(["10.00", "5.00", "0.00", "7.25"]),
            "uptime_last_week": _decimals(["70.00", "35.00", "0.00", "50.00"]),
            "downtime_last_hour": _decimals(["0.00", "30.00", "60.00", "14.50"]),
            "downtime_last_day": _decimals(["0.00", "5.00", "10.00", "2.75"]),
            "downtime_last_week": _decimals(["0.00", "35.00", "70.00", "35.00"]),
        }
    )


def _ids(table: ReportTable, query: RowQuery) -> list[str]:
    return [row["store_id"] for row in table.page(query).rows]


def test_rows_come_worst_first_by_default_ties_in_store_id_order() -> None:
    table = ReportTable(_stores_frame())

    page = table.page(RowQuery())

    assert (page.sort, page.descending, page.total) == ("downtime_last_week", True, 4)
    assert [row["store_id"] for row in page.rows] == ["b1", "a2", "c", "a1"]
    assert page.rows[0] == {
        "store_id": "b1",
        "uptime_last_hour": 0.0,
        "uptime_last_day": 0.0,
        "uptime_last_week": 0.0,
        "downtime_last_hour": 60.0,
        "downtime_last_day": 10.0,
        "downtime_last_week": 70.0,
    }


def test_any_column_sorts_both_ways_and_ties_keep_store_id_order() -> None:
    table = ReportTable(_stores_frame())

    assert _ids(table, RowQuery(sort="uptime_last_week")) == ["b1", "a2", "c", "a1"]
    assert _ids(table, RowQuery(sort="downtime_last_week")) == ["a1", "a2", "c", "b1"]
    assert _ids(table, RowQuery(sort="store_id", descending=True)) == ["c", "b1", "a2", "a1"]
    assert _ids(table, RowQuery(sort="uptime_last_day", descending=True)) == [
        "a1",
        "c",
        "a2",
        "b1",
    ]


def test_filters_combine_and_the_total_counts_every_match_not_just_the_page() -> None:
    table = ReportTable(_stores_frame())

    page = table.page(RowQuery(prefix="a", minimum={"downtime_last_week": Decimal(1)}))
    assert [r["store_id"] for r in page.rows] == ["a2"]
    assert page.total == 1
    limited = table.page(RowQuery(maximum={"uptime_last_week": Decimal(50)}, limit=1, offset=1))
    assert [r["store_id"] for r in limited.rows] == ["a2"]
    assert limited.total == 3
    assert _ids(table, RowQuery(keys=["c", "a1", "zz"])) == ["c", "a1"]


def test_thresholds_compare_exactly_whatever_their_decimals() -> None:
    table = ReportTable(_stores_frame())

    # 45.5 is not >= 45.501, and 45.50 <= 45.509 (no rounding to 45.51).
    assert _ids(table, RowQuery(minimum={"uptime_last_hour": Decimal("45.501")})) == ["a1"]
    assert "c" in _ids(table, RowQuery(maximum={"uptime_last_hour": Decimal("45.509")}))
    assert "c" not in _ids(table, RowQuery(maximum={"uptime_last_hour": Decimal("45.499")}))


def test_the_prefix_is_exact_and_case_sensitive() -> None:
    frame = _stores_frame().set_column(0, "store_id", pa.array(["A1", "a%", "a_1", "ab"]))
    assert _ids(ReportTable(frame), RowQuery(prefix="a_", sort="store_id")) == ["a_1"]
    assert _ids(ReportTable(frame), RowQuery(prefix="a", sort="store_id")) == ["a%", "a_1", "ab"]


def test_an_unknown_column_or_a_threshold_on_text_is_refused() -> None:
    table = ReportTable(_stores_frame())
    with pytest.raises(ReadingError, match="no column 'nope'"):
        table.page(RowQuery(sort="nope"))
    with pytest.raises(ReadingError, match="not a number"):
        table.page(RowQuery(minimum={"store_id": Decimal(1)}))


def test_summary_adds_the_windows_and_names_the_worst_stores() -> None:
    summary = ReportTable(_stores_frame()).summary()

    assert (summary["rows"], summary["key"], summary["stores"]) == (4, "store_id", 4)
    week = summary["windows"][2]
    assert week == {
        "window": "last_week",
        "unit": "hours",
        "business": 295.0,
        "uptime": 155.0,
        "downtime": 140.0,
        "nodata": None,
        "uptime_share": 155 / 295,
        "downtime_share": 140 / 295,
        "nodata_share": None,
        "with_downtime": 3,
    }
    assert summary["windows"][0]["unit"] == "minutes"
    assert [w["store_id"] for w in summary["worst"]] == ["b1", "a2", "c"]


def test_summary_with_nodata_columns_gives_the_no_data_share() -> None:
    frame = pa.table(
        {
            "store_id": pa.array(["a", "b"]),
            "uptime_last_week": _decimals(["10.00", "0.00"]),
            "downtime_last_week": _decimals(["0.00", "0.00"]),
            "nodata_last_week": _decimals(["0.00", "30.00"]),
        }
    )
    week = ReportTable(frame).summary()["windows"][0]
    assert (week["business"], week["nodata_share"], week["with_downtime"]) == (40.0, 0.75, 0)
    assert ReportTable(frame).summary()["worst"] == []


def _daily_frame() -> pa.Table:
    return pa.table(
        {
            "store_id": pa.array(["a", "a", "b"]),
            "date": pa.array([date(2023, 1, 1), date(2023, 1, 2), date(2023, 1, 1)]),
            "business_hours": _decimals(["10.00", "10.00", "5.00"]),
            "uptime": _decimals(["9.00", "8.00", "5.00"]),
            "downtime": _decimals(["1.00", "2.00", "0.00"]),
        }
    )


def test_a_daily_report_pages_by_day_and_sums_each_store_for_the_summary() -> None:
    table = ReportTable(_daily_frame())

    page = table.page(RowQuery())
    assert [(r["store_id"], r["date"]) for r in page.rows] == [
        ("a", "2023-01-02"),
        ("a", "2023-01-01"),
        ("b", "2023-01-01"),
    ]
    by_date = table.page(RowQuery(sort="date", descending=True))
    assert [r["date"] for r in by_date.rows] == ["2023-01-02", "2023-01-01", "2023-01-01"]
    summary = table.summary()
    assert (summary["rows"], summary["stores"]) == (3, 2)
    assert summary["windows"][0]["business"] == 25.0
    assert summary["windows"][0]["with_downtime"] == 1
    assert summary["worst"] == [{"store_id": "a", "uptime": 17.0, "downtime": 3.0}]


def test_a_group_report_is_keyed_by_group_and_counts_its_member_stores() -> None:
    frame = pa.table(
        {
            "group": pa.array(["east", "west"]),
            "stores": pa.array([3, 2], pa.int64()),
            "uptime_last_week": _decimals(["100.00", "50.00"]),
            "downtime_last_week": _decimals(["5.00", "20.00"]),
        }
    )
    table = ReportTable(frame)
    assert [r["group"] for r in table.page(RowQuery()).rows] == ["west", "east"]
    assert [r["group"] for r in table.page(RowQuery(keys=["east"])).rows] == ["east"]
    assert [r["group"] for r in table.page(RowQuery(minimum={"stores": Decimal(3)})).rows] == [
        "east"
    ]
    summary = table.summary()
    assert (summary["key"], summary["keys"], summary["stores"]) == ("group", 2, 5)


def test_an_empty_report_pages_and_summarises_to_nothing() -> None:
    table = ReportTable(_stores_frame().slice(0, 0))
    assert table.page(RowQuery()).rows == []
    assert table.page(RowQuery(prefix="a")).total == 0
    summary = table.summary()
    assert (summary["rows"], summary["stores"], summary["worst"]) == (0, 0, [])
    assert summary["windows"][2]["uptime_share"] is None


def test_a_report_split_in_chunks_reads_as_one() -> None:
    frame = _stores_frame()
    chunked = pa.concat_tables([frame.slice(0, 1), frame.slice(1, 3)])
    assert _ids(ReportTable(chunked), RowQuery()) == ["b1", "a2", "c", "a1"]


def test_the_cache_keeps_the_most_recently_read_reports_within_its_bound() -> None:
    frame = _stores_frame()
    loads: list[str] = []

    def loader(name: str) -> pa.Table:
        def load() -> pa.Table:
            loads.append(name)
            return frame

        return load

    size = ReportTable(frame).nbytes
    cache = ReportTableCache(max_bytes=2 * size)
    first = cache.get("r1", loader("r1"))
    assert cache.get("r1", loader("r1")) is first
    cache.get("r2", loader("r2"))
    cache.get("r1", loader("r1"))  # r1 is now the most recent
    cache.get("r3", loader("r3"))  # over the bound: r2 goes
    cache.get("r1", loader("r1"))
    cache.get("r2", loader("r2"))
    assert loads == ["r1", "r2", "r3", "r2"]
    cache.forget("r1")
    cache.get("r1", loader("r1"))
    assert loads[-1] == "r1"


def test_a_cache_of_zero_bytes_keeps_nothing() -> None:
    loads = []
    cache = ReportTableCache(max_bytes=0)
    for _ in range(2):
        cache.get("r", lambda: loads.append(1) or _stores_frame())  # type: ignore[func-returns-value]
    assert len(loads) == 2


def test_large_values_read_exactly() -> None:
    big = "9999999999999999.99"
    frame = pa.table(
        {
            "store_id": pa.array(["x", "y"]),
            "uptime_last_week": _decimals([big, "-0.01"]),
            "downtime_last_week": _decimals(["0.00", "0.01"]),
        }
    )
    table = ReportTable(frame)
    assert table.values("uptime_last_week").tolist() == [999999999999999999, -1]
    assert np.array_equal(table.order("uptime_last_week", True), [0, 1])


def test_a_filtered_table_summarises_only_the_rows_kept() -> None:
    table = ReportTable(_stores_frame()).filtered(RowQuery(keys=["a2", "c"]))
    summary = table.summary()
    assert (summary["stores"], summary["windows"][2]["downtime"]) == (2, 70.0)


def test_sort_orders_are_stable_over_the_whole_range_of_values() -> None:
    rng = np.random.default_rng(3)
    for low, high in ((0, 5), (-(10**6), 10**6), (-(2**62), 2**62)):
        values = rng.integers(low, high, 2000, dtype=np.int64)
        frame = pa.table(
            {
                "store_id": pa.array([f"s{i:05d}" for i in range(len(values))]),
                "uptime_last_week": pa.array(values),
                "downtime_last_week": pa.array(values),
            }
        )
        table = ReportTable(frame)
        for descending in (False, True):
            expected = np.argsort(-values if descending else values, kind="stable")
            assert np.array_equal(table.order("uptime_last_week", descending), expected)
