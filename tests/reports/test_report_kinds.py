"""Every report kind through the service, on every database: read from one
snapshot (special hours and groups included), computed by the engine, and
rendered to the same bytes whatever the backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.feeds import FEEDS, store_ids, write_feeds
from storemon.data.database import make_engine
from storemon.data.migrate import migrate
from storemon.data.snapshot import reader_for
from storemon.engine import (
    Daily,
    GroupReport,
    Report,
    compute_daily,
    compute_outages,
    compute_report,
    group_report,
)
from storemon.ingest.service import ingest_feed
from storemon.reports.frames import outages_frame, report_frame_of
from storemon.reports.options import date_to_days
from storemon.reports.rendering import render_csv
from storemon.reports.service import (
    OutagesRequest,
    ReportRequest,
    ReportRequestError,
    build_outages,
    build_report,
)

STORES = store_ids(30, 7)
GAP_US = 90 * 60 * 1_000_000
FIRST, LAST = date_to_days("2023-01-15"), date_to_days("2023-01-25")
assert FIRST is not None and LAST is not None

REQUESTS = {
    "stores": ReportRequest(),
    "stores with a gap": ReportRequest(max_gap_us=GAP_US, interpolation="previous"),
    "daily": ReportRequest(kind="daily", first_date=FIRST, last_date=LAST),
    "daily with a gap": ReportRequest(
        kind="daily", first_date=FIRST, last_date=LAST, max_gap_us=GAP_US
    ),
    "groups": ReportRequest(kind="groups"),
    "groups with a gap, some stores": ReportRequest(
        kind="groups", max_gap_us=GAP_US, store_ids=tuple(STORES[:12])
    ),
}
OUTAGES = {
    "the week": OutagesRequest(),
    "a range with a gap": OutagesRequest(
        from_us=1_674_000_000_000_000, to_us=1_674_300_000_000_000, max_gap_us=GAP_US
    ),
    "two stores, previous": OutagesRequest(store_ids=tuple(STORES[:2]), interpolation="previous"),
}


def _write_section8_feeds(folder: Path) -> None:
    write_feeds(folder)
    special = ["store_id,date,start_time_local,end_time_local"]
    for index, store_id in enumerate(STORES[:10]):
        quoted = f'"{store_id}"'
        special.append(f"{quoted},2023-01-2{index % 5},,")  # closed
        special.append(f"{quoted},2023-01-1{index % 9},20:00,02:00")  # past midnight
        special.append(f"{quoted},2023-01-1{index % 9},08:00,12:00")
    (folder / "special.csv").write_text("\n".join(special) + "\n")
    groups = ["store_id,group"]
    for index, store_id in enumerate(STORES):
        groups.append(f'"{store_id}",{"east" if index % 2 else "west"}')
        if index % 3 == 0:
            groups.append(f'"{store_id}","north, or ""up"""')
    (folder / "groups.csv").write_text("\n".join(groups) + "\n")


def _load(url: str, folder: Path) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
        for feed, name in (*FEEDS, ("special_hours", "special.csv"), ("groups", "groups.csv")):
            result = ingest_feed(engine, feed, folder / name)
            assert result.rejected == 0, result.first_rejects
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def section8_feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("section8")
    _write_section8_feeds(folder)
    return folder


@pytest.fixture(scope="module")
def reference_csvs(
    section8_feeds: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """Every kind's CSV from a SQLite database, computed by the engine
    directly on the snapshot read."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.db'}"
    _load(url, section8_feeds)
    snapshot, state = reader_for(url).read_snapshot(groups=True)
    now = state.newest_poll_us
    assert now is not None
    result: dict[str, bytes] = {}
    for name, request in REQUESTS.items():
        ids, gap, how = request.store_ids, request.max_gap_us, request.interpolation
        if request.kind == "daily":
            assert request.first_date is not None and request.last_date is not None
            computed: Report | Daily | GroupReport = compute_daily(
                snapshot, now, request.first_date, request.last_date, how, ids, gap
            )
        else:
            computed = compute_report(snapshot, now, how, ids, gap)
            if request.kind == "groups":
                members = snapshot.groups
                computed = group_report(computed, members.store_id, members.group)
        result[name] = render_csv(report_frame_of(computed, request))
    for name, outage_request in OUTAGES.items():
        outages = compute_outages(
            snapshot,
            now,
            outage_request.from_us,
            outage_request.to_us,
            outage_request.interpolation,
            outage_request.store_ids,
            outage_request.max_gap_us,
        )
        result["outages: " + name] = render_csv(outages_frame(outages, outage_request))
    return result


def test_every_kind_is_byte_identical_on_every_backend(
    database_url: str, section8_feeds: Path, reference_csvs: dict[str, bytes]
) -> None:
    _load(database_url, section8_feeds)
    reader = reader_for(database_url)
    got = {
        name: render_csv(report_frame_of(build_report(reader, request).report, request))
        for name, request in REQUESTS.items()
    }
    for name, outage_request in OUTAGES.items():
        built = build_outages(reader, outage_request)
        got["outages: " + name] = render_csv(outages_frame(built.outages, outage_request))
    assert got == reference_csvs
    # The data has something to show in each kind.
    assert all(data.count(b"\n") > 2 for data in got.values())
    assert got["groups"].splitlines()[1].startswith(b"east,15,")
    assert b'"north, or ""up"""' in got["groups"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_snapshot_reads_special_hours_and_memberships_of_the_stores_asked(
    database_url: str, section8_feeds: Path
) -> None:
    _load(database_url, section8_feeds)
    snapshot, _ = reader_for(database_url).read_snapshot(STORES[:2], groups=True)
    assert len(snapshot.special) == 6
    assert sorted(set(snapshot.groups.store_id.tolist())) == sorted(STORES[:2])
    assert sorted(snapshot.groups.group.tolist()) == ["east", 'north, or "up"', "west"]
    without, _ = reader_for(database_url).read_snapshot(STORES[:2])
    assert len(without.groups) == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "daily"},
        {"kind": "daily", "first_date": 2, "last_date": 1},
        {"first_date": 1, "last_date": 2},
        {"kind": "groups", "first_date": 1, "last_date": 2},
        {"max_gap_us": 0},
        {"kind": "weekly"},
    ],
)
def test_a_request_whose_parameters_do_not_fit_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ReportRequestError):
        ReportRequest(**fields)  # type: ignore[arg-type]
