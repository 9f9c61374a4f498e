"""`storemon ingest --special-hours FILE --groups FILE` (SPEC 8.6), run as a
real process."""

from __future__ import annotations

from pathlib import Path

from storemon.data.database import make_engine
from storemon.data.groups import read_memberships
from storemon.data.special_hours import read_special_hours

from .test_commands import storemon, write


def test_ingest_loads_special_hours_and_groups_and_prints_each_feed(
    database_url: str, tmp_path: Path
) -> None:
    special = write(
        tmp_path / "special.csv",
        "store_id,date,start_time_local,end_time_local\n"
        "a,2023-12-25,,\n"
        "a,2023-12-26,10:00,\n"
        "a,2023-12-31,18:00,02:00\n",
    )
    groups = write(tmp_path / "groups.csv", "group,store_id\nwest,a\n,b\nwest,b\n")

    done = storemon(
        "ingest", "--special-hours", str(special), "--groups", str(groups),
        db=database_url, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "special_hours: 2 loaded, 1 rejected" in done.stdout
    assert "groups: 2 loaded, 1 rejected" in done.stdout
    assert "line 3: one of start_time_local and end_time_local is empty" in done.stderr
    assert "line 3: empty group" in done.stderr
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert read_special_hours(conn).closed.tolist() == [True, False]
            assert read_memberships(conn).column("store_id").to_pylist() == ["a", "b"]
    finally:
        engine.dispose()


def test_strict_ingest_of_a_new_feed_with_a_reject_loads_nothing_and_fails(
    tmp_path: Path,
) -> None:
    groups = write(tmp_path / "groups.csv", "store_id,group\na,west\nb,\n")
    url = f"sqlite:///{tmp_path / 'strict.db'}"

    done = storemon("ingest", "--groups", str(groups), "--strict", db=url, cwd=tmp_path)

    assert done.returncode != 0
    assert "groups: 0 loaded, 1 rejected — loaded nothing (strict)" in done.stdout
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert read_memberships(conn).num_rows == 0
    finally:
        engine.dispose()
