"""A data set for sharded reports: the section 8 feeds (special hours,
groups, stores without hours or timezone), plus stores without polls, and
the requests every kind is tried with."""

from __future__ import annotations

from pathlib import Path

from storemon.data import reports
from storemon.data.database import make_engine
from storemon.data.reports import ReportParams
from storemon.data.snapshot import reader_for
from storemon.ingest.service import ingest_feed
from storemon.reports.frame import encode_frame
from storemon.reports.frames import report_frame_of
from storemon.reports.rendering import render_csv
from storemon.reports.service import ReportRequest, build_report

from .test_report_kinds import REQUESTS, _load, _write_section8_feeds

#: Stores with hours and a timezone but never a poll.
SILENT = ("silent-1", "silent-2")


def load_shard_data(url: str, folder: Path) -> None:
    _write_section8_feeds(folder)
    _load(url, folder)
    silent = folder / "silent_hours.csv"
    silent.write_text(
        "store_id,dayOfWeek,start_time_local,end_time_local\n"
        + "".join(f"{store},{day},09:00:00,17:00:00\n" for store in SILENT for day in range(7))
    )
    engine = make_engine(url)
    try:
        assert ingest_feed(engine, "hours", silent).rejected == 0
    finally:
        engine.dispose()


def params_of(request: ReportRequest) -> ReportParams:
    return ReportParams(
        request.as_of_us,
        request.interpolation,
        None if request.store_ids is None else tuple(request.store_ids),
        kind=request.kind,
        max_gap_us=request.max_gap_us,
        first_date=request.first_date,
        last_date=request.last_date,
    )


def new_report(url: str, request: ReportRequest) -> str:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            version = reports.data_version(connection)
            return reports.create(connection, params_of(request), version).id
    finally:
        engine.dispose()


def whole(url: str, request: ReportRequest) -> tuple[bytes, bytes]:
    """The report computed whole in this process: its frame and its CSV."""
    built = build_report(reader_for(url), request)
    frame = report_frame_of(built.report, request)
    return encode_frame(frame), render_csv(frame)


__all__ = ["REQUESTS", "SILENT", "load_shard_data", "new_report", "params_of", "whole"]
