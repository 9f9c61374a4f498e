"""The rate limit kept in Redis: several servers share one count, and a
Redis that is away or hangs lets requests through (fail open) within a
fraction of a second."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobs.test_celery_runner import key_prefix  # noqa: F401 (a fixture)
from jobs.workers import REDIS_URL
from storemon.api.limits import RATE_STORAGE_TIMEOUT_S

from .fixtures_ops import api_client, sqlite_url

CHANGE = {"json": {"polls": []}}


@contextmanager
def _servers(folder: Path, count: int, **settings: str) -> Iterator[list[TestClient]]:
    """``count`` apps on one database, each with its own rate limiter."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(api_client(sqlite_url(folder), rate_limit="3/minute", **settings))
            for _ in range(count)
        ]


def test_two_servers_sharing_redis_share_the_limit(tmp_path: Path, key_prefix: str) -> None:  # noqa: F811
    import redis

    shared = {"rate_limit_storage": REDIS_URL, "rate_limit_key_prefix": key_prefix}
    with _servers(tmp_path, 2, **shared) as (first, second):
        answers = [
            client.post("/polls", **CHANGE) for client in (first, second, first, second, first)
        ]
    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{key_prefix}*"))

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in answers[3:])
    assert keys, "the counts live under the prefix"


def test_servers_counting_in_memory_each_keep_their_own_count(tmp_path: Path) -> None:
    with _servers(tmp_path, 2) as (first, second):
        answers = [client.post("/polls", **CHANGE) for client in (first, first, first, second)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]


@contextmanager
def _silent_redis() -> Iterator[str]:
    """A port that takes connections and never answers (a hung Redis)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


def _closed_port() -> str:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize("away", ["closed port", "never answers"])
def test_a_redis_that_is_away_lets_changes_through_quickly(
    tmp_path: Path, away: str, caplog: pytest.LogCaptureFixture
) -> None:
    with ExitStack() as stack:
        url = _closed_port() if away == "closed port" else stack.enter_context(_silent_redis())
        client = stack.enter_context(
            api_client(sqlite_url(tmp_path), rate_limit="1/minute", rate_limit_storage=url)
        )
        took = []
        for _ in range(3):
            started = time.perf_counter()
            answer = client.post("/polls", **CHANGE)
            took.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text

    # Each change waits at most the storage's timeouts (connect, then answer).
    assert max(took) < 2 * RATE_STORAGE_TIMEOUT_S + 0.5, took
    warnings = [r for r in caplog.records if "rate limit storage failed" in r.getMessage()]
    assert len(warnings) == 1, "logged once, not once per request"
