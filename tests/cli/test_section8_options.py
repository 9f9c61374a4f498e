"""The section 8 options of `storemon report` and `storemon outages`: what
does not fit together is one line on stderr and a non-zero exit, before any
output is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_commands import read_rows, storemon, write


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'storemon.db'}"
    status = write(
        tmp_path / "status.csv",
        "store_id,status,timestamp_utc\ns,active,2023-01-10 10:00:00\n"
        "s,inactive,2023-01-10 12:00:00\nt,active,2023-01-10 12:00:00\n",
    )
    done = storemon("ingest", "--status", str(status), db=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return url


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["report", "--daily", "--from", "2023-01-09"], "--daily needs --from DATE and --to DATE"),
        (["report", "--daily", "--by-group", "--from", "2023-01-09", "--to", "2023-01-09"],
         "cannot be combined"),
        (["report", "--from", "2023-01-09", "--to", "2023-01-10"], "go with --daily"),
        (["report", "--daily", "--from", "2023-02-30", "--to", "2023-03-01"], "not a date"),
        (["report", "--daily", "--from", "1899-12-31", "--to", "1900-01-01"], "not a date"),
        (["outages", "--from", "yesterday"], "--from 'yesterday' is not a timestamp"),
        (["outages", "--to", "2200-01-01 00:00:00"], "outside the supported range"),
        (["outages", "--max-gap", "0"], "--max-gap '0' is not a number of minutes"),
    ],
)
def test_options_that_do_not_fit_are_one_line_and_no_file(
    tmp_path: Path, db: str, args: list[str], words: str
) -> None:
    out = tmp_path / "out.csv"
    done = storemon(args[0], "--out", str(out), *args[1:], db=db, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert words in done.stderr
    assert not out.exists()


def test_outages_of_chosen_stores_warn_about_unknown_ones(tmp_path: Path, db: str) -> None:
    out = tmp_path / "out.csv"
    done = storemon(
        "outages", "--out", str(out), "--store", "s", "--store", "nobody", db=db, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "no store 'nobody'" in done.stderr
    # Down from 11:00 (midway) to now, 12:00, open around the clock.
    assert read_rows(out)[1:] == [
        ["s", "2023-01-10 11:00:00.000000", "2023-01-10 12:00:00.000000", "60.00"]
    ]


def test_a_range_that_ends_before_it_starts_has_no_outages(tmp_path: Path, db: str) -> None:
    out = tmp_path / "out.csv"
    done = storemon(
        "outages", "--out", str(out), "--from", "2023-01-10 12:00:00",
        "--to", "2023-01-10 11:00:00", db=db, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_rows(out) == [["store_id", "start_utc", "end_utc", "minutes"]]
