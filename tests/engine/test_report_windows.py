"""SPEC section 5: windows, rows, ordering, store selection and rounding."""

from __future__ import annotations

import numpy as np

from storemon.engine.model import Report, WindowTotals

from .snapshots import HOUR, MINUTE, SECOND, rows, snapshot, store, utc

NOW = "2023-06-07 12:00:00"

COLUMNS = [
    "uptime_last_hour", "uptime_last_day", "uptime_last_week",
    "downtime_last_hour", "downtime_last_day", "downtime_last_week",
]


def test_windows_reach_back_one_hour_one_day_and_one_week_from_now(compute_report):
    snap = snapshot(store("s", polls=["2023-06-07 11:59:59.999999 active"]))
    report = compute_report(snap, utc(NOW))
    assert report.now_us == utc(NOW)
    (row,) = rows(report)
    assert (row.hour.business, row.day.business, row.week.business) == (
        60 * MINUTE, 24 * HOUR, 168 * HOUR)
    assert (row.hour.uptime, row.day.uptime, row.week.uptime) == (
        60 * MINUTE, 24 * HOUR, 168 * HOUR)


def test_window_edges_are_exactly_now_minus_the_window(compute_report):
    # now = Wed 06-07 12:00 UTC. Each store is open for a few seconds across
    # one window's start.
    snap = snapshot(
        # Wed 10:59:59-11:00:01: 1 s in the hour [11:00, 12:00], 2 s in day and week.
        store("hour-edge", tz="UTC", hours=["Wed 10:59:59-11:00:01"], polls=[f"{NOW} active"]),
        # Tue 06-06 11:59:58-12:00:01: 1 s in the day [Tue 12:00, Wed 12:00], 3 s in the week.
        store("day-edge", tz="UTC", hours=["Tue 11:59:58-12:00:01"], polls=[f"{NOW} active"]),
        # Wed 11:59:57-12:00:01: today it is cut at now (3 s in every window);
        # last Wed 05-31 it gives 1 s to the week [05-31 12:00, now]: 4 s.
        store("week-edge", tz="UTC", hours=["Wed 11:59:57-12:00:01"], polls=[f"{NOW} active"]),
    )
    by_id = {row.store_id: row for row in rows(compute_report(snap, utc(NOW)))}
    business = {
        store_id: (row.hour.business, row.day.business, row.week.business)
        for store_id, row in by_id.items()
    }
    assert business == {
        "hour-edge": (1 * SECOND, 2 * SECOND, 2 * SECOND),
        "day-edge": (0, 1 * SECOND, 3 * SECOND),
        "week-edge": (3 * SECOND, 3 * SECOND, 4 * SECOND),
    }


def test_business_time_is_split_into_uptime_and_downtime(compute_report):
    snap = snapshot(store("s", tz="America/New_York", hours=["Wed 06:00-10:00"], polls=[
        "2023-06-07 09:00:00 active", "2023-06-07 10:00:00 inactive"]))
    (row,) = rows(compute_report(snap, utc(NOW)))
    # Wed 06:00-10:00 EDT = 10:00-14:00 UTC; now 12:00: business today 2 h.
    # Active until the midpoint 09:30 UTC, before opening: all 2 h are down.
    assert (row.day.business, row.day.uptime, row.day.downtime) == (2 * HOUR, 0, 2 * HOUR)
    assert row.hour.business == row.hour.uptime + row.hour.downtime == 60 * MINUTE


def test_one_row_per_store_with_a_poll_at_or_before_now(compute_report):
    snap = snapshot(
        store("early", polls=["2023-06-07 11:00:00 active"]),
        store("at-now", polls=[f"{NOW} active"]),
        store("only-after-now", polls=["2023-06-07 12:00:00.000001 active"]),
        store("no-polls", hours=["Mon 09:00-17:00"]),
        store("ancient", polls=["2020-01-01 00:00:00 inactive"]),
    )
    report = compute_report(snap, utc(NOW))
    assert [row.store_id for row in rows(report)] == ["ancient", "at-now", "early"]


def test_rows_are_sorted_by_plain_string_order(compute_report):
    ids = ["9", "10", "b1f0c6f2-7a55-4e3c-9a0e-6f1d2c3b4a59", "100",
           "0a1f2e3d-4c5b-6a79-8877-665544332211", "Z", "a", "é", "1481966498820158979",
           "54515546588432327"]
    snap = snapshot(*(store(i, polls=[f"{NOW} active"]) for i in ids))
    report = compute_report(snap, utc(NOW))
    assert list(report.store_id) == sorted(ids)
    assert list(report.store_id) == [
        "0a1f2e3d-4c5b-6a79-8877-665544332211", "10", "100", "1481966498820158979",
        "54515546588432327", "9", "Z", "a", "b1f0c6f2-7a55-4e3c-9a0e-6f1d2c3b4a59", "é"]


def test_store_keys_stay_aligned_with_store_ids(compute_report):
    snap = snapshot(
        store("b", polls=[f"{NOW} inactive"]),
        store("a", polls=[f"{NOW} active"]),
    )
    key_of = dict(zip(snap.stores.store_id, snap.stores.key.tolist(), strict=True))
    report = compute_report(snap, utc(NOW))
    a, b = rows(report)
    assert (a.store_id, a.store_key, a.week.uptime) == ("a", key_of["a"], 168 * HOUR)
    assert (b.store_id, b.store_key, b.week.uptime) == ("b", key_of["b"], 0)


def test_store_ids_restrict_the_report(compute_report):
    snap = snapshot(*(store(i, polls=[f"{NOW} active"]) for i in ["a", "b", "c", "d"]))
    report = compute_report(snap, utc(NOW), store_ids=["c", "a"])
    assert list(report.store_id) == ["a", "c"]


def test_store_ids_naming_unknown_or_silent_stores_add_no_rows(compute_report):
    snap = snapshot(
        store("a", polls=[f"{NOW} active"]),
        store("later", polls=["2023-06-08 00:00:00 active"]),
    )
    report = compute_report(snap, utc(NOW), store_ids=iter(["a", "later", "unknown"]))
    assert list(report.store_id) == ["a"]


def test_empty_store_ids_give_an_empty_report(compute_report):
    snap = snapshot(store("a", polls=[f"{NOW} active"]))
    report = compute_report(snap, utc(NOW), store_ids=[])
    assert len(report.store_id) == 0
    assert report.week.business.shape == (0,)


def test_an_empty_snapshot_gives_an_empty_report(compute_report):
    report = compute_report(snapshot(), utc(NOW))
    assert len(report.store_id) == 0
    assert len(report.store_key) == len(report.hour.uptime) == len(report.week.business) == 0


# --- rounding ----------------------------------------------------------------------


def report_with(hour: tuple[int, int], day: tuple[int, int], week: tuple[int, int]) -> Report:
    """A one-row report with the given (business, uptime) ticks per window."""
    def totals(pair: tuple[int, int]) -> WindowTotals:
        return WindowTotals(np.array([pair[0]], dtype=np.int64),
                            np.array([pair[1]], dtype=np.int64))

    return Report(now_us=utc(NOW), interpolation="nearest",
                  store_id=np.array(["s"], dtype=object), store_key=np.array([1], dtype=np.int64),
                  hour=totals(hour), day=totals(day), week=totals(week))


def as_dict(columns: dict) -> dict[str, float]:
    return {name: float(values[0]) for name, values in columns.items()}


def test_rounded_columns_are_in_report_order(rounded_columns):
    columns = rounded_columns(report_with((0, 0), (0, 0), (0, 0)))
    assert list(columns) == COLUMNS
    assert all(values.dtype == np.float64 for values in columns.values())


def test_the_last_hour_is_in_minutes_day_and_week_in_hours(rounded_columns):
    columns = as_dict(rounded_columns(report_with(
        (60 * MINUTE, 45 * MINUTE), (24 * HOUR, 18 * HOUR), (168 * HOUR, 100 * HOUR))))
    assert columns == {
        "uptime_last_hour": 45.0, "uptime_last_day": 18.0, "uptime_last_week": 100.0,
        "downtime_last_hour": 15.0, "downtime_last_day": 6.0, "downtime_last_week": 68.0,
    }


def test_rounding_takes_halves_up_on_the_exact_totals(rounded_columns):
    columns = as_dict(rounded_columns(report_with(
        # hour: 1.5 s up = 0.025 min -> 0.03; 0.5 s down = 0.00833 min -> 0.01
        (2 * SECOND, 3 * SECOND // 2),
        # day: 18 s up = 0.005 h -> 0.01; 3618 s down = 1.005 h -> 1.01
        # (the float 1.005 is just below 1.005, so float rounding would give 1.0)
        (3636 * SECOND, 18 * SECOND),
        # week: 7.5 min up = 0.125 h -> 0.13 (not banker's 0.12);
        # 18 s - one tick down = 0.00499... h -> 0.0
        (450 * SECOND + 18 * SECOND - 1, 450 * SECOND),
    )))
    assert columns == {
        "uptime_last_hour": 0.03, "uptime_last_day": 0.01, "uptime_last_week": 0.13,
        "downtime_last_hour": 0.01, "downtime_last_day": 1.01, "downtime_last_week": 0.0,
    }


def test_rounding_a_full_report_end_to_end(compute_report, rounded_columns):
    # 24/7 store, previous: active, inactive for exactly 18 s at now-10h, and
    # inactive for 1.5 s ten minutes ago.
    snap = snapshot(store("s", polls=[
        "2023-06-01 00:00:00 active",
        "2023-06-07 02:00:00 inactive", "2023-06-07 02:00:18 active",
        "2023-06-07 11:50:00 inactive", "2023-06-07 11:50:01.500000 active",
    ]))
    report = compute_report(snap, utc(NOW), interpolation="previous")
    # hour: down 1.5 s = 0.025 min -> 0.03; up 59.975 min -> 59.98.
    # day: down 19.5 s = 0.0054166 h -> 0.01; up 23.9945833 h -> 23.99.
    # week: same down; up 167.9945833 h -> 167.99.
    assert as_dict(rounded_columns(report)) == {
        "uptime_last_hour": 59.98, "uptime_last_day": 23.99, "uptime_last_week": 167.99,
        "downtime_last_hour": 0.03, "downtime_last_day": 0.01, "downtime_last_week": 0.01,
    }


def test_an_exact_18_seconds_down_rounds_the_day_up_and_the_uptime_to_24(compute_report,
                                                                         rounded_columns):
    snap = snapshot(store("s", polls=[
        "2023-06-01 00:00:00 active",
        "2023-06-07 02:00:00 inactive", "2023-06-07 02:00:18 active",
    ]))
    report = compute_report(snap, utc(NOW), interpolation="previous")
    columns = as_dict(rounded_columns(report))
    # 18 s = 0.005 h -> 0.01; 24 h - 18 s = 23.995 h -> 24.0; 167.995 h -> 168.0.
    assert (columns["downtime_last_day"], columns["uptime_last_day"]) == (0.01, 24.0)
    assert (columns["downtime_last_week"], columns["uptime_last_week"]) == (0.01, 168.0)
