"""Real databases for the tests: SQLite, PostgreSQL and MariaDB/MySQL.

``database_url`` gives each test its own fresh database, migrated to the
newest schema, and drops it afterwards. Servers are found at the local
development addresses (override with ``STOREMON_TEST_POSTGRESQL_URL`` and
``STOREMON_TEST_MYSQL_URL``: an admin URL, its database is not touched). An
unreachable server skips its tests, except under ``CI``, where it fails them:
CI must prove every backend. Select backends with ``-m "not mysql"`` etc.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

BACKENDS = ("sqlite", "postgresql", "mysql")

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "STOREMON_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("STOREMON_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def pytest_configure(config: pytest.Config) -> None:
    for backend in BACKENDS:
        config.addinivalue_line("markers", f"{backend}: runs against a {backend} database")


def _unreachable(backend: str, error: Exception) -> None:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    message = f"{backend} server unreachable at {ADMIN_URLS[backend]}: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _with_database(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


class _Server:
    """Creates and drops databases on one server."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.admin_url = ADMIN_URLS.get(backend, "")

    def _admin(self) -> Any:
        from sqlalchemy.engine import make_url

        url = make_url(self.admin_url)
        if self.backend == "postgresql":
            import psycopg

            return psycopg.connect(
                host=url.host,
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname=url.database,
                autocommit=True,
                connect_timeout=5,
            )
        import pymysql

        return pymysql.connect(
            host=url.host,
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
            database=url.database,
            connect_timeout=5,
            autocommit=True,
        )

    def create(self, name: str, template: str | None = None) -> str:
        try:
            admin = self._admin()
        except Exception as error:  # any driver's connection error
            _unreachable(self.backend, error)
        with admin, admin.cursor() as cursor:
            if self.backend not in _swept:
                _swept.add(self.backend)
                self._drop_leftovers(cursor)
            if self.backend == "postgresql":
                suffix = f" TEMPLATE {template}" if template else ""
                cursor.execute(f"CREATE DATABASE {name}{suffix}")
            else:
                cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        return _with_database(self.admin_url, name)

    def _drop_leftovers(self, cursor: Any) -> None:
        """Drop test databases of test runs that died before dropping them
        (their process is gone)."""
        if self.backend == "postgresql":
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'storemon_test_%'")
        else:
            cursor.execute("SHOW DATABASES LIKE 'storemon\\_test\\_%'")
        for (name,) in cursor.fetchall():
            match = _NAME.fullmatch(name)
            if match and not _process_alive(int(match["pid"])):
                force = " WITH (FORCE)" if self.backend == "postgresql" else ""
                cursor.execute(f"DROP DATABASE IF EXISTS {name}{force}")

    def drop(self, name: str) -> None:
        admin = self._admin()
        with admin, admin.cursor() as cursor:
            if self.backend == "postgresql":
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                cursor.execute(f"DROP DATABASE IF EXISTS {name}")


_NAME = re.compile(r"storemon_test_(?P<pid>\d+)_[0-9a-f]{10}(_tpl)?")
_swept: set[str] = set()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unique_name() -> str:
    return f"storemon_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"


_BACKEND_PARAMS = [pytest.param(b, marks=getattr(pytest.mark, b), id=b) for b in BACKENDS]


@pytest.fixture(scope="session")
def _postgresql_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test's database is copied
    from (CREATE DATABASE ... TEMPLATE is much faster than migrating)."""
    from storemon.data.migrate import migrate

    server = _Server("postgresql")
    name = _unique_name() + "_tpl"
    url = server.create(name)
    try:
        migrate(url)
        yield name
    finally:
        server.drop(name)


@contextmanager
def _fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path, migrated: bool
) -> Iterator[str]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'storemon.db'}"
        if migrated:
            from storemon.data.migrate import migrate

            migrate(url)
        yield url
        return
    server = _Server(backend)
    name = _unique_name()
    if backend == "postgresql" and migrated:
        url = server.create(name, template=request.getfixturevalue("_postgresql_template"))
    else:
        url = server.create(name)
        if migrated:
            from storemon.data.migrate import migrate

            migrate(url)
    try:
        yield url
    finally:
        server.drop(name)


@pytest.fixture(params=_BACKEND_PARAMS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema, on each backend in turn."""
    with _fresh_database(request, tmp_path, migrated=True) as url:
        yield url


@pytest.fixture(params=_BACKEND_PARAMS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no schema), on each backend in turn."""
    with _fresh_database(request, tmp_path, migrated=False) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A SQLAlchemy engine on ``database_url``, disposed after the test."""
    from storemon.data.database import make_engine

    made = make_engine(database_url)
    yield made
    made.dispose()
