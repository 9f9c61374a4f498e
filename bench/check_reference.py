"""Does `storemon report` on the full data set equal the slow reference?

    .venv/bin/python bench/check_reference.py            # scale-1 set, nearest and previous,
                                                         # as of the newest poll and mid-week
    .venv/bin/python bench/check_reference.py --interpolations nearest --no-write

The reference is ``tests/engine/reference.py``: plain per-store Python with
``datetime`` and ``zoneinfo``, sharing no code with the engine. Its input is
built here straight from the CSV files with the ``csv`` module (not through
storemon's ingest or database), one store at a time so the reference's
per-store scans stay short. storemon's side is the real command: the feeds go
through ``storemon ingest`` into a new SQLite database and ``storemon report``
writes the CSV. Every cell is compared; the check passes when the two CSVs
agree on the stores, their order and every value (max difference 0.00).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import harness
import numpy as np

from storemon.engine.model import Hours, Polls, Report, Snapshot, Stores, WindowTotals

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COLUMNS = [
    f"{kind}_last_{window}" for kind in ("uptime", "downtime") for window in ("hour", "day", "week")
]
HEADER = ["store_id", *COLUMNS]
#: Mid-week, between polls: polls after it must be ignored, windows cut through hours.
DEFAULT_AS_OF = "2023-01-21 09:30:00"


def load_reference() -> ModuleType:
    path = harness.REPO / "tests" / "engine" / "reference.py"
    spec = importlib.util.spec_from_file_location("storemon_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the feeds, read plainly -----------------------------------------------------


def epoch_us(text: str) -> int:
    """``2023-01-25 18:13:22.47922 UTC`` -> epoch microseconds. The data sets
    use this one form; anything else is an error here, not a reject."""
    text = text.strip()
    text = text.removesuffix(" UTC")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    else:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def seconds_of_day(text: str, *, end: bool) -> int:
    parts = [int(p) for p in text.strip().split(":")]
    hours, minutes, seconds = [*parts, 0][:3]
    value = hours * 3600 + minutes * 60 + seconds
    if value > 86_400 or (value == 86_400 and not end):
        raise ValueError(f"time out of range: {text!r}")
    return value


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
        return list(reader)


@dataclass
class Feeds:
    #: store_id -> {timestamp_us: active}; a later row with the same key wins.
    polls: dict[str, dict[int, bool]]
    hours: dict[str, list[tuple[int, int, int]]]
    zones: dict[str, str]

    @property
    def store_ids(self) -> list[str]:
        return sorted(set(self.polls) | set(self.hours) | set(self.zones))

    def newest_poll_us(self) -> int:
        return max(max(polls) for polls in self.polls.values() if polls)


def read_feeds(files: dict[str, Path]) -> Feeds:
    polls: dict[str, dict[int, bool]] = defaultdict(dict)
    with open(files["status"], newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader)]
        sid, status, ts = (header.index(c) for c in ("store_id", "status", "timestamp_utc"))
        for fields in reader:
            state = fields[status].strip().lower()
            if state not in ("active", "inactive"):
                raise ValueError(f"unexpected status {fields!r}")
            polls[fields[sid].strip()][epoch_us(fields[ts])] = state == "active"
    hours: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for row in rows(files["hours"]):
        day = int(row.get("dayOfWeek", row.get("day", "")))
        if not 0 <= day <= 6:
            raise ValueError(f"unexpected day {row!r}")
        hours[row["store_id"].strip()].append(
            (
                day,
                seconds_of_day(row["start_time_local"], end=False),
                seconds_of_day(row["end_time_local"], end=True),
            )
        )
    zones = {
        row["store_id"].strip(): row["timezone_str"].strip() for row in rows(files["timezones"])
    }
    return Feeds(dict(polls), dict(hours), zones)


# --- the reference, store by store ---------------------------------------------------


def store_snapshot(key: int, store_id: str, feeds: Feeds) -> Snapshot:
    polls = feeds.polls.get(store_id, {})
    hours = feeds.hours.get(store_id, [])
    return Snapshot(
        stores=Stores.build([key], [store_id], [feeds.zones.get(store_id)]),
        polls=Polls.build([key] * len(polls), list(polls), list(polls.values())),
        hours=Hours.build(
            [key] * len(hours), [h[0] for h in hours], [h[1] for h in hours], [h[2] for h in hours]
        ),
    )


def reference_csv_rows(
    reference: ModuleType, feeds: Feeds, now_us: int, interpolation: str
) -> list[list[str]]:
    """The reference report as CSV cells, in report order."""
    parts: list[Report] = []
    ids = feeds.store_ids
    started = time.monotonic()
    for key, store_id in enumerate(ids):
        part = reference.reference_report(
            store_snapshot(key, store_id, feeds), now_us, interpolation
        )
        if len(part):
            parts.append(part)
        if key % 2000 == 1999:
            print(
                f"  reference {interpolation}: {key + 1:,}/{len(ids):,} stores "
                f"({time.monotonic() - started:.0f} s)",
                flush=True,
            )

    def window(name: str) -> WindowTotals:
        return WindowTotals(
            business=np.concatenate([getattr(p, name).business for p in parts]),
            uptime=np.concatenate([getattr(p, name).uptime for p in parts]),
        )

    merged = Report(
        now_us=now_us,
        interpolation=interpolation,  # type: ignore[arg-type]
        store_id=np.concatenate([p.store_id for p in parts]),
        store_key=np.concatenate([p.store_key for p in parts]),
        hour=window("hour"),
        day=window("day"),
        week=window("week"),
    )
    columns = reference.reference_rounded_columns(merged)
    order = sorted(range(len(merged)), key=lambda i: merged.store_id[i])
    return [[str(merged.store_id[i]), *(f"{columns[c][i]:.2f}" for c in COLUMNS)] for i in order]


# --- storemon's side -------------------------------------------------------------------


def storemon_csv_rows(
    storemon: Path, url: str, out: Path, interpolation: str, as_of: str | None
) -> tuple[list[list[str]], harness.Run]:
    """The report's rows, and the measured run of ``storemon report``
    (process start to exit: what the reference's time is set against)."""
    as_of_args = ["--as-of", as_of] if as_of else []
    run = harness.run_measured(
        [
            storemon,
            "--db",
            url,
            "report",
            "--out",
            out,
            "--interpolation",
            interpolation,
            *as_of_args,
        ]
    )
    with open(out, newline="") as f:
        table = list(csv.reader(f))
    out.unlink()
    if table[0] != HEADER:
        raise SystemExit(f"unexpected header {table[0]}")
    return table[1:], run


@dataclass(frozen=True)
class Comparison:
    interpolation: str
    as_of: str
    stores: int
    reference_stores: int
    same_order: bool
    max_diff: dict[str, float]
    differing_cells: int
    reference_s: float
    report: harness.Run

    @property
    def passed(self) -> bool:
        return (
            self.same_order and self.differing_cells == 0 and self.stores == self.reference_stores
        )


def compare(
    ours: list[list[str]],
    theirs: list[list[str]],
    interpolation: str,
    as_of: str,
    reference_s: float,
    report: harness.Run,
) -> Comparison:
    same_order = [r[0] for r in ours] == [r[0] for r in theirs]
    by_id = {r[0]: r for r in theirs}
    max_diff = dict.fromkeys(COLUMNS, 0.0)
    differing = 0
    for row in ours:
        other = by_id.get(row[0])
        if other is None:
            continue
        for i, name in enumerate(COLUMNS, start=1):
            if row[i] != other[i]:
                differing += 1
                max_diff[name] = max(max_diff[name], abs(float(row[i]) - float(other[i])))
    return Comparison(
        interpolation,
        as_of,
        len(ours),
        len(theirs),
        same_order,
        max_diff,
        differing,
        reference_s,
        report,
    )


def section(results: list[Comparison], argv: list[str], scale_dir: Path) -> str:
    header = [
        "interpolation",
        "now",
        "stores (storemon / reference)",
        "same ids, same order",
        "max abs diff: uptime hour / day / week",
        "downtime hour / day / week",
        "differing cells",
        "reference time",
        "`storemon report` (start to CSV), peak RSS",
        "faster than the reference",
    ]

    def diffs(kind: str, r: Comparison) -> str:
        return " / ".join(f"{r.max_diff[f'{kind}_last_{w}']:.2f}" for w in ("hour", "day", "week"))

    body = [
        [
            r.interpolation,
            r.as_of,
            f"{r.stores:,} / {r.reference_stores:,}",
            "yes" if r.same_order else "**no**",
            diffs("uptime", r),
            diffs("downtime", r),
            f"{r.differing_cells:,}",
            f"{r.reference_s:.1f} s",
            f"{r.report.wall_s:.2f} s, {r.report.peak_rss_mb:.0f} MB",
            f"{r.reference_s / r.report.wall_s:.1f}x",
        ]
        for r in results
    ]
    verdict = (
        "every cell equal (max difference 0.00): **passed**"
        if all(r.passed for r in results)
        else "**FAILED**: see the table"
    )
    command = " ".join([".venv/bin/python", "bench/check_reference.py", *argv])
    return "\n".join(
        [
            f"Checked on {harness.today()} with `{command}` (storemon at "
            f"{harness.source_revision()}) on the `{scale_dir.name}` data set: "
            "`storemon ingest` into a new SQLite database, then `storemon report`, against "
            "`reference_report` + `reference_rounded_columns` from `tests/engine/reference.py` fed "
            f"straight from the CSV files. Result: {verdict}.",
            "",
            harness.markdown_table(header, body),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        type=Path,
        default=harness.DEFAULT_DATA_DIR / "s1",
        help="folder with the three CSV files (default: the scale-1 set; made when missing)",
    )
    ap.add_argument("--interpolations", default="nearest,previous")
    ap.add_argument(
        "--as-of",
        action="append",
        default=None,
        help="report times to check, repeatable; '' is the newest poll "
        "(default: '' and '2023-01-21 09:30:00')",
    )
    ap.add_argument("--storemon", type=Path, default=harness.STOREMON)
    ap.add_argument("--no-write", action="store_true", help="leave docs/performance.md alone")
    args = ap.parse_args(argv)
    generator = harness.dataset_generator(harness.SHARED_MAKE_DATASET, args.storemon)
    files = harness.ensure_dataset(generator, args.data, 1)
    reference = load_reference()

    scratch = args.data.parent / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    db = scratch / f"check-reference-{Path(args.data).name}.db"
    results = []
    try:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
        print("# storemon ingest", flush=True)
        harness.run_measured(harness.ingest_argv(args.storemon, url, files))
        print("# reading the feeds for the reference", flush=True)
        feeds = read_feeds(files)
        newest_us = feeds.newest_poll_us()
        cases = [
            (i, a)
            for i in args.interpolations.split(",")
            if i
            for a in (args.as_of if args.as_of is not None else ["", DEFAULT_AS_OF])
        ]
        for interpolation, as_of in cases:
            now_us = epoch_us(as_of) if as_of else newest_us
            ours, report = storemon_csv_rows(
                args.storemon, url, scratch / "check-reference.csv", interpolation, as_of
            )
            started = time.monotonic()
            theirs = reference_csv_rows(reference, feeds, now_us, interpolation)
            result = compare(
                ours,
                theirs,
                interpolation,
                as_of or "newest poll",
                time.monotonic() - started,
                report,
            )
            print(
                f"# {interpolation}, {as_of or 'newest poll'}: {result.stores} stores, "
                f"{result.differing_cells} differing cells, max {result.max_diff}",
                flush=True,
            )
            results.append(result)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    text = section(results, argv, args.data)
    print()
    print(text)
    if not args.no_write:
        harness.replace_section("reference", text)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
