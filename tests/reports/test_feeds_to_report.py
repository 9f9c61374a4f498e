"""The whole path, feeds on disk to report CSV, against the engine fed the same
data directly: whatever the file layout (column order, `day` or `dayOfWeek`,
BOM, CRLF, quoting, timestamp formats, repeated keys), ingesting and reading
back loses nothing and changes nothing."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storemon.data.database import make_engine
from storemon.data.migrate import migrate
from storemon.data.snapshot import reader_for
from storemon.engine import Hours, Polls, Snapshot, Stores, compute_report
from storemon.ingest.feeds import Feed
from storemon.ingest.service import ingest_feed
from storemon.reports.frame import uptime_frame
from storemon.reports.rendering import render_csv
from storemon.reports.service import ReportRequest, build_report

BASE = datetime(2023, 3, 8, tzinfo=UTC)  # the week before US DST starts
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", None]
STORE_IDS = st.one_of(
    st.from_regex(r"[1-9][0-9]{0,18}", fullmatch=True),
    st.uuids().map(str),
    st.from_regex(r"[A-Za-z][A-Za-z0-9 ,\"'=-]{0,12}[A-Za-z0-9]", fullmatch=True),
)


def _format(moment: datetime, style: int) -> str:
    """One of the timestamp spellings the feed allows, for the same instant."""
    if style == 0:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
    if style == 1:
        text = moment.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
        return text + (" UTC" if moment.microsecond % 2 else "")
    if style == 2:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    shifted = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    return shifted.strftime("%Y-%m-%dT%H:%M:%S.%f") + ("+05:30" if style == 3 else "+0530")


def _time(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}" + ("" if rest % 60 == 0 else f":{rest % 60:02d}")


@st.composite
def data_sets(draw: st.DrawFn) -> dict[str, object]:
    ids = draw(st.lists(STORE_IDS, min_size=1, max_size=4, unique=True))
    polls = []  # (store index, ts_us, active), in file order; keys may repeat
    for index in range(len(ids)):
        times = draw(st.lists(st.integers(0, 9 * 86_400_000_000), max_size=8))
        polls += [(index, t, draw(st.booleans())) for t in times]
    if polls and draw(st.booleans()):
        polls.append((polls[0][0], polls[0][1], not polls[0][2]))  # a later row wins
    polls = draw(st.permutations(polls))
    hours = []
    for index in range(len(ids)):
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(0, 95)) * 900
            end = draw(st.one_of(st.integers(0, 95).map(lambda q: q * 900), st.just(86_400)))
            hours.append((index, draw(st.integers(0, 6)), start, end))
    zones = [draw(st.sampled_from(ZONES)) for _ in ids]
    return {
        "ids": ids,
        "polls": polls,
        "hours": hours,
        "zones": zones,
        "styles": [draw(st.integers(0, 4)) for _ in polls],
        "day_column": draw(st.sampled_from(["day", "dayOfWeek"])),
        "reverse_columns": draw(st.booleans()),
        "bom": draw(st.booleans()),
        "crlf": draw(st.booleans()),
    }


def _write(path: Path, header: list[str], rows: list[list[str]], data: dict[str, object]) -> Path:
    if data["reverse_columns"]:
        header, rows = header[::-1], [row[::-1] for row in rows]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if data["crlf"] else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(("\ufeff" if data["bom"] else "") + out.getvalue(), encoding="utf-8")
    return path


def _expected(data: dict[str, object], now_us: int) -> bytes:
    ids: list[str] = data["ids"]  # type: ignore[assignment]
    latest: dict[tuple[int, int], bool] = {}
    for index, t, active in data["polls"]:  # type: ignore[attr-defined]
        latest[(index, t)] = active
    keys = [k for k, _ in latest.items()]
    snapshot = Snapshot(
        Stores.build(np.arange(len(ids)), ids, data["zones"]),
        Polls.build([k[0] for k in keys], [k[1] + _us(BASE) for k in keys], list(latest.values())),
        Hours.build(*zip(*data["hours"], strict=True) if data["hours"] else ([], [], [], [])),
    )
    return render_csv(uptime_frame(compute_report(snapshot, now_us), ReportRequest()))


def _us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=data_sets())
def test_feeds_ingested_from_files_give_the_report_of_the_same_data(
    data: dict[str, object],
) -> None:
    ids: list[str] = data["ids"]  # type: ignore[assignment]
    polls: list[tuple[int, int, bool]] = data["polls"]  # type: ignore[assignment]
    styles: list[int] = data["styles"]  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        url = f"sqlite:///{root / 'db.sqlite'}"
        migrate(url)
        files = {
            Feed.STATUS: _write(
                root / "status.csv",
                ["store_id", "status", "timestamp_utc"],
                [
                    [
                        ids[i],
                        "active" if a else "INACTIVE",
                        _format(BASE + timedelta(microseconds=t), style),
                    ]
                    for (i, t, a), style in zip(polls, styles, strict=True)
                ],
                data,
            ),
            Feed.HOURS: _write(
                root / "hours.csv",
                ["store_id", str(data["day_column"]), "start_time_local", "end_time_local"],
                [
                    [ids[i], str(d), _time(s), "24:00" if e == 86_400 else _time(e)]
                    for i, d, s, e in data["hours"]  # type: ignore[attr-defined]
                ],
                data,
            ),
            Feed.TIMEZONES: _write(
                root / "tz.csv",
                ["store_id", "timezone_str"],
                [[i, z] for i, z in zip(ids, data["zones"], strict=True) if z],  # type: ignore[call-overload]
                data,
            ),
        }
        engine = make_engine(url)
        try:
            for feed, path in files.items():
                result = ingest_feed(engine, feed, path)
                assert result.rejected == 0, result.first_rejects
        finally:
            engine.dispose()
        built = build_report(reader_for(url), ReportRequest())
        now_us = built.now_us if polls else 0
        assert render_csv(uptime_frame(built.report, ReportRequest())) == _expected(data, now_us)
