"""Every entry point reads its settings once, from the environment and
``.env``; and the rough edges a new user meets are worded plainly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_serve import free_port, running

STOREMON = str(Path(sys.executable).with_name("storemon"))

STATUS = (
    "status,timestamp_utc,store_id\n"
    "active,2023-01-25 12:00:00 UTC,a\n"
    "paused,2023-01-25 13:00:00 UTC,a\n"
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREMON_")}
    return {**env, **extra}


def storemon(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STOREMON, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
        timeout=120,
    )


@pytest.fixture
def dotenv(tmp_path: Path) -> Iterator[Path]:
    """A working directory whose ``.env`` names a database elsewhere; yields
    that database file. No command may fall back to ./storemon.db."""
    db = tmp_path / "elsewhere" / "from-dotenv.db"
    db.parent.mkdir()
    (tmp_path / ".env").write_text(f"STOREMON_DATABASE_URL=sqlite:///{db}\n")
    (tmp_path / "status.csv").write_text(STATUS)
    yield db
    assert not (tmp_path / "storemon.db").exists()


def test_migrate_honours_dotenv(dotenv: Path, tmp_path: Path) -> None:
    done = storemon(tmp_path, "migrate")
    assert done.returncode == 0, done.stderr
    assert dotenv.is_file()
    assert str(dotenv) in done.stdout


def test_ingest_honours_dotenv(dotenv: Path, tmp_path: Path) -> None:
    done = storemon(tmp_path, "ingest", "--status", "status.csv")
    assert done.returncode == 0, done.stderr
    assert dotenv.is_file()


def test_report_honours_dotenv(dotenv: Path, tmp_path: Path) -> None:
    assert storemon(tmp_path, "ingest", "--status", "status.csv").returncode == 0
    done = storemon(tmp_path, "report", "--out", "r.csv")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "1 store -> r.csv"
    assert (tmp_path / "r.csv").read_text().splitlines()[1].startswith("a,")


def test_rejects_honours_dotenv(dotenv: Path, tmp_path: Path) -> None:
    ingested = storemon(tmp_path, "ingest", "--status", "status.csv")
    ingest_id = ingested.stdout.split("(ingest ")[1].split(")")[0]
    done = storemon(tmp_path, "rejects", ingest_id)
    assert done.returncode == 0, done.stderr
    assert "status 'paused'" in done.stdout


def test_reports_prune_honours_dotenv(dotenv: Path, tmp_path: Path) -> None:
    assert storemon(tmp_path, "migrate").returncode == 0
    done = storemon(tmp_path, "reports", "prune")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 reports deleted")


def test_serve_honours_dotenv(
    dotenv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("STOREMON_")]:
        monkeypatch.delenv(name)
    with running(tmp_path, "serve") as server:
        assert server.get("/ready")[0] == 200
    assert dotenv.is_file()
    assert str(dotenv) in server.log.read_text()


def test_worker_honours_dotenv(dotenv: Path, tmp_path: Path) -> None:
    # Nothing listens on the broker: the worker names its database, then
    # keeps retrying the broker until stopped.
    with subprocess.Popen(
        [STOREMON, "worker"],
        cwd=tmp_path,
        env=clean_env(STOREMON_CELERY_BROKER_URL="redis://127.0.0.1:1/0"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            first = process.stderr.readline()
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert f"database sqlite:///{dotenv}" in first


def test_the_environment_wins_over_dotenv(dotenv: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    done = storemon(tmp_path, "migrate", STOREMON_DATABASE_URL=f"sqlite:///{other}")
    assert done.returncode == 0, done.stderr
    assert other.is_file() and not dotenv.exists()


def one_error_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_report_on_a_missing_sqlite_file_names_it_and_creates_nothing(tmp_path: Path) -> None:
    done = storemon(tmp_path, "--db", "sqlite:///absent.db", "report", "--out", "r.csv")
    line = one_error_line(done)

    assert "absent.db" in line and "does not exist" in line
    assert not (tmp_path / "absent.db").exists()
    assert not (tmp_path / "r.csv").exists()


def test_rejects_of_an_unknown_ingest_is_one_line(tmp_path: Path) -> None:
    assert storemon(tmp_path, "migrate").returncode == 0

    assert one_error_line(storemon(tmp_path, "rejects", "999")) == (
        "error: no ingest 999 in this database"
    )


def test_unknown_stores_and_an_as_of_before_all_data_are_warned_about(tmp_path: Path) -> None:
    (tmp_path / "status.csv").write_text(STATUS)
    assert storemon(tmp_path, "ingest", "--status", "status.csv").returncode == 0

    done = storemon(
        tmp_path, "report", "--out", "r.csv", "--store", "a", "--store", "nope",
        "--as-of", "2020-01-01 00:00:00",
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: the database has no store 'nope'",
        "warning: --as-of 2020-01-01 00:00:00 is before every poll: the report is empty",
        "0 stores -> r.csv",
    ]


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        # Usage mistakes exit 2, as with every command-line tool.
        (["report"], {}, 2, "error: Missing option '--out'."),
        (["rejects", "x"], {}, 2, "error: Invalid value for 'INGEST_ID': not a whole number"),
        (
            ["migrate"],
            {"STOREMON_PORT": "eighty"},
            1,
            "error: bad settings: STOREMON_PORT: not a whole number",
        ),
        (
            ["migrate"],
            {"STOREMON_API_KEY": "short"},
            1,
            "error: bad settings: STOREMON_API_KEY: must be at least 16 characters",
        ),
    ],
)
def test_usage_and_settings_errors_are_plain_words(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    line = one_error_line(storemon(tmp_path, *args, **env), code)

    assert line == message
    for jargon in ("MissingParameter", "BadParameter", "Value error", "Input should"):
        assert jargon not in line


def test_help_names_values_instead_of_types() -> None:
    for command in (["--help"], ["report", "--help"], ["ingest", "--help"], ["serve", "--help"]):
        text = storemon(Path.cwd(), *command).stdout
        assert "<bool>" not in text and "<str>" not in text and "<path>" not in text, text
        assert "SPEC" not in text


def test_a_port_in_use_is_one_line_before_the_database_is_touched(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        line = one_error_line(storemon(tmp_path, "serve", "--port", str(port)))

    assert line.startswith(f"error: cannot listen on 127.0.0.1 port {port}: ")
    assert "STOREMON_PORT" in line
    assert not (tmp_path / "storemon.db").exists()  # nothing migrated
    assert time.monotonic() - started < 30
    assert free_port() != port
