"""The status feed into an empty SQLite database: `storemon ingest` against
the sqlite3 shell's `.import` of the same file, in the same run.

    .venv/bin/python bench/sqlite_import.py [--scale 1] [--runs 3] [--data-dir DIR]

The shell's figure is the floor of a plain load: it reads the CSV in C and
inserts every row as text into a table with a unique index on
``(store_id, timestamp_utc)``, in one transaction, and checks nothing; a
second figure builds that index after the rows are in (the faster way to
bulk-load, which a live table cannot use). The
ingest does more for the same file (each row validated, timestamps parsed,
store keys assigned, a later row replacing an earlier one, a commit per
chunk, the rejects and the ingest log), so the ratio says what that costs.
Both are whole processes, start to exit; the runs alternate, so both see the
same load. Needs the ``sqlite3`` command (``apt-get install sqlite3``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import harness
from harness import Run, run_measured

TABLE_SQL = "CREATE TABLE status (store_id TEXT, status TEXT, timestamp_utc TEXT);\n"
INDEX_SQL = "CREATE UNIQUE INDEX status_key ON status (store_id, timestamp_utc);\n"
IMPORT_SQL = ".import --csv --skip 1 {path} status\n"


def shell_import(sqlite3: str, status: Path, folder: Path, *, index_after: bool) -> Run:
    """The shell's load: into a table with the index, or (``index_after``)
    into a bare table, the index built once the rows are in."""
    database = folder / "import.db"
    script = folder / "import.sql"
    steps = [IMPORT_SQL, INDEX_SQL] if index_after else [INDEX_SQL, IMPORT_SQL]
    steps.insert(0, TABLE_SQL)
    script.write_text("".join(steps).format(path=status), encoding="utf-8")
    try:
        return run_measured([sqlite3, database, f".read {script}"])
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


def storemon_ingest(
    storemon: Path, files: dict[str, Path], folder: Path, *, all_feeds: bool
) -> Run:
    database = folder / "ingest.db"
    argv: list[str | Path]
    if all_feeds:
        argv = harness.ingest_argv(storemon, f"sqlite:///{database}", files)
    else:
        argv = [storemon, "--db", f"sqlite:///{database}", "ingest", "--status", files["status"]]
    try:
        return run_measured(argv)
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data-dir", type=Path, default=harness.DEFAULT_DATA_DIR)
    ap.add_argument("--make-dataset", type=Path, default=harness.SHARED_MAKE_DATASET)
    ap.add_argument("--storemon", type=Path, default=harness.STOREMON)
    ap.add_argument("--sqlite3", default=shutil.which("sqlite3"))
    args = ap.parse_args()
    if not args.sqlite3:
        ap.error("no sqlite3 command: apt-get install sqlite3 (or pass --sqlite3)")
    generator = harness.dataset_generator(args.make_dataset, args.storemon)
    files = harness.ensure_dataset(generator, args.data_dir / f"s{args.scale}", args.scale)
    harness.warm_page_cache(list(files.values()))
    load_before = harness.load_average()
    print(f"# load average {load_before}; {args.runs} runs each, alternating", flush=True)
    kinds = (
        "sqlite3 .import",
        "sqlite3 .import, index after",
        "storemon ingest --status",
        "storemon ingest, three feeds",
    )
    runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(dir=args.data_dir) as scratch:
        folder = Path(scratch)
        for i in range(args.runs):
            for kind in kinds:
                if kind.startswith("sqlite3"):
                    after = kind == kinds[1]
                    run = shell_import(args.sqlite3, files["status"], folder, index_after=after)
                else:
                    run = storemon_ingest(args.storemon, files, folder, all_feeds=kind == kinds[3])
                print(f"  run {i + 1} {kind:<30} {run.wall_s:6.2f} s  cpu {run.cpu_s:6.2f} s")
                runs[kind].append(run)
    load_after = harness.load_average()
    floor = statistics.median(run.wall_s for run in runs[kinds[0]])
    floor_cpu = statistics.median(run.cpu_s for run in runs[kinds[0]])
    rows = []
    for kind in kinds:
        wall = statistics.median(run.wall_s for run in runs[kind])
        cpu = statistics.median(run.cpu_s for run in runs[kind])
        ratio, cpu_ratio = wall / floor, cpu / floor_cpu
        rows.append([kind, f"{wall:.2f} s", f"{ratio:.2f}x", f"{cpu:.2f} s", f"{cpu_ratio:.2f}x"])
    print()
    print(
        f"scale {args.scale}, {harness.today()}, load average before {load_before}, "
        f"after {load_after}; median of {args.runs}"
    )
    print(
        harness.markdown_table(
            ["load", "wall", "ratio to .import", "CPU (user + system)", "CPU ratio"], rows
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
