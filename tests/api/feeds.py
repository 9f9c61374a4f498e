"""A small, realistic data set written as the three CSV feeds, and loaded the
way users load data (``ingest_feed``, what ``storemon ingest`` runs)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storemon.data.database import make_engine
from storemon.ingest.service import ingest_feed

#: The newest poll of the data set.
END = datetime(2023, 1, 25, 18, 13, 22, 479220, tzinfo=UTC)
ZONES = ("America/Chicago", "America/New_York", "America/Los_Angeles", "Asia/Kolkata", "UTC")
FEEDS = (
    ("timezones", "timezones.csv"),
    ("hours", "menu_hours.csv"),
    ("status", "store_status.csv"),
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def store_ids(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    ids = [str(rnd.randrange(10**18, 10**19)) for _ in range(count - 2)]
    # Newer data uses UUIDs; a spreadsheet would run a cell starting with "=".
    ids += [str(uuid.UUID(int=rnd.getrandbits(128))), "=HYPERLINK(1)"]
    return ids


def write_feeds(folder: Path, stores: int = 30, hours: int = 8 * 24, seed: int = 7) -> list[str]:
    """Hourly polls (with jitter, gaps and outages) over ``hours`` hours up to
    :data:`END`, business hours (some past midnight, some stores 24/7) and
    timezones (some stores without one). Returns the store ids."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = store_ids(stores, seed)
    start = END - timedelta(hours=hours)
    with (folder / "store_status.csv").open("w") as out:
        out.write("store_id,status,timestamp_utc\n")
        for store_id in ids:
            active = True
            for hour in range(hours):
                if rnd.random() < 0.1:
                    continue  # a missed poll
                if rnd.random() < 0.15:
                    active = not active
                moment = start + timedelta(hours=hour, microseconds=rnd.randrange(3_600_000_000))
                status = "active" if active else "inactive"
                out.write(f'"{store_id}",{status},{_stamp(moment)}\n')
        out.write(f'"{ids[0]}",active,{_stamp(END)}\n')
    with (folder / "menu_hours.csv").open("w") as out:
        out.write("store_id,dayOfWeek,start_time_local,end_time_local\n")
        for store_id in ids:
            if rnd.random() < 0.2:
                continue  # open 24/7
            for day in range(7):
                if rnd.random() < 0.1:
                    continue  # closed that day
                opens = rnd.randrange(0, 20)
                closes = (opens + rnd.randrange(4, 14)) % 24  # some run past midnight
                out.write(f'"{store_id}",{day},{opens:02}:00:00,{closes:02}:30:00\n')
    with (folder / "timezones.csv").open("w") as out:
        out.write("store_id,timezone_str\n")
        for store_id in ids:
            if rnd.random() < 0.85:
                out.write(f'"{store_id}",{rnd.choice(ZONES)}\n')
    return ids


def write_late_poll(folder: Path, store_id: str, later: timedelta = timedelta(minutes=30)) -> Path:
    """A status feed with one poll after :data:`END`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "late_status.csv"
    path.write_text(f'store_id,status,timestamp_utc\n"{store_id}",inactive,{_stamp(END + later)}\n')
    return path


def load_feeds(url: str, folder: Path) -> None:
    engine = make_engine(url)
    try:
        for feed, name in FEEDS:
            ingest_feed(engine, feed, folder / name)
    finally:
        engine.dispose()


def ingest_file(url: str, feed: str, path: Path) -> None:
    engine = make_engine(url)
    try:
        ingest_feed(engine, feed, path)
    finally:
        engine.dispose()
