"""Fault tests run against the database servers (a file database cannot be
cut off) through a proxy the test cuts and restores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobs.test_celery_runner import key_prefix  # noqa: F401 (a fixture: a Redis key prefix)

from .proxy import TcpProxy, proxy_for

#: ``@SERVERS`` on a test: run it on PostgreSQL and MySQL/MariaDB only.
SERVERS = pytest.mark.parametrize(
    "database_url",
    [pytest.param(b, marks=getattr(pytest.mark, b), id=b) for b in ("postgresql", "mysql")],
    indirect=True,
)


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    with proxy_for(database_url) as made:
        yield made
