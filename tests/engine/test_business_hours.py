"""SPEC sections 2 and 3: which moments count as business time.

Each store here has one active poll at ``now``, so business time is all that
varies. Dates: 2023-06-05 is a Monday. DST facts (checked with zoneinfo):
US 2023-03-12 02:00 -> 03:00 and 2023-11-05 02:00 -> 01:00 local; EU
2023-03-26 and 2023-10-29 at 01:00 UTC; Sydney 2023-04-02 03:00 -> 02:00 and
2023-10-01 02:00 -> 03:00 local; Santiago 2023-04-02 00:00 -> 2023-04-01 23:00
and 2023-09-03 00:00 -> 01:00 local; St John's like the US at 02:00 local.
"""

from __future__ import annotations

from .snapshots import HOUR, MINUTE, SECOND, Row, rows, snapshot, store, utc


def only_row(compute_report, *, now: str, tz: str | None, hours: list[str]) -> Row:
    report = compute_report(
        snapshot(store("s", tz=tz, hours=hours, polls=[f"{now} active"])), utc(now)
    )
    (row,) = rows(report)
    assert row.week.uptime == row.week.business  # the store is active throughout
    return row


def week_business(compute_report, *, now: str, tz: str | None, hours: list[str]) -> int:
    return only_row(compute_report, now=now, tz=tz, hours=hours).week.business


# --- SPEC 2: defaults --------------------------------------------------------


def test_a_store_without_hours_is_open_all_week(compute_report):
    row = only_row(compute_report, now="2023-06-07 12:34:56.789012", tz="Asia/Kolkata", hours=[])
    assert (row.hour.business, row.day.business, row.week.business) == (60 * MINUTE, 24 * HOUR,
                                                                         168 * HOUR)


def test_a_store_without_hours_is_open_all_week_across_a_dst_change(compute_report):
    # Open all the time means every UTC moment of the week: exactly 168 h, even
    # though the local week that contains 2023-11-05 is 169 h long.
    assert week_business(compute_report, now="2023-11-08 12:00:00", tz="America/New_York",
                         hours=[]) == 168 * HOUR


def test_a_store_without_a_timezone_uses_america_chicago(compute_report):
    # now = Mon 2023-06-05 15:00 UTC = 10:00 CDT (UTC-5). Mon 09:00-17:00 CDT is
    # 14:00-22:00 UTC, so the last day holds 14:00-15:00 = 1 h.
    # (In New York it would be 13:00-21:00 UTC: 2 h.)
    now, hours = "2023-06-05 15:00:00", ["Mon 09:00-17:00"]
    assert only_row(compute_report, now=now, tz=None, hours=hours).day.business == 1 * HOUR
    assert only_row(compute_report, now=now, tz="America/New_York",
                    hours=hours).day.business == 2 * HOUR


def test_a_store_with_hours_for_some_days_is_closed_on_the_others(compute_report):
    # Week = [Sun 06-04 23:00, Sun 06-11 23:00] UTC holds Mon 06-05 and Wed 06-07:
    # 8 h + 8 h; the last day (a Sunday) has none.
    row = only_row(compute_report, now="2023-06-11 23:00:00", tz="UTC",
                   hours=["Mon 09:00-17:00", "Wed 09:00-17:00"])
    assert row.week.business == 16 * HOUR
    assert row.day.business == 0


# --- SPEC 3: rows to intervals -------------------------------------------------


def test_hours_past_midnight_count_on_the_next_day(compute_report):
    # Sat 22:00-02:00 runs Sat 22:00 -> Sun 02:00. now = Sun 2023-06-11 01:30 UTC.
    # hour [00:30, 01:30]: open throughout = 60 min.
    # day [Sat 01:30, Sun 01:30]: Sat 22:00 -> Sun 01:30 = 3.5 h.
    # week [Sun 06-04 01:30, ...]: the tail of Sat 06-03's shift, 01:30 -> 02:00
    # = 0.5 h, plus 3.5 h = 4 h.
    row = only_row(compute_report, now="2023-06-11 01:30:00", tz="UTC", hours=["Sat 22:00-02:00"])
    assert row.hour.business == 60 * MINUTE
    assert row.day.business == 3 * HOUR + 30 * MINUTE
    assert row.week.business == 4 * HOUR


def test_a_sunday_shift_past_midnight_runs_into_monday(compute_report):
    # Sun 20:00-03:00 on Sun 2023-06-04 runs to Mon 06-05 03:00: 7 h, all inside
    # the week ending Mon 06-05 12:00.
    assert week_business(compute_report, now="2023-06-05 12:00:00", tz="UTC",
                         hours=["Sun 20:00-03:00"]) == 7 * HOUR


def test_an_end_equal_to_the_start_means_open_24_hours(compute_report):
    # Tue 09:00-09:00 = Tue 06-06 09:00 -> Wed 06-07 09:00 = 24 h.
    assert week_business(compute_report, now="2023-06-11 00:00:00", tz="UTC",
                         hours=["Tue 09:00-09:00"]) == 24 * HOUR


def test_midnight_to_midnight_is_the_whole_day(compute_report):
    # Tue 00:00-00:00: end == start, so 24 h from Tue 00:00.
    assert week_business(compute_report, now="2023-06-11 00:00:00", tz="UTC",
                         hours=["Tue 00:00-00:00"]) == 24 * HOUR


def test_an_end_of_24_00_closes_at_the_next_midnight(compute_report):
    # Tue 18:00-24:00 = 6 h.
    assert week_business(compute_report, now="2023-06-11 00:00:00", tz="UTC",
                         hours=["Tue 18:00-24:00"]) == 6 * HOUR


def test_23_59_59_is_taken_literally(compute_report):
    # Tue 18:00-23:59:59 = 6 h - 1 s: the last second of the day is closed.
    assert week_business(compute_report, now="2023-06-11 00:00:00", tz="UTC",
                         hours=["Tue 18:00-23:59:59"]) == 6 * HOUR - 1 * SECOND


def test_overlapping_rows_are_merged_without_double_counting(compute_report):
    # 09:00-17:00 U 12:00-20:00 U 10:00-11:00 = 09:00-20:00 = 11 h.
    assert week_business(compute_report, now="2023-06-11 00:00:00", tz="UTC",
                         hours=["Tue 09:00-17:00", "Tue 12:00-20:00",
                                "Tue 10:00-11:00"]) == 11 * HOUR


def test_a_shift_past_midnight_merges_with_the_next_days_hours(compute_report):
    # Mon 22:00 -> Tue 06:00 U Tue 00:00-08:00 = Mon 22:00 -> Tue 08:00 = 10 h.
    assert week_business(compute_report, now="2023-06-11 00:00:00", tz="UTC",
                         hours=["Mon 22:00-06:00", "Tue 00:00-08:00"]) == 10 * HOUR


def test_identical_rows_count_once(compute_report):
    assert week_business(compute_report, now="2023-06-11 00:00:00", tz="UTC",
                         hours=["Tue 09:00-17:00"] * 3) == 8 * HOUR


def test_several_rows_on_one_day_are_split_shifts(compute_report):
    # 08:00-11:00 + 17:00-22:00 = 3 h + 5 h = 8 h; now = Tue 06-06 14:00 falls
    # in the break, so the last hour has no business time.
    row = only_row(compute_report, now="2023-06-06 14:00:00", tz="UTC",
                   hours=["Tue 08:00-11:00", "Tue 17:00-22:00"])
    assert row.hour.business == 0
    assert row.day.business == 3 * HOUR
    later = only_row(compute_report, now="2023-06-07 00:00:00", tz="UTC",
                     hours=["Tue 08:00-11:00", "Tue 17:00-22:00"])
    assert later.day.business == 8 * HOUR


def test_adjacent_rows_join_into_one_shift(compute_report):
    # 09:00-12:00 + 12:00-15:00 = 6 h, and the hour around noon is fully open.
    row = only_row(compute_report, now="2023-06-06 12:30:00", tz="UTC",
                   hours=["Tue 09:00-12:00", "Tue 12:00-15:00"])
    assert row.hour.business == 60 * MINUTE
    assert row.day.business == 3 * HOUR + 30 * MINUTE


def test_every_day_open_until_24_00_covers_the_whole_week_across_dst(compute_report):
    # Seven local days of 00:00-24:00 join into one interval, whatever their
    # lengths in UTC (Sun 2023-03-12 is 23 h long in New York).
    hours = [f"{day} 00:00-24:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    assert week_business(compute_report, now="2023-03-15 12:00:00", tz="America/New_York",
                         hours=hours) == 168 * HOUR


# --- SPEC 3: time zones ------------------------------------------------------------


def test_hours_are_in_the_store_local_time(compute_report):
    # New York in June is UTC-4: Tue 09:00-17:00 EDT = 13:00-21:00 UTC.
    # now = Tue 06-06 14:00 UTC: the last hour [13:00, 14:00] is open.
    row = only_row(compute_report, now="2023-06-06 14:00:00", tz="America/New_York",
                   hours=["Tue 09:00-17:00"])
    assert row.hour.business == 60 * MINUTE
    assert row.day.business == 1 * HOUR


def test_half_hour_zone_shifts_hours_by_half_an_hour(compute_report):
    # Kolkata is UTC+5:30: Tue 09:00-17:00 IST = 03:30-11:30 UTC.
    # now = Tue 06-06 04:00 UTC: last hour [03:00, 04:00] holds 30 min.
    row = only_row(compute_report, now="2023-06-06 04:00:00", tz="Asia/Kolkata",
                   hours=["Tue 09:00-17:00"])
    assert row.hour.business == 30 * MINUTE
    assert row.day.business == 30 * MINUTE


def test_local_monday_can_start_on_a_utc_sunday(compute_report):
    # Kolkata Mon 00:00-02:00 IST on 2023-06-05 = Sun 06-04 18:30-20:30 UTC.
    row = only_row(compute_report, now="2023-06-04 20:00:00", tz="Asia/Kolkata",
                   hours=["Mon 00:00-02:00"])
    assert row.hour.business == 60 * MINUTE
    assert row.day.business == 1 * HOUR + 30 * MINUTE


def test_half_hour_zone_with_dst_in_summer(compute_report):
    # St John's in June is UTC-2:30: Tue 09:00-17:00 NDT = 11:30-19:30 UTC.
    row = only_row(compute_report, now="2023-06-06 12:00:00", tz="America/St_Johns",
                   hours=["Tue 09:00-17:00"])
    assert row.hour.business == 30 * MINUTE


# US, spring forward on Sun 2023-03-12 (02:00 EST -> 03:00 EDT = 07:00 UTC).
# The week ending Mon 03-13 12:00 UTC holds that one Sunday.
US_SPRING_NOW = "2023-03-13 12:00:00"


def test_spring_forward_night_is_an_hour_shorter(compute_report):
    # Sun 00:00 EST = 05:00 UTC; Sun 06:00 EDT = 10:00 UTC: 5 h, not 6.
    assert week_business(compute_report, now=US_SPRING_NOW, tz="America/New_York",
                         hours=["Sun 00:00-06:00"]) == 5 * HOUR


def test_spring_forward_gap_moves_the_opening_later(compute_report):
    # 02:30 does not exist; read with EST (UTC-5) it is 07:30 UTC = 03:30 EDT.
    # Sun 05:00 EDT = 09:00 UTC: 1.5 h (03:00-05:00 would be 2 h).
    assert week_business(compute_report, now=US_SPRING_NOW, tz="America/New_York",
                         hours=["Sun 02:30-05:00"]) == 1 * HOUR + 30 * MINUTE


def test_hours_wholly_inside_the_spring_forward_gap_keep_their_length(compute_report):
    # 02:15 and 02:45 are both read with EST: 07:15-07:45 UTC = 30 min.
    assert week_business(compute_report, now=US_SPRING_NOW, tz="America/New_York",
                         hours=["Sun 02:15-02:45"]) == 30 * MINUTE


def test_hours_the_spring_forward_gap_turns_backwards_are_empty(compute_report):
    # 02:30 -> 07:30 UTC (gap, EST), 03:15 EDT -> 07:15 UTC: [07:30, 07:15) is empty.
    assert week_business(compute_report, now=US_SPRING_NOW, tz="America/New_York",
                         hours=["Sun 02:30-03:15"]) == 0


def test_an_overnight_shift_across_spring_forward_loses_an_hour(compute_report):
    # Chicago: Sat 03-11 22:00 CST = Sun 04:00 UTC; Sun 06:00 CDT = 11:00 UTC: 7 h.
    assert week_business(compute_report, now=US_SPRING_NOW, tz="America/Chicago",
                         hours=["Sat 22:00-06:00"]) == 7 * HOUR


def test_the_default_zone_follows_chicago_dst(compute_report):
    assert week_business(compute_report, now=US_SPRING_NOW, tz=None,
                         hours=["Sat 22:00-06:00"]) == 7 * HOUR


# US, fall back on Sun 2023-11-05 (02:00 EDT -> 01:00 EST = 06:00 UTC in New York,
# 07:00 UTC in Chicago). The week ending Mon 11-06 12:00 UTC holds that Sunday.
US_FALL_NOW = "2023-11-06 12:00:00"


def test_fall_back_night_is_an_hour_longer(compute_report):
    # Sun 00:00 EDT = 04:00 UTC; Sun 06:00 EST = 11:00 UTC: 7 h.
    assert week_business(compute_report, now=US_FALL_NOW, tz="America/New_York",
                         hours=["Sun 00:00-06:00"]) == 7 * HOUR


def test_fall_back_repeated_time_takes_its_first_occurrence(compute_report):
    # 01:30 happens twice; the first (EDT) is 05:30 UTC. 02:30 EST = 07:30 UTC: 2 h.
    assert week_business(compute_report, now=US_FALL_NOW, tz="America/New_York",
                         hours=["Sun 01:30-02:30"]) == 2 * HOUR


def test_hours_inside_the_repeated_hour_count_once(compute_report):
    # 01:10 and 01:40 both take their first (EDT) occurrence: 05:10-05:40 UTC.
    assert week_business(compute_report, now=US_FALL_NOW, tz="America/New_York",
                         hours=["Sun 01:10-01:40"]) == 30 * MINUTE


def test_an_overnight_shift_across_fall_back_gains_an_hour(compute_report):
    # Chicago: Sat 11-04 22:00 CDT = Sun 03:00 UTC; Sun 06:00 CST = 12:00 UTC: 9 h.
    assert week_business(compute_report, now=US_FALL_NOW, tz="America/Chicago",
                         hours=["Sat 22:00-06:00"]) == 9 * HOUR


def test_half_hour_zone_spring_forward(compute_report):
    # St John's Sun 2023-03-12: 00:00 NST (UTC-3:30) = 03:30 UTC;
    # 06:00 NDT (UTC-2:30) = 08:30 UTC: 5 h.
    assert week_business(compute_report, now=US_SPRING_NOW, tz="America/St_Johns",
                         hours=["Sun 00:00-06:00"]) == 5 * HOUR


def test_half_hour_zone_fall_back(compute_report):
    # St John's Sun 2023-11-05: 00:00 NDT = 02:30 UTC; 06:00 NST = 09:30 UTC: 7 h.
    # 01:30 repeats; its first occurrence (NDT) is 04:00 UTC, so 01:30-02:30 is
    # 04:00 -> 06:00 UTC (02:30 NST) = 2 h.
    assert week_business(compute_report, now=US_FALL_NOW, tz="America/St_Johns",
                         hours=["Sun 00:00-06:00"]) == 7 * HOUR
    assert week_business(compute_report, now=US_FALL_NOW, tz="America/St_Johns",
                         hours=["Sun 01:30-02:30"]) == 2 * HOUR


# Europe: clocks change at 01:00 UTC on Sun 2023-03-26 and Sun 2023-10-29.


def test_european_spring_forward_gap_moves_the_opening_later(compute_report):
    # Berlin: 02:30 does not exist; read with CET (UTC+1) = 01:30 UTC.
    # 04:00 CEST = 02:00 UTC: 30 min.
    assert week_business(compute_report, now="2023-03-27 12:00:00", tz="Europe/Berlin",
                         hours=["Sun 02:30-04:00"]) == 30 * MINUTE


def test_european_fall_back_repeated_time_takes_its_first_occurrence(compute_report):
    # Berlin: 02:30 first occurrence (CEST) = 00:30 UTC; 03:30 CET = 02:30 UTC: 2 h.
    assert week_business(compute_report, now="2023-10-30 12:00:00", tz="Europe/Berlin",
                         hours=["Sun 02:30-03:30"]) == 2 * HOUR


def test_london_days_around_dst_are_23_and_25_hours(compute_report):
    # Sun 03-26 00:00 GMT = 00:00 UTC -> 12:00 BST = 11:00 UTC: 11 h.
    assert week_business(compute_report, now="2023-03-27 12:00:00", tz="Europe/London",
                         hours=["Sun 00:00-12:00"]) == 11 * HOUR
    # Sun 10-29 00:00 BST = Sat 23:00 UTC -> 12:00 GMT = 12:00 UTC: 13 h.
    assert week_business(compute_report, now="2023-10-30 12:00:00", tz="Europe/London",
                         hours=["Sun 00:00-12:00"]) == 13 * HOUR


# Southern hemisphere: DST ends in April and starts in October.


def test_sydney_dst_end_in_april_lengthens_the_night(compute_report):
    # Sun 2023-04-02: 00:00 AEDT (UTC+11) = Sat 13:00 UTC;
    # 06:00 AEST (UTC+10) = Sat 20:00 UTC: 7 h.
    assert week_business(compute_report, now="2023-04-03 00:00:00", tz="Australia/Sydney",
                         hours=["Sun 00:00-06:00"]) == 7 * HOUR
    # 02:30 repeats; first occurrence (AEDT) = Sat 15:30 UTC; 03:30 AEST = 17:30 UTC.
    assert week_business(compute_report, now="2023-04-03 00:00:00", tz="Australia/Sydney",
                         hours=["Sun 02:30-03:30"]) == 2 * HOUR


def test_sydney_dst_start_in_october_shortens_the_night(compute_report):
    # Sun 2023-10-01: 00:00 AEST = Sat 14:00 UTC; 06:00 AEDT = Sat 19:00 UTC: 5 h.
    assert week_business(compute_report, now="2023-10-02 00:00:00", tz="Australia/Sydney",
                         hours=["Sun 00:00-06:00"]) == 5 * HOUR
    # 02:30 does not exist; read with AEST = Sat 16:30 UTC (03:30 AEDT).
    # 05:00 AEDT = Sat 18:00 UTC: 1.5 h.
    assert week_business(compute_report, now="2023-10-02 00:00:00", tz="Australia/Sydney",
                         hours=["Sun 02:30-05:00"]) == 1 * HOUR + 30 * MINUTE


def test_a_midnight_skipped_by_dst_still_opens_and_closes_the_days(compute_report):
    # Santiago skips Sun 2023-09-03 00:00-01:00 (UTC-4 -> UTC-3 at 04:00 UTC).
    # Sat 18:00-24:00: 18:00 -04 = 22:00 UTC; 24:00 = Sun 00:00, read with -04,
    # = 04:00 UTC: 6 h. Sun 00:00-06:00: 04:00 UTC -> 06:00 -03 = 09:00 UTC: 5 h.
    now = "2023-09-04 12:00:00"
    assert week_business(compute_report, now=now, tz="America/Santiago",
                         hours=["Sat 18:00-24:00"]) == 6 * HOUR
    assert week_business(compute_report, now=now, tz="America/Santiago",
                         hours=["Sun 00:00-06:00"]) == 5 * HOUR
    assert week_business(compute_report, now=now, tz="America/Santiago",
                         hours=["Sat 18:00-24:00", "Sun 00:00-06:00"]) == 11 * HOUR


def test_a_day_ending_in_a_repeated_hour_closes_at_the_next_midnight(compute_report):
    # Santiago repeats Sat 2023-04-01 23:00-24:00 (UTC-3 -> UTC-4 at 03:00 UTC).
    # Sat 18:00-24:00: 18:00 -03 = 21:00 UTC -> Sun 00:00 -04 = 04:00 UTC: 7 h.
    assert week_business(compute_report, now="2023-04-03 12:00:00", tz="America/Santiago",
                         hours=["Sat 18:00-24:00"]) == 7 * HOUR
