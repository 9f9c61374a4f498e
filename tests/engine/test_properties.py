"""Property tests: the engine against the slow reference, and invariants.

Snapshots are small (1-4 stores) but rough: zones from both hemispheres,
half-hour and 45-minute offsets, DST changes at midnight (Santiago, Beirut);
hours rows past midnight, start == end, ``24:00``, overlaps and missing days;
polls from before the week to after ``now``; and ``now`` usually within a
week of a DST change so the windows straddle it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storemon.engine import (
    CLOSED,
    compute_daily,
    compute_outages,
    compute_report,
    daily_columns,
    group_report,
    outage_columns,
    rounded_columns,
    store_timeline,
)
from storemon.engine.model import Hours, Polls, Report, Snapshot, SpecialHours, Stores

from .reference import (
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    reference_daily,
    reference_groups,
    reference_outages,
    reference_report,
    reference_rounded_columns,
    round_half_up,
    spoken_segments,
)
from .snapshots import HOUR, MINUTE, utc

ZONES = [
    None, "UTC", "America/Chicago", "America/New_York", "America/St_Johns", "America/Santiago",
    "Europe/London", "Europe/Berlin", "Asia/Beirut", "Asia/Kolkata", "Asia/Kathmandu",
    "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Auckland", "Pacific/Chatham",
]

#: DST changes of the zones above (UTC instant, zone; checked with zoneinfo).
DST_CHANGES = [(utc(text), zone) for text, zone in [
    ("2023-03-12 05:30:00", "America/St_Johns"), ("2023-03-12 07:00:00", "America/New_York"),
    ("2023-03-12 08:00:00", "America/Chicago"), ("2023-03-25 22:00:00", "Asia/Beirut"),
    ("2023-03-26 01:00:00", "Europe/Berlin"), ("2023-03-26 01:00:00", "Europe/London"),
    ("2023-04-01 14:00:00", "Pacific/Auckland"), ("2023-04-01 14:00:00", "Pacific/Chatham"),
    ("2023-04-01 15:00:00", "Australia/Lord_Howe"), ("2023-04-01 16:00:00", "Australia/Sydney"),
    ("2023-04-02 03:00:00", "America/Santiago"), ("2023-09-03 04:00:00", "America/Santiago"),
    ("2023-09-23 14:00:00", "Pacific/Auckland"), ("2023-09-23 14:00:00", "Pacific/Chatham"),
    ("2023-09-30 15:30:00", "Australia/Lord_Howe"), ("2023-09-30 16:00:00", "Australia/Sydney"),
    ("2023-10-28 21:00:00", "Asia/Beirut"), ("2023-10-29 01:00:00", "Europe/Berlin"),
    ("2023-10-29 01:00:00", "Europe/London"), ("2023-11-05 04:30:00", "America/St_Johns"),
    ("2023-11-05 06:00:00", "America/New_York"), ("2023-11-05 07:00:00", "America/Chicago"),
    ("2024-03-10 07:00:00", "America/New_York"), ("2024-10-06 16:00:00", "Australia/Sydney"),
]]

MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOWS = ("hour", "day", "week")
WINDOW_LIMITS = {"hour": 60 * MINUTE, "day": 24 * HOUR, "week": 168 * HOUR}
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def instants_between(lo_us: int, hi_us: int) -> st.SearchStrategy[int]:
    """Microsecond instants in [lo, hi], often on a whole second, minute or half hour."""
    def on_grid(unit: int) -> st.SearchStrategy[int]:
        return st.integers(-(-lo_us // unit), hi_us // unit).map(lambda k: k * unit)

    return st.one_of(
        on_grid(1), on_grid(MICROS_PER_SECOND), on_grid(60 * MICROS_PER_SECOND),
        on_grid(MICROS_PER_HOUR // 2),
    )


#: A local (weekday, seconds after midnight).
WallTime = tuple[int, int]


def wall_time(moment: datetime) -> WallTime:
    return moment.weekday(), moment.hour * 3600 + moment.minute * 60 + moment.second


@st.composite
def scenarios(draw) -> tuple[int, str | None, list[WallTime]]:
    """``now``, and when it is near a DST change, that change's zone and wall
    times in (or at the edges of) its skipped or repeated stretch."""
    if draw(st.integers(0, 2)) == 0:
        now = draw(instants_between(utc("2023-01-01 00:00:00"), utc("2025-01-01 00:00:00")))
        return now, None, []
    change, zone = draw(st.sampled_from(DST_CHANGES))
    # From a day before the change to a day after it has left the week.
    now = draw(instants_between(change - MICROS_PER_DAY, change + 8 * MICROS_PER_DAY))
    at = EPOCH + timedelta(microseconds=change)
    tz = ZoneInfo(zone)
    # The wall clock reads `before` just before the change and `after` just
    # after it: wall times between them are skipped or repeated.
    before = at + (at - timedelta(seconds=1)).astimezone(tz).utcoffset()
    after = at + at.astimezone(tz).utcoffset()
    lo, hi = min(before, after), max(before, after)
    inside = lo + timedelta(seconds=draw(st.integers(0, int((hi - lo).total_seconds()))))
    points = [lo, hi, lo + (hi - lo) / 2, inside, lo - timedelta(seconds=1),
              hi - timedelta(seconds=1)]
    return now, zone, [wall_time(point) for point in points]


def seconds_of_day(max_value: int) -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(0, max_value // 1800).map(lambda k: k * 1800),
        st.sampled_from([0, 86_399, max_value]),
        st.integers(0, max_value),
    )


@st.composite
def hours_rows(draw, dst_points: list[WallTime]) -> tuple[int, int, int]:
    """(day, start_s, end_s); often opening or closing at a DST wall time."""
    day = draw(st.integers(0, 6))
    start = draw(seconds_of_day(86_399))
    end = draw(st.one_of(seconds_of_day(86_400), st.just(start)))
    anchor = draw(st.sampled_from(["none", "start", "end"] if dst_points else ["none"]))
    if anchor == "start":
        day, start = draw(st.sampled_from(dst_points))
    elif anchor == "end":
        day, end = draw(st.sampled_from(dst_points))
        if end <= start:
            day = (day - 1) % 7  # the row runs past midnight into the DST day
    return day, start, end


@st.composite
def special_rows(draw, now_us: int, dst_points: list[WallTime]) -> list[tuple[int, int, int]]:
    """(date, start_s, end_s) on local dates around the week before ``now``;
    closed rows, rows past midnight, and rows at DST wall times."""
    now_date = now_us // MICROS_PER_DAY
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        day = draw(st.integers(now_date - 9, now_date + 1))
        if draw(st.integers(0, 2)) == 0:
            rows.append((day, CLOSED, CLOSED))
            continue
        start, end = draw(seconds_of_day(86_399)), draw(seconds_of_day(86_400))
        if dst_points and draw(st.booleans()):
            _, start = draw(st.sampled_from(dst_points))
        rows.append((day, start, end))
    return rows


@st.composite
def store_polls(draw, now_us: int) -> list[tuple[int, bool]]:
    times = draw(st.one_of(
        st.lists(instants_between(now_us - 9 * MICROS_PER_DAY, now_us + 2 * MICROS_PER_HOUR),
                 max_size=8, unique=True),
        # Roughly hourly polls through the last day, as in the real feed.
        st.lists(instants_between(now_us - 30 * MICROS_PER_HOUR, now_us), min_size=1,
                 max_size=30, unique=True),
    ))
    if draw(st.booleans()) and now_us not in times:
        times.append(now_us)
    return [(ts, draw(st.booleans())) for ts in times]


@st.composite
def snapshots_and_nows(draw) -> tuple[Snapshot, int]:
    now_us, dst_zone, dst_points = draw(scenarios())
    count = draw(st.integers(1, 4))
    keys = draw(st.lists(st.integers(0, 2**62), min_size=count, max_size=count, unique=True))
    ids = draw(st.lists(
        st.one_of(st.from_regex(r"[0-9]{1,3}", fullmatch=True), st.uuids().map(str),
                  st.text(alphabet="aAzZ9_-é", min_size=1, max_size=3)),
        min_size=count, max_size=count, unique=True))
    zone_choices = st.sampled_from(ZONES)
    if dst_zone is not None:
        zone_choices = st.one_of(st.just(dst_zone), zone_choices)
    zones = [draw(zone_choices) for _ in range(count)]
    poll_key, poll_ts, poll_active = [], [], []
    hour_key, day, start_s, end_s = [], [], [], []
    special_key, special_date, special_start, special_end = [], [], [], []
    for key in keys:
        for d, s, e in draw(special_rows(now_us, dst_points)):
            special_key.append(key)
            special_date.append(d)
            special_start.append(s)
            special_end.append(e)
        for ts, active in draw(store_polls(now_us)):
            poll_key.append(key)
            poll_ts.append(ts)
            poll_active.append(active)
        for d, s, e in draw(st.one_of(st.just([]), st.lists(hours_rows(dst_points),
                                                             min_size=1, max_size=6))):
            hour_key.append(key)
            day.append(d)
            start_s.append(s)
            end_s.append(e)
    snapshot = Snapshot(
        stores=Stores.build(keys, ids, zones),
        polls=Polls.build(poll_key, poll_ts, poll_active),
        hours=Hours.build(hour_key, day, start_s, end_s),
        special=SpecialHours.build(special_key, special_date, special_start, special_end),
    )
    return snapshot, now_us


def as_lists(report: Report) -> dict[str, list]:
    """Everything in a report, as plain lists (exact ints and strings)."""
    result: dict[str, list] = {
        "store_id": [str(s) for s in report.store_id],
        "store_key": [int(k) for k in report.store_key],
    }
    for window in WINDOWS:
        totals = getattr(report, window)
        result[f"{window}.business"] = [int(v) for v in totals.business]
        result[f"{window}.uptime"] = [int(v) for v in totals.uptime]
        result[f"{window}.downtime"] = [int(v) for v in totals.downtime]
    return result


interpolations = st.sampled_from(["nearest", "previous"])


@SETTINGS
@given(snapshots_and_nows(), interpolations)
def test_engine_matches_the_reference_exactly(case, interpolation):
    snapshot, now_us = case
    report = compute_report(snapshot, now_us, interpolation=interpolation)
    expected = reference_report(snapshot, now_us, interpolation=interpolation)
    assert report.now_us == now_us
    assert report.interpolation == interpolation
    assert as_lists(report) == as_lists(expected)
    columns = {name: values.tolist() for name, values in rounded_columns(report).items()}
    expected_columns = {
        name: values.tolist() for name, values in reference_rounded_columns(expected).items()
    }
    assert columns == expected_columns


@SETTINGS
@given(snapshots_and_nows(), interpolations)
def test_uptime_and_downtime_split_business_time_within_the_window(case, interpolation):
    snapshot, now_us = case
    report = compute_report(snapshot, now_us, interpolation=interpolation)
    for window in WINDOWS:
        totals = getattr(report, window)
        assert totals.business.dtype == np.int64
        assert np.array_equal(totals.uptime + totals.downtime, totals.business)
        assert np.all(totals.uptime >= 0)
        assert np.all(totals.downtime >= 0)
        assert np.all(totals.business <= WINDOW_LIMITS[window])
    assert np.all(report.hour.business <= report.day.business)
    assert np.all(report.day.business <= report.week.business)
    assert np.all(report.hour.uptime <= report.day.uptime)
    assert np.all(report.day.uptime <= report.week.uptime)
    columns = rounded_columns(report)
    assert all(np.all(values >= 0) for values in columns.values())


@SETTINGS
@given(snapshots_and_nows(), interpolations, st.randoms(use_true_random=False))
def test_the_order_of_input_rows_changes_nothing(case, interpolation, random):
    snapshot, now_us = case

    def shuffled(n: int) -> np.ndarray:
        order = list(range(n))
        random.shuffle(order)
        return np.array(order, dtype=np.int64)

    stores, polls, hours = snapshot.stores, snapshot.polls, snapshot.hours
    s, p, h = shuffled(len(stores)), shuffled(len(polls)), shuffled(len(hours))
    special = snapshot.special
    x = shuffled(len(special))
    reordered = Snapshot(
        stores=Stores.build(stores.key[s], stores.store_id[s], stores.timezone[s]),
        polls=Polls.build(polls.store_key[p], polls.ts_us[p], polls.active[p]),
        hours=Hours.build(hours.store_key[h], hours.day[h], hours.start_s[h], hours.end_s[h]),
        special=SpecialHours.build(special.store_key[x], special.date[x], special.start_s[x],
                                   special.end_s[x]),
    )
    assert as_lists(compute_report(reordered, now_us, interpolation=interpolation)) == as_lists(
        compute_report(snapshot, now_us, interpolation=interpolation))


@SETTINGS
@given(snapshots_and_nows(), interpolations, st.data())
def test_a_store_ids_subset_is_the_filtered_full_report(case, interpolation, data):
    snapshot, now_us = case
    known = [str(s) for s in snapshot.stores.store_id]
    wanted = data.draw(st.lists(st.sampled_from([*known, "not-a-store"]), unique=True))
    full = as_lists(compute_report(snapshot, now_us, interpolation=interpolation))
    subset = as_lists(compute_report(snapshot, now_us, interpolation=interpolation,
                                     store_ids=wanted))
    keep = [i for i, store_id in enumerate(full["store_id"]) if store_id in wanted]
    assert subset == {name: [values[i] for i in keep] for name, values in full.items()}


@settings(max_examples=60, deadline=None)
@given(snapshots_and_nows())
def test_interpolations_agree_when_every_poll_has_the_same_status(case):
    snapshot, now_us = case
    polls = snapshot.polls
    same = Snapshot(
        stores=snapshot.stores,
        polls=Polls.build(polls.store_key, polls.ts_us, np.ones(len(polls), dtype=bool)),
        hours=snapshot.hours,
        special=snapshot.special,
    )
    nearest = compute_report(same, now_us, interpolation="nearest")
    assert as_lists(nearest) == as_lists(compute_report(same, now_us, interpolation="previous"))
    for window in WINDOWS:
        totals = getattr(nearest, window)
        assert np.array_equal(totals.uptime, totals.business)


@settings(max_examples=60, deadline=None)
@given(snapshots_and_nows(), interpolations)
def test_open_all_day_every_day_is_the_same_as_having_no_hours(case, interpolation):
    snapshot, now_us = case
    keys = snapshot.stores.key
    all_week = Hours.build(np.repeat(keys, 7), np.tile(np.arange(7), len(keys)),
                           np.zeros(7 * len(keys)), np.full(7 * len(keys), 86_400))
    no_hours = Hours.build([], [], [], [])
    with_rows = Snapshot(snapshot.stores, snapshot.polls, all_week, snapshot.special)
    without_rows = Snapshot(snapshot.stores, snapshot.polls, no_hours, snapshot.special)
    report = compute_report(with_rows, now_us, interpolation=interpolation)
    assert as_lists(report) == as_lists(
        compute_report(without_rows, now_us, interpolation=interpolation))
    if len(snapshot.special) == 0:
        assert all(v == 168 * HOUR for v in report.week.business)


#: Max gaps in microseconds: on the minute, or odd ones so that G/2 and the
#: poll midpoints fall on half microseconds.
max_gaps = st.one_of(
    st.integers(1, 5 * 60).map(lambda minutes: minutes * 60 * MICROS_PER_SECOND),
    st.integers(1, 3 * MICROS_PER_HOUR),
)


def plain(values) -> list:
    return [v.item() if hasattr(v, "item") else v for v in values]


@SETTINGS
@given(snapshots_and_nows(), interpolations, max_gaps)
def test_engine_with_a_max_gap_matches_the_reference_exactly(case, interpolation, max_gap_us):
    snapshot, now_us = case
    report = compute_report(snapshot, now_us, interpolation, max_gap_us=max_gap_us)
    expected = reference_report(snapshot, now_us, interpolation, max_gap_us=max_gap_us)
    assert as_lists(report) == as_lists(expected)
    columns = {name: values.tolist() for name, values in rounded_columns(report).items()}
    assert columns == {
        name: values.tolist() for name, values in reference_rounded_columns(expected).items()
    }
    assert list(columns)[-3:] == ["nodata_last_hour", "nodata_last_day", "nodata_last_week"]
    for window in WINDOWS:
        assert np.all(getattr(report, window).nodata >= 0)


@settings(max_examples=60, deadline=None)
@given(snapshots_and_nows(), interpolations)
def test_a_max_gap_longer_than_any_reach_changes_no_nearest_total(case, interpolation):
    snapshot, now_us = case
    huge = 1 << 45  # over a year: every nearest segment in the week is whole
    with_gap = compute_report(snapshot, now_us, "nearest", max_gap_us=huge)
    without = compute_report(snapshot, now_us, "nearest")
    assert as_lists(with_gap) == as_lists(without)


@st.composite
def date_ranges(draw, now_us: int) -> tuple[int, int]:
    now_date = now_us // MICROS_PER_DAY
    first = draw(st.integers(now_date - 9, now_date + 1))
    return first, first + draw(st.integers(0, 9))


@SETTINGS
@given(snapshots_and_nows(), interpolations, st.none() | max_gaps, st.data())
def test_daily_breakdown_matches_the_reference_exactly(case, interpolation, max_gap_us, data):
    snapshot, now_us = case
    first, last = data.draw(date_ranges(now_us))
    daily = compute_daily(snapshot, now_us, first, last, interpolation, max_gap_us=max_gap_us)
    expected = reference_daily(snapshot, now_us, first, last, interpolation, max_gap_us)
    assert plain(daily.store_id) == plain(expected.store_id)
    assert plain(daily.date) == plain(expected.date)
    assert plain(daily.totals.business) == plain(expected.totals.business)
    assert plain(daily.totals.uptime) == plain(expected.totals.uptime)
    assert plain(daily.totals.downtime) == plain(expected.totals.downtime)
    columns = daily_columns(daily)
    assert columns["business_hours"].tolist() == [
        round_half_up(int(v), TICKS_PER_HOUR) for v in expected.totals.business]
    assert ("nodata" in columns) == (max_gap_us is not None)


@SETTINGS
@given(snapshots_and_nows(), interpolations, st.none() | max_gaps, st.data())
def test_group_totals_match_the_reference_exactly(case, interpolation, max_gap_us, data):
    snapshot, now_us = case
    ids = [str(s) for s in snapshot.stores.store_id]
    memberships = data.draw(st.lists(
        st.tuples(st.sampled_from([*ids, "not-a-store"]), st.sampled_from(["b", "a", "é", "Z"])),
        max_size=10))
    report = compute_report(snapshot, now_us, interpolation, max_gap_us=max_gap_us)
    groups = group_report(report, [m[0] for m in memberships], [m[1] for m in memberships])
    expected = reference_groups(report, memberships)
    assert plain(groups.group) == plain(expected.group)
    assert plain(groups.stores) == plain(expected.stores)
    for window in WINDOWS:
        got, want = getattr(groups, window), getattr(expected, window)
        assert plain(got.business) == plain(want.business)
        assert plain(got.uptime) == plain(want.uptime)
        assert plain(got.downtime) == plain(want.downtime)
    assert list(rounded_columns(groups)) == list(rounded_columns(report))


@SETTINGS
@given(snapshots_and_nows(), interpolations, st.none() | max_gaps, st.data())
def test_outages_match_the_reference_exactly(case, interpolation, max_gap_us, data):
    snapshot, now_us = case
    from_us = data.draw(st.none() | instants_between(now_us - 10 * MICROS_PER_DAY, now_us))
    to_us = data.draw(st.none() | instants_between(now_us - 9 * MICROS_PER_DAY,
                                                   now_us + MICROS_PER_DAY))
    outages = compute_outages(snapshot, now_us, from_us, to_us, interpolation,
                              max_gap_us=max_gap_us)
    expected = reference_outages(snapshot, now_us, from_us, to_us, interpolation, max_gap_us)
    assert plain(outages.store_id) == plain(expected.store_id)
    assert plain(outages.start_tick) == plain(expected.start_tick)
    assert plain(outages.end_tick) == plain(expected.end_tick)
    assert outage_columns(outages)["minutes"].tolist() == [
        round_half_up(int(v), TICKS_PER_MINUTE) for v in expected.length_ticks]


@SETTINGS
@given(snapshots_and_nows(), interpolations, st.none() | max_gaps, st.data())
def test_the_timeline_tiles_its_span_with_the_reference_status(case, interpolation, max_gap_us,
                                                               data):
    snapshot, now_us = case
    key = snapshot.stores.key[0]
    mine = snapshot.polls.store_key == key
    polls = Polls.build(snapshot.polls.store_key[mine], snapshot.polls.ts_us[mine],
                        snapshot.polls.active[mine])
    start_us = data.draw(instants_between(now_us - 9 * MICROS_PER_DAY, now_us))
    line = store_timeline(polls, Hours.build([], [], [], []), "UTC", start_us, now_us,
                          interpolation, max_gap_us=max_gap_us)
    if len(polls) == 0 or start_us == now_us:
        assert line.status_intervals == []
        return
    segments = spoken_segments(sorted(zip(polls.ts_us.tolist(), polls.active.tolist(),
                                          strict=True)), interpolation, max_gap_us)

    def state_at(tick: int) -> bool | None:
        for seg_start, seg_end, active in segments:
            if (seg_start is None or seg_start <= tick) and (seg_end is None or tick < seg_end):
                return active
        return None

    intervals = line.status_intervals
    assert intervals[0][0] == start_us
    assert intervals[-1][1] == now_us
    for (_, end, state), (following, _, next_state) in pairwise(intervals):
        assert end == following
        assert state is not next_state
    for start, end, state in intervals:
        assert end > start
        # Interval ends are floored to the microsecond: look 1 µs inside.
        assert state_at(2 * start + 2) is state or end - start == 1
