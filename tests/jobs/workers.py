"""Real ``storemon worker`` processes for the tests that need them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REDIS_URL = os.environ.get("STOREMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STOREMON_BIN = str(Path(sys.executable).with_name("storemon"))


@contextmanager
def storemon_worker(
    env: dict[str, str], log: Path, loglevel: str = "INFO"
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``storemon worker`` process (its own session, so its pool goes with
    it), logging to ``log``; stopped warmly at the end unless a test killed
    it first."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [STOREMON_BIN, "worker", "--loglevel", loglevel],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def worker_env(url: str, key_prefix: str, **more: str) -> dict[str, str]:
    """The environment of a Celery worker (and server) on ``url``, Redis as
    the broker, under its own key prefix."""
    return {
        "STOREMON_DATABASE_URL": url,
        "STOREMON_RUNNER": "celery",
        "STOREMON_CELERY_BROKER_URL": REDIS_URL,
        "STOREMON_CELERY_KEY_PREFIX": key_prefix,
        **more,
    }
