"""SPEC 8.1 (max gap) and 8.2 (special hours) in the store report, computed
by hand; every test runs against the engine and the reference."""

from __future__ import annotations

import numpy as np
import pytest

from storemon.engine.hours import merge_intervals

from .snapshots import HOUR, MINUTE, snapshot, store, utc

G_60 = 60 * 60_000_000
G_40 = 40 * 60_000_000


def totals(report, window: str, i: int = 0) -> tuple[int, int, int, int]:
    w = getattr(report, window)
    return int(w.business[i]), int(w.uptime[i]), int(w.downtime[i]), int(w.nodata[i])


TWO_POLLS = snapshot(store("s", tz="UTC", polls=[
    "2023-03-13 10:00:00 active", "2023-03-13 14:00:00 inactive"]))


def test_nearest_poll_speaks_for_half_the_gap_on_each_side(compute_report):
    report = compute_report(TWO_POLLS, utc("2023-03-13 14:00:00"), "nearest", max_gap_us=G_60)
    # 10:00 speaks for 09:30-10:30; 14:00 for 13:30-14:00 (cut at now).
    assert totals(report, "hour") == (60 * MINUTE, 0, 30 * MINUTE, 30 * MINUTE)
    assert totals(report, "day") == (24 * HOUR, 60 * MINUTE, 30 * MINUTE,
                                     24 * HOUR - 90 * MINUTE)
    assert report.max_gap_us == G_60


def test_previous_poll_speaks_forward_only_and_nothing_before_the_first(compute_report):
    report = compute_report(TWO_POLLS, utc("2023-03-13 14:00:00"), "previous", max_gap_us=G_60)
    # 10:00 speaks for 10:00-11:00; 14:00 for nothing before now.
    assert totals(report, "hour") == (60 * MINUTE, 0, 0, 60 * MINUTE)
    assert totals(report, "day") == (24 * HOUR, 60 * MINUTE, 0, 23 * HOUR)


def test_without_a_max_gap_the_first_poll_holds_back_and_nothing_lacks_data(compute_report):
    report = compute_report(TWO_POLLS, utc("2023-03-13 14:00:00"), "previous")
    assert totals(report, "day") == (24 * HOUR, 24 * HOUR, 0, 0)
    assert report.max_gap_us is None


@pytest.mark.parametrize(("interpolation", "downtime"), [("nearest", 10), ("previous", 30)])
def test_a_poll_speaks_across_the_window_edge(compute_report, interpolation, downtime):
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 12:50:00 inactive"]))
    report = compute_report(snap, utc("2023-03-13 14:00:00"), interpolation, max_gap_us=G_40)
    # nearest: 12:30-13:10; previous: 12:50-13:30; the last hour starts at 13:00.
    assert totals(report, "hour") == (60 * MINUTE, 0, downtime * MINUTE,
                                      (60 - downtime) * MINUTE)


def test_a_max_gap_counts_half_microseconds_exactly(compute_report):
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 13:30:00 active"]))
    report = compute_report(snap, utc("2023-03-13 14:00:00"), "nearest", max_gap_us=3)
    # The poll speaks for 1.5 µs on each side: 3 µs = 6 ticks.
    assert totals(report, "hour")[1] == 6


def test_an_enormous_max_gap_is_the_same_as_none_for_nearest(compute_report):
    now = utc("2023-03-13 14:00:00")
    report = compute_report(TWO_POLLS, now, "nearest", max_gap_us=10**18)
    assert totals(report, "week") == (168 * HOUR, 166 * HOUR, 2 * HOUR, 0)


# The week before Monday 2023-03-20 00:00 UTC is Monday 13 .. Sunday 19;
# one active poll at `now` makes all of it active.
NOW = "2023-03-20 00:00:00"
ALL_WEEK = [f"{day} 09:00-17:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]


def week_business(compute_report, **spec) -> int:
    snap = snapshot(store("s", tz="UTC", polls=[f"{NOW} active"], **spec))
    report = compute_report(snap, utc(NOW))
    assert int(report.week.uptime[0]) == int(report.week.business[0])
    return int(report.week.business[0])


def test_special_hours_replace_the_weekly_rows_of_their_date(compute_report):
    business = week_business(compute_report, hours=ALL_WEEK, special=["2023-03-15 10:00-12:00"])
    assert business == (6 * 8 + 2) * HOUR


def test_a_date_with_only_a_closed_row_has_no_business_time(compute_report):
    business = week_business(compute_report, hours=ALL_WEEK, special=["2023-03-15 closed"])
    assert business == 6 * 8 * HOUR


def test_hours_past_midnight_into_a_closed_date_still_count(compute_report):
    business = week_business(compute_report, hours=["Tue 22:00-02:00", "Wed 09:00-17:00"],
                             special=["2023-03-15 closed"])
    assert business == 4 * HOUR  # Tue 22:00 - Wed 02:00 belongs to Tuesday


def test_a_special_row_past_midnight_runs_into_the_next_date(compute_report):
    business = week_business(compute_report, hours=["Tue 09:00-17:00", "Wed 09:00-10:00"],
                             special=["2023-03-14 22:00-03:00"])
    assert business == (2 + 3 + 1) * HOUR  # Tuesday's weekly row does not apply


def test_special_rows_do_not_count_as_hours_rows_for_the_24x7_default(compute_report):
    business = week_business(compute_report, special=["2023-03-15 10:00-12:00"])
    assert business == (6 * 24 + 2) * HOUR


def test_overlapping_special_rows_count_once_and_a_closed_row_adds_nothing(compute_report):
    business = week_business(compute_report, special=[
        "2023-03-15 10:00-12:00", "2023-03-15 11:00-13:00", "2023-03-15 closed"])
    assert business == (6 * 24 + 3) * HOUR


def test_a_special_row_with_end_equal_to_start_is_24_hours(compute_report):
    business = week_business(compute_report, hours=ALL_WEEK, special=["2023-03-15 06:00-06:00"])
    assert business == (6 * 8 + 24) * HOUR  # Wed 06:00 - Thu 06:00, before Thursday opens


def test_special_hours_on_a_spring_forward_date_skip_the_missing_hour(compute_report):
    # New York, Sunday 2023-03-12: 02:00-03:00 local does not exist.
    snap = snapshot(store("s", tz="America/New_York", hours=["Mon 00:00-00:01"],
                          special=["2023-03-12 01:00-04:00"],
                          polls=["2023-03-13 12:00:00 active"]))
    report = compute_report(snap, utc("2023-03-13 12:00:00"))
    assert int(report.week.business[0]) == 2 * HOUR + MINUTE


def test_merging_long_spans_works_across_store_key_ranges():
    store_ids = np.array([2**33, 0, 2**33], dtype=np.int64)
    merged = merge_intervals(store_ids, np.array([0, 5, 10]), np.array([20, 2**30, 30]), 0)
    assert [m.tolist() for m in merged] == [[0, 2**33], [5, 0], [2**30, 30]]
