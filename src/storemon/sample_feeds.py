"""A realistic sample data set: real business hours and timezones of the public
2023 store-monitoring data, plus synthetic status polls shaped like the real
feed (about one poll per store per hour, missed polls, outages that last a few
hours, stores that only exist in the poll feed).

``--scale K`` adds K-1 copies of every store under new UUID store ids, so the
sample also exercises non-numeric ids. Same seed, same bytes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

#: The newest poll of the sample: "now" for a report on it.
SAMPLE_END = datetime(2023, 1, 25, 18, 13, 22, 479220, tzinfo=UTC)
_HOURS = 8 * 24 + 19
_US_PER_HOUR = 3_600_000_000
_UUID_NAMESPACE = uuid.UUID("6f1c1a52-8b0e-4a8e-9d7a-3c5f0d1e2b4a")


@dataclass(frozen=True)
class SampleSummary:
    stores: int
    polls: int
    hours_rows: int
    timezone_rows: int


def _real(name: str) -> pl.DataFrame:
    text = resources.files("storemon").joinpath("sample_data").joinpath(name).read_bytes()
    return pl.read_csv(text, infer_schema=False)


def _copy_ids(ids: pl.Series, copy: int) -> pl.Series:
    if copy == 0:
        return ids
    return pl.Series(
        ids.name, [str(uuid.uuid5(_UUID_NAMESPACE, f"{s}:{copy}")) for s in ids.to_list()]
    )


def _scaled(frame: pl.DataFrame, scale: int) -> pl.DataFrame:
    return pl.concat(
        [frame.with_columns(_copy_ids(frame["store_id"], k)) for k in range(scale)]
    )


def _polls(store_ids: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    n = len(store_ids)
    presence = 0.47 + 0.30 * rng.random(n)
    kind = rng.random(n)
    fail = np.select(
        [kind < 0.80, kind < 0.95, kind < 0.99],
        [0.004 + 0.01 * rng.random(n), 0.03 + 0.05 * rng.random(n), 0.15 + 0.2 * rng.random(n)],
        1.0,  # always inactive
    )
    recover = np.select(
        [kind < 0.80, kind < 0.95, kind < 0.99],
        [0.5 + 0.3 * rng.random(n), 0.3 + 0.3 * rng.random(n), 0.1 + 0.2 * rng.random(n)],
        0.0,
    )
    first = np.where(rng.random(n) < 0.02, rng.integers(0, _HOURS, n), 0)
    last = np.where(rng.random(n) < 0.02, rng.integers(0, _HOURS, n), _HOURS - 1)
    active = (fail < 1.0) & (rng.random(n) < 0.97)

    end_us = int(SAMPLE_END.timestamp()) * 1_000_000 + SAMPLE_END.microsecond
    start_us = (end_us // _US_PER_HOUR - (_HOURS - 1)) * _US_PER_HOUR
    rows_store, rows_ts, rows_active = [], [], []
    for hour in range(_HOURS):  # a loop over hours; every store at once
        step = rng.random(n)
        active = np.where(active, step >= fail, step < recover)
        ts = start_us + hour * _US_PER_HOUR + (rng.random(n) * _US_PER_HOUR).astype(np.int64)
        polled = (rng.random(n) < presence) & (hour >= first) & (hour <= last) & (ts <= end_us)
        order = rng.permutation(int(polled.sum()))
        rows_store.append(np.flatnonzero(polled)[order])
        rows_ts.append(ts[polled][order])
        rows_active.append(active[polled][order])
    store = np.concatenate([*rows_store, [0]])
    return pl.DataFrame(
        {
            "store_id": store_ids[store],
            "status": np.where(np.concatenate([*rows_active, [True]]), "active", "inactive"),
            # One poll sits exactly at SAMPLE_END, so "now" is known.
            "ts": np.concatenate([*rows_ts, [end_us]]),
        }
    ).select(
        "store_id",
        "status",
        pl.from_epoch("ts", time_unit="us")
        .dt.strftime("%Y-%m-%d %H:%M:%S%.6f UTC")
        .alias("timestamp_utc"),
    )


def write_sample(out_dir: str | Path, scale: int = 1, seed: int = 20230125) -> SampleSummary:
    """Write ``store_status.csv``, ``menu_hours.csv`` and ``timezones.csv``."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    hours = _scaled(_real("menu_hours.csv"), scale)
    zones = _scaled(_real("timezones.csv"), scale)
    # About 6% of polled stores exist only in the poll feed.
    orphans = pl.Series(
        "store_id", (10**18 + rng.integers(0, 8 * 10**18, 860 * scale)).astype(str)
    )
    known = pl.concat([hours["store_id"], zones["store_id"], orphans]).unique().sort()
    polled = known.filter(pl.Series(rng.random(len(known)) >= 0.003))  # a few never polled
    polls = _polls(polled.to_numpy().astype(object), rng)

    hours.write_csv(out / "menu_hours.csv")
    zones.write_csv(out / "timezones.csv")
    polls.write_csv(out / "store_status.csv")
    return SampleSummary(len(polled), polls.height, hours.height, zones.height)
