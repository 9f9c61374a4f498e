"""SPEC section 4: the store's status between polls.

The stores here have no business hours (open all the time), so uptime is
exactly the time estimated active inside each window.
"""

from __future__ import annotations

from .snapshots import HOUR, MINUTE, Row, rows, snapshot, store, utc

NOW = "2023-06-07 12:00:00"


def only_row(compute_report, polls: list[str], *, interpolation: str = "nearest",
             now: str = NOW) -> Row:
    report = compute_report(snapshot(store("s", polls=polls)), utc(now),
                            interpolation=interpolation)
    (row,) = rows(report)
    return row


def test_nearest_poll_holds_until_the_midpoint_with_the_next(compute_report):
    # 11:00 active, 11:40 inactive: active until the midpoint 11:20.
    # Last hour [11:00, 12:00]: up 20 min, down 40 min.
    row = only_row(compute_report, ["2023-06-07 11:00:00 active", "2023-06-07 11:40:00 inactive"])
    assert (row.hour.uptime, row.hour.downtime) == (20 * MINUTE, 40 * MINUTE)


def test_previous_poll_holds_until_the_next_poll(compute_report):
    # Same polls, previous: active 11:00-11:40 = 40 min, then inactive 20 min.
    row = only_row(compute_report, ["2023-06-07 11:00:00 active", "2023-06-07 11:40:00 inactive"],
                   interpolation="previous")
    assert (row.hour.uptime, row.hour.downtime) == (40 * MINUTE, 20 * MINUTE)


def test_nearest_is_the_default_interpolation(compute_report):
    snap = snapshot(store("s", polls=["2023-06-07 11:00:00 active",
                                      "2023-06-07 11:40:00 inactive"]))
    report = compute_report(snap, utc(NOW))
    assert report.interpolation == "nearest"
    (row,) = rows(report)
    assert row.hour.uptime == 20 * MINUTE


def test_the_first_poll_reaches_back_without_limit(compute_report):
    # Active at now-2h, inactive at now-1h. The week starts 166 h before the
    # first poll; nearest: active up to the midpoint now-1.5h = 166.5 h up.
    row = only_row(compute_report, ["2023-06-07 10:00:00 active", "2023-06-07 11:00:00 inactive"])
    assert row.week.uptime == 166 * HOUR + 30 * MINUTE
    assert row.week.downtime == 1 * HOUR + 30 * MINUTE


def test_previous_uses_the_first_polls_status_before_the_first_poll(compute_report):
    # previous: the first poll's status (active) holds back to the week start,
    # then active until the inactive poll at now-1h = 167 h up.
    row = only_row(compute_report, ["2023-06-07 10:00:00 active", "2023-06-07 11:00:00 inactive"],
                   interpolation="previous")
    assert row.week.uptime == 167 * HOUR
    # A single inactive poll half an hour ago: down all week.
    row = only_row(compute_report, ["2023-06-07 11:30:00 inactive"], interpolation="previous")
    assert (row.week.uptime, row.week.downtime) == (0, 168 * HOUR)


def test_the_last_poll_reaches_forward_to_now(compute_report):
    # Active at now-169h (before the week), inactive at now-72h. Nearest: the
    # midpoint is now-120.5h, so the week has 168 - 120.5 = 47.5 h up and
    # 120.5 h down; the last day and hour are all down.
    row = only_row(compute_report, ["2023-05-31 11:00:00 active", "2023-06-04 12:00:00 inactive"])
    assert (row.week.uptime, row.week.downtime) == (47 * HOUR + 30 * MINUTE,
                                                    120 * HOUR + 30 * MINUTE)
    assert (row.day.uptime, row.day.downtime) == (0, 24 * HOUR)
    assert (row.hour.uptime, row.hour.downtime) == (0, 60 * MINUTE)


def test_polls_before_the_window_count(compute_report):
    # Inactive at now-192h, active at now-120h: midpoint now-156h. The week
    # [now-168h, now] is down for its first 12 h, then up for 156 h.
    row = only_row(compute_report, ["2023-05-30 12:00:00 inactive",
                                    "2023-06-02 12:00:00 active"])
    assert (row.week.uptime, row.week.downtime) == (156 * HOUR, 12 * HOUR)
    # previous: down from the week start to the active poll = 48 h.
    row = only_row(compute_report, ["2023-05-30 12:00:00 inactive",
                                    "2023-06-02 12:00:00 active"], interpolation="previous")
    assert (row.week.uptime, row.week.downtime) == (120 * HOUR, 48 * HOUR)


def test_a_single_old_poll_decides_the_whole_week(compute_report):
    row = only_row(compute_report, ["2023-05-01 00:00:00 inactive"])
    assert (row.week.uptime, row.week.downtime) == (0, 168 * HOUR)


def test_polls_after_now_are_ignored(compute_report):
    # The 12:01 poll is after now; otherwise its midpoint with 10:00 (11:00:30)
    # would mark part of the last hour inactive.
    polls = ["2023-06-07 10:00:00 active", "2023-06-07 12:01:00 inactive"]
    for interpolation in ("nearest", "previous"):
        row = only_row(compute_report, polls, interpolation=interpolation)
        assert (row.hour.uptime, row.hour.downtime) == (60 * MINUTE, 0), interpolation


def test_a_poll_exactly_at_now_counts(compute_report):
    # Active at 11:00, inactive at 12:00 = now: midpoint 11:30, so 30 min down.
    row = only_row(compute_report, ["2023-06-07 11:00:00 active", "2023-06-07 12:00:00 inactive"])
    assert (row.hour.uptime, row.hour.downtime) == (30 * MINUTE, 30 * MINUTE)


def test_a_midpoint_can_fall_on_a_half_microsecond(compute_report):
    # Polls one microsecond apart: active until 11:30:00.0000005, so the last
    # hour [11:00, 12:00] is up for 30 min + half a microsecond (one tick).
    row = only_row(compute_report, ["2023-06-07 11:30:00.000000 active",
                                    "2023-06-07 11:30:00.000001 inactive"])
    assert row.hour.uptime == 30 * MINUTE + 1
    assert row.hour.downtime == 30 * MINUTE - 1


def test_each_poll_holds_between_its_two_midpoints(compute_report):
    # 10:00 active, 11:00 inactive, 11:20 active, 11:50 inactive. Midpoints:
    # 10:30, 11:10, 11:35. Last hour [11:00, 12:00]:
    # down 11:00-11:10 (10) + up 11:10-11:35 (25) + down 11:35-12:00 (25).
    row = only_row(compute_report, ["2023-06-07 10:00:00 active", "2023-06-07 11:00:00 inactive",
                                    "2023-06-07 11:20:00 active", "2023-06-07 11:50:00 inactive"])
    assert (row.hour.uptime, row.hour.downtime) == (25 * MINUTE, 35 * MINUTE)
    # previous: up 11:20-11:50 = 30 min.
    row = only_row(compute_report, ["2023-06-07 10:00:00 active", "2023-06-07 11:00:00 inactive",
                                    "2023-06-07 11:20:00 active", "2023-06-07 11:50:00 inactive"],
                   interpolation="previous")
    assert (row.hour.uptime, row.hour.downtime) == (30 * MINUTE, 30 * MINUTE)


def test_repeated_statuses_make_one_stretch(compute_report):
    # Active, active, inactive: the active stretch ends at the midpoint of the
    # second and third polls (11:45), whatever the first does.
    row = only_row(compute_report, ["2023-06-07 11:00:00 active", "2023-06-07 11:30:00 active",
                                    "2023-06-07 12:00:00 inactive"])
    assert (row.hour.uptime, row.hour.downtime) == (45 * MINUTE, 15 * MINUTE)


def test_the_order_of_polls_in_the_input_does_not_matter(compute_report):
    polls = ["2023-06-07 11:50:00 inactive", "2023-06-07 10:00:00 active",
             "2023-06-07 11:20:00 active", "2023-06-07 11:00:00 inactive"]
    row = only_row(compute_report, polls)
    assert (row.hour.uptime, row.hour.downtime) == (25 * MINUTE, 35 * MINUTE)


def test_each_store_is_estimated_from_its_own_polls(compute_report):
    # a's only poll is active; b's inactive poll must not cut into a's time.
    snap = snapshot(
        store("a", polls=["2023-06-07 11:00:00 active"]),
        store("b", polls=["2023-06-07 11:30:00 inactive"]),
    )
    a, b = rows(compute_report(snap, utc(NOW)))
    assert (a.store_id, a.hour.uptime, a.week.uptime) == ("a", 60 * MINUTE, 168 * HOUR)
    assert (b.store_id, b.hour.uptime, b.week.downtime) == ("b", 0, 168 * HOUR)


def test_status_only_counts_inside_business_hours(compute_report):
    # Open Wed 09:00-17:00 UTC; now = Wed 18:00. Polls: 08:00 active,
    # 12:00 inactive, 13:00 active. Nearest midpoints 10:00 and 12:30:
    # up 09:00-10:00 and 12:30-17:00 = 5.5 h, down 10:00-12:30 = 2.5 h.
    snap = snapshot(store("s", tz="UTC", hours=["Wed 09:00-17:00"], polls=[
        "2023-06-07 08:00:00 active", "2023-06-07 12:00:00 inactive",
        "2023-06-07 13:00:00 active"]))
    (row,) = rows(compute_report(snap, utc("2023-06-07 18:00:00")))
    assert (row.day.business, row.day.uptime, row.day.downtime) == (
        8 * HOUR, 5 * HOUR + 30 * MINUTE, 2 * HOUR + 30 * MINUTE)
    assert row.week == row.day  # last Wednesday's hours end before the week starts
    assert (row.hour.business, row.hour.uptime, row.hour.downtime) == (0, 0, 0)
