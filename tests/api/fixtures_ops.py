"""Helpers of the store, ingest, ops and security API tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from fastapi.testclient import TestClient

from storemon.api.app import create_app
from storemon.settings import Settings

from .harness import HeldRunner

API_KEY = "test-api-key-0123456789"
KEY_HEADER = {"X-API-Key": API_KEY}


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "api_key": API_KEY, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def api_client(url: str, **overrides: Any) -> Iterator[TestClient]:
    """A client of an app on ``url`` (lifespan run), sending the API key;
    report jobs are queued and never run."""
    app = create_app(settings_for(url, **overrides), runner=HeldRunner(url))
    with TestClient(app, headers=KEY_HEADER) as client:
        yield client


def sqlite_url(folder: Path) -> str:
    """A fresh SQLite database in ``folder`` (the app migrates it on start-up)."""
    return f"sqlite:///{folder / 'storemon.db'}"


def us(text: str) -> int:
    """Epoch microseconds of a UTC ``YYYY-MM-DD HH:MM[:SS]`` time."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


@dataclass(frozen=True)
class _Chunk:
    valid: pl.DataFrame
    rejects: pl.DataFrame
    lines: int


_REJECTS = {"line": pl.Int64, "reason": pl.Utf8, "raw": pl.Utf8}


def load(url: str, feed: str, rows: list[tuple[Any, ...]]) -> None:
    """Load already valid rows through the ingest service: polls
    ``(store_id, "YYYY-MM-DD HH:MM", active)``, hours ``(store_id, day,
    start_s, end_s)`` or timezones ``(store_id, zone)``."""
    from storemon.data.database import make_engine
    from storemon.ingest.service import load_chunks

    names = {
        "status": ("store_id", "ts_us", "active"),
        "hours": ("store_id", "day", "start_s", "end_s"),
        "timezones": ("store_id", "timezone"),
    }[feed]
    if feed == "status":
        rows = [(store, us(ts), active) for store, ts, active in rows]
    columns: dict[str, list[Any]] = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    columns["line"] = list(range(2, len(rows) + 2))
    valid = pl.DataFrame(columns, strict=False)
    engine = make_engine(url)
    try:
        load_chunks(engine, feed, [_Chunk(valid, pl.DataFrame(schema=_REJECTS), len(rows))])
    finally:
        engine.dispose()
