"""SPEC 8.3 (daily breakdown), 8.4 (groups) and 8.5 (outages) by hand; the
daily and outage tests run against the engine and the reference."""

from __future__ import annotations

import numpy as np
import pytest

from storemon.engine import (
    compute_daily,
    compute_outages,
    compute_report,
    daily_columns,
    group_report,
    outage_columns,
    rounded_columns,
    store_timeline,
)
from storemon.engine.model import Hours, Polls, SpecialHours

from .reference import reference_daily, reference_outages
from .snapshots import HOUR, day_number, snapshot, special_row, store, utc

MICROS_PER_DAY = 86_400_000_000


@pytest.fixture(params=["engine", "reference"])
def daily(request: pytest.FixtureRequest):
    return compute_daily if request.param == "engine" else reference_daily


@pytest.fixture(params=["engine", "reference"])
def outages(request: pytest.FixtureRequest):
    return compute_outages if request.param == "engine" else reference_outages


def day_rows(result) -> list[tuple[str, int, int, int, int]]:
    t = result.totals
    return [
        (str(result.store_id[i]), int(result.date[i]), int(t.business[i]), int(t.uptime[i]),
         int(t.nodata[i]))
        for i in range(len(result))
    ]


@pytest.mark.parametrize(("zone", "day", "hours"), [
    ("America/New_York", "2023-03-12", 23), ("America/New_York", "2023-11-05", 25),
    ("Australia/Sydney", "2023-04-02", 25), ("Australia/Sydney", "2023-10-01", 23),
    ("Australia/Lord_Howe", "2023-04-02", 24.5), ("Australia/Lord_Howe", "2023-10-01", 23.5),
    ("Europe/London", "2023-03-26", 23), ("Europe/London", "2023-10-29", 25),
    ("Europe/London", "2023-10-30", 24),
])
def test_a_local_day_is_as_long_as_the_zone_makes_it(daily, zone, day, hours):
    now = utc("2024-01-01 00:00:00")
    snap = snapshot(store("s", tz=zone, polls=["2024-01-01 00:00:00 active"]))
    result = daily(snap, now, day_number(day), day_number(day))
    assert day_rows(result) == [("s", day_number(day), int(hours * HOUR), int(hours * HOUR), 0)]


def test_a_local_midnight_that_does_not_exist_is_read_with_the_offset_before(daily):
    # Havana springs forward at 2023-03-12 00:00 -05:00: that day starts at
    # 05:00 UTC (01:00 local) and has 23 hours; the day before has 24.
    snap = snapshot(store("s", tz="America/Havana", polls=["2024-01-01 00:00:00 active"]))
    result = daily(snap, utc("2024-01-01 00:00:00"), day_number("2023-03-11"),
                   day_number("2023-03-12"))
    assert [row[2] for row in day_rows(result)] == [24 * HOUR, 23 * HOUR]


def test_special_hours_on_a_daily_row_skip_the_missing_hour(daily):
    snap = snapshot(store("s", tz="America/New_York", special=["2023-03-12 01:00-04:00"],
                          hours=["Mon 09:00-10:00"], polls=["2024-01-01 00:00:00 active"]))
    result = daily(snap, utc("2024-01-01 00:00:00"), day_number("2023-03-12"),
                   day_number("2023-03-13"))
    assert [row[2] for row in day_rows(result)] == [2 * HOUR, HOUR]


def test_a_day_is_cut_at_now_and_days_starting_at_or_after_now_have_no_row(daily):
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 10:30:00 inactive"]))
    result = daily(snap, utc("2023-03-14 00:00:00"), day_number("2023-03-12"),
                   day_number("2023-03-15"))
    assert day_rows(result) == [
        ("s", day_number("2023-03-12"), 24 * HOUR, 0, 0),
        ("s", day_number("2023-03-13"), 24 * HOUR, 0, 0),
    ]


def test_daily_rows_are_sorted_by_store_id_then_date_and_need_a_poll(daily):
    snap = snapshot(
        store("b", tz="UTC", polls=["2023-03-13 10:00:00 active"]),
        store("a", tz="Asia/Kolkata", polls=["2023-03-13 10:00:00 active"]),
        store("c", tz="UTC", polls=["2023-03-15 10:00:00 active"]),
    )
    result = daily(snap, utc("2023-03-14 00:00:00"), day_number("2023-03-12"),
                   day_number("2023-03-13"))
    assert [(row[0], row[1]) for row in day_rows(result)] == [
        ("a", day_number("2023-03-12")), ("a", day_number("2023-03-13")),
        ("b", day_number("2023-03-12")), ("b", day_number("2023-03-13")),
    ]


def test_daily_with_a_max_gap_has_nodata(daily):
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 12:00:00 active"]))
    result = daily(snap, utc("2023-03-14 00:00:00"), day_number("2023-03-13"),
                   day_number("2023-03-13"), "nearest", max_gap_us=60 * 60_000_000)
    assert day_rows(result) == [("s", day_number("2023-03-13"), 24 * HOUR, HOUR, 23 * HOUR)]


def test_daily_columns_are_hours_rounded_half_up():
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 00:00:18 inactive"]))
    result = compute_daily(snap, utc("2023-03-13 00:00:18"), day_number("2023-03-13"),
                           day_number("2023-03-13"), max_gap_us=60 * 60_000_000)
    columns = {name: values.tolist() for name, values in daily_columns(result).items()}
    # 18 s is 0.005 h: half up, 0.01.
    assert columns == {"date": ["2023-03-13"], "business_hours": [0.01], "uptime": [0.0],
                       "downtime": [0.01], "nodata": [0.0]}


def test_first_date_after_last_date_is_an_error():
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 12:00:00 active"]))
    with pytest.raises(ValueError, match="after"):
        compute_daily(snap, utc("2023-03-14 00:00:00"), day_number("2023-03-13"),
                      day_number("2023-03-12"))


def test_daily_over_two_months_is_exact_every_day():
    # Polls at 00:00 active and 12:00 inactive: nearest gives 12 h active a day.
    start = utc("2023-01-01 00:00:00")
    ts = start + np.arange(0, 70 * 2) * (MICROS_PER_DAY // 2)
    snap = snapshot(store("s", tz="UTC"), store("t", tz="Europe/London"))
    snap = type(snap)(snap.stores, Polls.build(np.repeat(snap.stores.key[:1], len(ts)), ts,
                                               np.arange(len(ts)) % 2 == 0), snap.hours)
    result = compute_daily(snap, int(ts[-1]), day_number("2023-01-02"), day_number("2023-03-01"))
    assert len(result) == 59
    assert set(result.totals.business.tolist()) == {24 * HOUR}
    assert set(result.totals.uptime.tolist()) == {12 * HOUR}


def test_group_totals_are_sums_of_reported_members_counted_once():
    snap = snapshot(
        store("s1", tz="UTC", polls=["2023-03-13 12:00:00 active"]),
        store("s2", tz="UTC", hours=["Mon 11:00-12:00"], polls=["2023-03-13 12:00:00 inactive"]),
        store("s3", tz="UTC"),  # no poll: no report row
    )
    report = compute_report(snap, utc("2023-03-13 12:00:00"))
    groups = group_report(report, ["s1", "s2", "s2", "s3", "s1", "zz"],
                          ["north", "north", "north", "empty", "b", "north"])
    assert groups.group.tolist() == ["b", "north"]
    assert groups.stores.tolist() == [1, 2]
    assert groups.day.business.tolist() == [24 * HOUR, 25 * HOUR]
    assert groups.day.uptime.tolist() == [24 * HOUR, 24 * HOUR]
    columns = rounded_columns(groups)
    assert columns["downtime_last_day"].tolist() == [0.0, 1.0]
    assert "nodata_last_day" not in columns


MONDAY = ["Mon 09:00-12:00", "Mon 13:00-17:00"]
DOWN_11_TO_14 = ["2023-03-13 10:00:00 active", "2023-03-13 12:00:00 inactive",
                 "2023-03-13 16:00:00 active"]  # nearest: inactive 11:00-14:00


def outage_rows(result) -> list[tuple[str, int, int]]:
    return [(str(result.store_id[i]), int(result.start_tick[i]), int(result.end_tick[i]))
            for i in range(len(result))]


def ticks(text: str) -> int:
    return 2 * utc(text)


def test_an_outage_is_business_time_estimated_inactive_split_by_closed_time(outages):
    snap = snapshot(store("s", tz="UTC", hours=MONDAY, polls=DOWN_11_TO_14))
    result = outages(snap, utc("2023-03-13 18:00:00"))
    assert outage_rows(result) == [
        ("s", ticks("2023-03-13 11:00:00"), ticks("2023-03-13 12:00:00")),
        ("s", ticks("2023-03-13 13:00:00"), ticks("2023-03-13 14:00:00")),
    ]


def test_outages_are_cut_to_the_range_and_need_a_positive_overlap(outages):
    snap = snapshot(store("s", tz="UTC", hours=MONDAY, polls=DOWN_11_TO_14))
    result = outages(snap, utc("2023-03-13 18:00:00"), utc("2023-03-13 11:30:00"),
                     utc("2023-03-13 13:00:00"))
    assert outage_rows(result) == [
        ("s", ticks("2023-03-13 11:30:00"), ticks("2023-03-13 12:00:00"))]


def test_the_range_end_is_cut_at_now_and_an_empty_range_has_no_outage(outages):
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 12:00:00 inactive"]))
    now = utc("2023-03-13 12:00:00")
    result = outages(snap, now, utc("2023-03-13 11:00:00"), utc("2023-03-14 00:00:00"))
    assert outage_rows(result) == [("s", ticks("2023-03-13 11:00:00"), 2 * now)]
    empty = outages(snap, now, now, now + HOUR)
    assert len(empty) == 0
    if outages is compute_outages:
        assert {name: len(values) for name, values in outage_columns(empty).items()} == {
            "start_utc": 0, "end_utc": 0, "minutes": 0}


@pytest.mark.parametrize(("interpolation", "expected"), [
    ("nearest", [("11:30", "12:30"), ("14:30", "15:30")]),
    ("previous", [("12:00", "13:00"), ("15:00", "16:00")]),
])
def test_with_a_max_gap_no_data_separates_outages(outages, interpolation, expected):
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 12:00:00 inactive",
                                               "2023-03-13 15:00:00 inactive"]))
    result = outages(snap, utc("2023-03-13 18:00:00"), None, None, interpolation,
                     max_gap_us=60 * 60_000_000)
    assert outage_rows(result) == [
        ("s", ticks(f"2023-03-13 {a}:00"), ticks(f"2023-03-13 {b}:00")) for a, b in expected]


def test_outages_over_a_long_range_are_whole():
    start = utc("2023-01-01 00:00:00")
    ts = start + np.arange(0, 24 * 60) * (MICROS_PER_DAY // 24)
    snap = snapshot(store("s", tz="UTC"), store("t", tz="UTC"))
    keys = np.repeat(snap.stores.key, len(ts))
    snap = type(snap)(snap.stores, Polls.build(keys, np.tile(ts, 2), np.zeros(2 * len(ts), bool)),
                      snap.hours)
    result = compute_outages(snap, int(ts[-1]), start - MICROS_PER_DAY)
    assert result.store_id.tolist() == ["s", "t"]
    assert result.length_ticks.tolist() == [2 * (int(ts[-1]) - start + MICROS_PER_DAY)] * 2
    assert outage_columns(result)["minutes"].tolist() == [(61 * 24 - 1) * 60.0] * 2


def test_outage_columns_truncate_to_the_microsecond_and_round_minutes_half_up():
    snap = snapshot(store("s", tz="UTC", polls=["2023-03-13 12:00:00.000001 inactive",
                                               "2023-03-13 12:00:00.000002 active"]))
    result = compute_outages(snap, utc("2023-03-13 12:00:00.000002"))
    columns = outage_columns(result)
    # Inactive until the midpoint 12:00:00.0000015.
    assert columns["end_utc"].tolist() == ["2023-03-13 12:00:00.000001"]
    assert list(columns) == ["start_utc", "end_utc", "minutes"]
    assert int(result.end_tick[0]) == 2 * utc("2023-03-13 12:00:00.000001") + 1
    assert columns["minutes"].tolist() == [60 * 24 * 7.0]


def test_the_timeline_shows_special_hours_and_no_data():
    polls = Polls.build([0, 0], [utc("2023-03-13 10:00:00"), utc("2023-03-13 14:00:00")],
                        [True, False])
    day, start_s, end_s = special_row("2023-03-13 09:00-12:00")
    special = SpecialHours.build([0], [day], [start_s], [end_s])
    line = store_timeline(polls, Hours.build([], [], [], []), "UTC", utc("2023-03-13 00:00:00"),
                          utc("2023-03-14 00:00:00"), special=special, max_gap_us=60 * 60_000_000)
    # 24x7 but for the special date: open 09:00-12:00 that day.
    assert line.open_intervals == [(utc("2023-03-13 09:00:00"), utc("2023-03-13 12:00:00"))]
    assert line.status_intervals == [
        (utc("2023-03-13 00:00:00"), utc("2023-03-13 09:30:00"), None),
        (utc("2023-03-13 09:30:00"), utc("2023-03-13 10:30:00"), True),
        (utc("2023-03-13 10:30:00"), utc("2023-03-13 13:30:00"), None),
        (utc("2023-03-13 13:30:00"), utc("2023-03-13 14:30:00"), False),
        (utc("2023-03-13 14:30:00"), utc("2023-03-14 00:00:00"), None),
    ]



def test_no_polls_give_empty_results_of_every_kind():
    snap = snapshot(store("s", tz="UTC", special=["2023-03-13 closed"]))
    now = utc("2023-03-13 12:00:00")
    report = compute_report(snap, now, max_gap_us=1)
    assert len(report) == 0
    assert all(len(v) == 0 for v in rounded_columns(group_report(report, ["s"], ["g"])).values())
    assert all(len(v) == 0 for v in daily_columns(compute_daily(snap, now, 0, 3)).values())
    assert all(len(v) == 0 for v in outage_columns(compute_outages(snap, now)).values())


def test_outages_over_a_century_for_many_stores_are_whole():
    # 123 years in ticks leave room for only ~590 stores per lookup key range:
    # the stores are worked through in several ranges.
    count = 1_300
    ids = [f"s{i:04d}" for i in range(count)]
    now = utc("2023-03-13 12:00:00")
    snap = snapshot(*(store(store_id, tz="UTC") for store_id in ids))
    snap = type(snap)(snap.stores, Polls.build(snap.stores.key, np.full(count, now),
                                               np.zeros(count, bool)), snap.hours)
    start = utc("1900-01-01 00:00:00")
    result = compute_outages(snap, now, start)
    assert result.store_id.tolist() == ids
    assert set(result.length_ticks.tolist()) == {2 * (now - start)}
