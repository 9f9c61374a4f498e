"""Check and type one chunk of a feed: string columns in, typed rows and
rejected rows out (SPEC section 1, "Rejected rows", and sections 8.2 and 8.4).

Each feed has an ordered list of rules; a row is rejected for the first rule
it breaks. Which rule fails is found with cheap vectorized tests on every
row; the reason text is only built for the failing rows. Valid rows keep
their order (the data layer lets a later row win).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

import polars as pl

from storemon.ingest.feeds import COLUMNS, Feed
from storemon.ingest.reader import REJECT_SCHEMA
from storemon.ingest.timestamps import (
    SUPPORTED_FROM_US,
    SUPPORTED_RANGE,
    SUPPORTED_UNTIL_US,
    timestamps_us,
)
from storemon.store_ids import store_id_checks, trim_store_id

#: The longest group name (the ``store_groups.group_name`` column).
MAX_GROUP_CHARS = 255
#: Special dates lie in the supported range of timestamps (1900 to 2199).
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)
END_OF_DAY_S = 86_400
#: Values quoted in a reason are cut to this many characters.
_MAX_QUOTED_CHARS = 60

VALID_SCHEMAS: Mapping[Feed, pl.Schema] = {
    Feed.STATUS: pl.Schema(
        {"store_id": pl.String(), "ts_us": pl.Int64(), "active": pl.Boolean(), "line": pl.Int64()}
    ),
    Feed.HOURS: pl.Schema(
        {
            "store_id": pl.String(),
            "day": pl.Int8(),
            "start_s": pl.Int32(),
            "end_s": pl.Int32(),
            "line": pl.Int64(),
        }
    ),
    Feed.TIMEZONES: pl.Schema(
        {"store_id": pl.String(), "timezone": pl.String(), "line": pl.Int64()}
    ),
    # start_s and end_s are both null on a row that opens nothing that date.
    Feed.SPECIAL_HOURS: pl.Schema(
        {
            "store_id": pl.String(),
            "date": pl.Date(),
            "start_s": pl.Int32(),
            "end_s": pl.Int32(),
            "line": pl.Int64(),
        }
    ),
    Feed.GROUPS: pl.Schema({"store_id": pl.String(), "group": pl.String(), "line": pl.Int64()}),
}


@cache
def known_timezones() -> frozenset[str]:
    """The IANA zones the service accepts: those zoneinfo can load, except
    ``localtime``, which would mean whatever the server is set to."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


@dataclass(frozen=True)
class _Rule:
    """``broken``: true where a row breaks the rule (never null).
    ``reason``: the message, evaluated on the broken rows only."""

    broken: pl.Expr
    reason: pl.Expr


def _quoted(value: pl.Expr) -> pl.Expr:
    short = (
        pl.when(value.str.len_chars() > _MAX_QUOTED_CHARS)
        .then(value.str.slice(0, _MAX_QUOTED_CHARS - 1) + "…")
        .otherwise(value)
    )
    return pl.lit("'") + short + pl.lit("'")


def _message(*parts: str | pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


_STRIPPED_STORE_ID = trim_store_id(pl.col("store_id")).alias("_store_id")


def _store_id_rules() -> list[_Rule]:
    return [
        _Rule(broken, pl.lit(reason)) for broken, reason in store_id_checks(pl.col("_store_id"))
    ]


def _split(
    frame: pl.DataFrame,
    rules: Sequence[_Rule],
    valid: Sequence[pl.Expr],
    raw_columns: Sequence[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows that break no rule (as the ``valid`` columns, plus ``line``) and
    rejects (``line``, ``reason``, ``raw``) for the first rule each row breaks."""
    first_broken: pl.Expr = pl.lit(None, dtype=pl.Int8)
    for index, rule in reversed(list(enumerate(rules))):
        first_broken = (
            pl.when(rule.broken).then(pl.lit(index, dtype=pl.Int8)).otherwise(first_broken)
        )
    frame = frame.with_columns(first_broken.alias("_rule"))
    good = frame.select(*valid, "line", "_rule").filter(pl.col("_rule").is_null()).drop("_rule")

    bad = frame.filter(pl.col("_rule").is_not_null())
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for index, rule in enumerate(rules):
        reason = pl.when(pl.col("_rule") == index).then(rule.reason).otherwise(reason)
    rejects = bad.select(
        "line",
        reason.alias("reason"),
        pl.concat_str([pl.col(name) for name in raw_columns], separator=",").alias("raw"),
    ).cast(REJECT_SCHEMA)
    return good, rejects


def _status(frame: pl.DataFrame, labels: Mapping[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    frame = frame.with_columns(
        _STRIPPED_STORE_ID,
        status.alias("_status"),
        timestamps_us(frame["timestamp_utc"]).alias("_ts_us"),
    )
    rules = [
        *_store_id_rules(),
        _Rule(
            ~pl.col("_status").is_in(["active", "inactive"]),
            _message(labels["status"], " ", _quoted(pl.col("status")), " is not active/inactive"),
        ),
        _Rule(
            pl.col("_ts_us").is_null(),
            _message("timestamp ", _quoted(pl.col("timestamp_utc")), " does not parse"),
        ),
        _Rule(
            ~pl.col("_ts_us")
            .is_between(SUPPORTED_FROM_US, SUPPORTED_UNTIL_US, closed="left")
            .fill_null(True),
            _message(
                "timestamp ",
                _quoted(pl.col("timestamp_utc")),
                f" is outside the supported range ({SUPPORTED_RANGE})",
            ),
        ),
    ]
    valid = [
        pl.col("_store_id").alias("store_id"),
        pl.col("_ts_us").alias("ts_us"),
        (pl.col("_status") == "active").alias("active"),
    ]
    return _split(frame, rules, valid, ["store_id", "status", "timestamp_utc"])


def _clock(column: str) -> tuple[pl.Expr, pl.Expr]:
    """Seconds after midnight of ``H:MM``, ``HH:MM`` or ``HH:MM:SS``, and
    its kind: 0 within the day, 1 exactly ``24:00[:00]``, 2 out of range,
    null when the text is not a time."""
    parts = (
        pl.col(column)
        .str.strip_chars()
        .str.extract_groups(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")
    )
    hours = parts.struct.field("1").cast(pl.Int64)
    minutes = parts.struct.field("2").cast(pl.Int64)
    seconds = parts.struct.field("3").cast(pl.Int64).fill_null(0)
    total = hours * 3600 + minutes * 60 + seconds
    kind = (
        pl.when(hours.is_null())
        .then(None)
        .when((hours <= 23) & (minutes <= 59) & (seconds <= 59))
        .then(0)
        .when(total == END_OF_DAY_S)
        .then(1)
        .otherwise(2)
    )
    return total, kind


def _time_rules(labels: Mapping[str, str], column: str, kind: str, *, end: bool) -> list[_Rule]:
    """A time that does not parse or is out of range (``kind`` from :func:`_clock`)."""
    value = _quoted(pl.col(column))
    label = labels[column]
    rules = [
        _Rule(
            pl.col(kind).is_null(),
            _message(label, " ", value, " is not a time HH:MM or HH:MM:SS"),
        ),
        _Rule(
            pl.col(kind) == 2,
            _message(label, " ", value, " is out of range"),
        ),
    ]
    if not end:
        rules.append(
            _Rule(
                pl.col(kind) == 1,
                _message(
                    label, " ", value, " is out of range (24:00 is only valid as an end time)"
                ),
            )
        )
    return rules


def _hours(frame: pl.DataFrame, labels: Mapping[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    day = pl.col("dayOfWeek").str.strip_chars()
    start_s, start_kind = _clock("start_time_local")
    end_s, end_kind = _clock("end_time_local")
    frame = frame.with_columns(
        _STRIPPED_STORE_ID,
        pl.when(day.str.contains(r"^0*[0-6]$"))
        .then(day.str.slice(-1).cast(pl.Int64))
        .alias("_day"),
        start_s.alias("_start_s"),
        start_kind.alias("_start_kind"),
        end_s.alias("_end_s"),
        end_kind.alias("_end_kind"),
    )

    rules = [
        *_store_id_rules(),
        _Rule(
            pl.col("_day").is_null(),
            _message(
                labels["dayOfWeek"], " ", _quoted(pl.col("dayOfWeek")), " is not an integer 0..6"
            ),
        ),
        *_time_rules(labels, "start_time_local", "_start_kind", end=False),
        *_time_rules(labels, "end_time_local", "_end_kind", end=True),
    ]
    valid = [
        pl.col("_store_id").alias("store_id"),
        pl.col("_day").cast(pl.Int8).alias("day"),
        pl.col("_start_s").cast(pl.Int32).alias("start_s"),
        pl.col("_end_s").cast(pl.Int32).alias("end_s"),
    ]
    return _split(
        frame, rules, valid, ["store_id", "dayOfWeek", "start_time_local", "end_time_local"]
    )


def _timezones(frame: pl.DataFrame, labels: Mapping[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = frame.with_columns(
        _STRIPPED_STORE_ID,
        pl.col("timezone_str").str.strip_chars().alias("_timezone"),
    )
    zones = pl.Series(sorted(known_timezones()), dtype=pl.String)
    rules = [
        *_store_id_rules(),
        _Rule(pl.col("_timezone") == "", _message("empty ", labels["timezone_str"])),
        _Rule(
            ~pl.col("_timezone").is_in(zones),
            _message("unknown timezone ", _quoted(pl.col("timezone_str"))),
        ),
    ]
    valid = [pl.col("_store_id").alias("store_id"), pl.col("_timezone").alias("timezone")]
    return _split(frame, rules, valid, ["store_id", "timezone_str"])


def _special_hours(
    frame: pl.DataFrame, labels: Mapping[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    text = pl.col("date").str.strip_chars()
    # Exactly YYYY-MM-DD: the parser alone would also take one-digit months.
    parsed = text.str.to_date("%Y-%m-%d", strict=False)
    start_s, start_kind = _clock("start_time_local")
    end_s, end_kind = _clock("end_time_local")
    start_empty = pl.col("start_time_local").str.strip_chars() == ""
    end_empty = pl.col("end_time_local").str.strip_chars() == ""
    frame = frame.with_columns(
        _STRIPPED_STORE_ID,
        pl.when(text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")).then(parsed).alias("_date"),
        start_s.alias("_start_s"),
        start_kind.alias("_start_kind"),
        end_s.alias("_end_s"),
        end_kind.alias("_end_kind"),
        (start_empty & end_empty).alias("_closed"),
        (start_empty != end_empty).alias("_one_empty"),
    )
    quoted_date = _quoted(pl.col("date"))
    # A row with both times empty has no times to check.
    time_rules = [
        _Rule(rule.broken & ~pl.col("_closed"), rule.reason)
        for rule in (
            *_time_rules(labels, "start_time_local", "_start_kind", end=False),
            *_time_rules(labels, "end_time_local", "_end_kind", end=True),
        )
    ]
    rules = [
        *_store_id_rules(),
        _Rule(
            pl.col("_date").is_null(),
            _message(labels["date"], " ", quoted_date, " is not a date YYYY-MM-DD"),
        ),
        _Rule(
            ~pl.col("_date").is_between(FIRST_DATE, LAST_DATE),
            _message(
                labels["date"], " ", quoted_date, f" is out of range ({FIRST_DATE} to {LAST_DATE})"
            ),
        ),
        _Rule(
            pl.col("_one_empty"),
            _message(
                "one of ",
                labels["start_time_local"],
                " and ",
                labels["end_time_local"],
                " is empty (leave both empty for a closed date)",
            ),
        ),
        *time_rules,
    ]
    closed = pl.col("_closed")
    valid = [
        pl.col("_store_id").alias("store_id"),
        pl.col("_date").alias("date"),
        pl.when(~closed).then(pl.col("_start_s")).cast(pl.Int32).alias("start_s"),
        pl.when(~closed).then(pl.col("_end_s")).cast(pl.Int32).alias("end_s"),
    ]
    return _split(frame, rules, valid, ["store_id", "date", "start_time_local", "end_time_local"])


def _groups(frame: pl.DataFrame, labels: Mapping[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = frame.with_columns(
        _STRIPPED_STORE_ID, pl.col("group").str.strip_chars().alias("_group")
    )
    group = pl.col("_group")
    rules = [
        *_store_id_rules(),
        _Rule(group == "", _message("empty ", labels["group"])),
        _Rule(
            group.str.len_chars() > MAX_GROUP_CHARS,
            _message(labels["group"], f" is longer than {MAX_GROUP_CHARS} characters"),
        ),
        _Rule(
            group.str.contains("\x00", literal=True),
            _message(labels["group"], " contains a NUL character"),
        ),
    ]
    valid = [pl.col("_store_id").alias("store_id"), group.alias("group")]
    return _split(frame, rules, valid, ["store_id", "group"])


_VALIDATORS: Mapping[
    Feed, Callable[[pl.DataFrame, Mapping[str, str]], tuple[pl.DataFrame, pl.DataFrame]]
] = {
    Feed.STATUS: _status,
    Feed.HOURS: _hours,
    Feed.TIMEZONES: _timezones,
    Feed.SPECIAL_HOURS: _special_hours,
    Feed.GROUPS: _groups,
}


def validate(
    feed: Feed, fields: pl.DataFrame, *, labels: Mapping[str, str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split one chunk of ``feed`` into typed valid rows and rejects.

    ``fields`` holds the feed's columns as strings under their canonical
    names (``dayOfWeek`` for the day) and ``line`` (Int64). ``labels`` names
    the columns in reasons the way the file spells them (default: canonical).
    Valid columns are those of ``VALID_SCHEMAS[feed]``; rejects have ``line``,
    ``reason`` and ``raw`` (the checked fields joined by commas).

    >>> fields = pl.DataFrame({"store_id": ["a", " "], "timezone_str": ["UTC", "UTC"],
    ...                        "line": [2, 3]})
    >>> valid, rejects = validate(Feed.TIMEZONES, fields)
    >>> valid.rows(), rejects.rows()
    ([('a', 'UTC', 2)], [(3, 'empty store_id', ' ,UTC')])
    """
    names = [column.name for column in COLUMNS[feed]]
    named = {name: name for name in names} | dict(labels or {})
    frame = fields.select(
        *(pl.col(name).cast(pl.String).fill_null("") for name in names),
        pl.col("line").cast(pl.Int64),
    )
    valid, rejects = _VALIDATORS[feed](frame, named)
    return valid.cast(VALID_SCHEMAS[feed]), rejects
