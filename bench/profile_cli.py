"""Where the time of `storemon ingest` and `storemon report` goes, by phase.

    .venv/bin/python bench/profile_cli.py --py-spy PATH/TO/py-spy
    .venv/bin/python bench/profile_cli.py --backend postgresql --no-write

Both commands run under ``py-spy record --threads --idle`` (a sampling
profiler outside the process: nothing in storemon changes), ingest into a new
database and then the report on it. Every sample of the main thread is put in
the first phase whose frame is on its stack, so the shares add up to the
command's wall time; other threads (the ingest's read-ahead reader) are
listed on their own. py-spy is not a project dependency: install it anywhere
(``python3 -m venv /tmp/spy && /tmp/spy/bin/pip install py-spy``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import harness

IMPORTS = ("imports", "_find_and_load (<frozen importlib._bootstrap>")
#: A thread whose innermost frame is one of these is waiting, not working.
WAITS = ("(threading.py", "(queue.py", "_wait_for_tstate_lock")

#: (phase, marker): a sample belongs to the first phase whose marker is in it.
REPORT_PHASES = [
    IMPORTS,
    ("database read (`read_snapshot`)", "read_snapshot (storemon/data/snapshot.py"),
    ("engine (`compute_report`)", "compute_report (storemon/engine/report.py"),
    ("CSV (`render_csv`, write)", "uptime_frame (storemon/reports/frame.py"),
    ("CSV (`render_csv`, write)", "render_csv (storemon/reports/rendering.py"),
    ("CSV (`render_csv`, write)", "_write_atomically (storemon/cli/main.py"),
    ("schema upgrade", "migrate (storemon/data/migrate.py"),
]
INGEST_PHASES = [
    IMPORTS,
    ("schema upgrade (`migrate`)", "migrate (storemon/data/migrate.py"),
    ("waiting for the reader thread", "consume (storemon/ingest/service.py"),
    ("polls: upsert (`write_polls`)", "write_polls (storemon/data/dataset.py"),
    ("polls: store keys (`StoreKeys`)", "StoreKeys."),
    ("polls: dedup (`last_poll_per_key`)", "last_poll_per_key (storemon/data/dataset.py"),
    ("hours + timezones writes", "replace_hours (storemon/data/dataset.py"),
    ("hours + timezones writes", "set_timezones (storemon/data/dataset.py"),
    ("commit / connection close", "TrackedConnection.close"),
    ("commit / connection close", "commit ("),
    ("rest of the load loop (`load_chunks`)", "load_chunks (storemon/ingest/service.py"),
]
READER_PHASES = [
    IMPORTS,
    ("waiting for the writer (queue full)", "put (queue.py"),
    ("CSV parsing (`read_records`)", "read_records (storemon/ingest/reader.py"),
    ("validation (`validate`)", "validate (storemon/ingest/validate.py"),
]


@dataclass(frozen=True)
class Sample:
    thread: str
    frames: tuple[str, ...]
    count: int

    def has(self, marker: str) -> bool:
        return any(marker in frame for frame in self.frames)

    @property
    def waiting(self) -> bool:
        return bool(self.frames) and any(w in self.frames[-1] for w in WAITS)


def read_raw(path: Path) -> list[Sample]:
    """py-spy's ``--format raw`` with ``--threads``: ``thread (id): name;frame;...; count``."""
    stacks = []
    names: dict[str, str] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        # "thread (1234): MainThread", or "thread (1234)" before it has a name
        thread, _, name = frames[0].partition(": ")
        if name:
            names[thread] = name.split()[0]
        stacks.append((thread, tuple(frames[1:]), int(count)))
    return [Sample(names.get(thread, thread), frames, count) for thread, frames, count in stacks]


def classify(samples: list[Sample], phases: list[tuple[str, str]]) -> Counter[str]:
    shares: Counter[str] = Counter()
    for sample in samples:
        phase = next((name for name, marker in phases if sample.has(marker)), None)
        if phase is None:
            phase = "waiting" if sample.waiting else "other (start-up, CLI, exit)"
        shares[phase] += sample.count
    return shares


def inside(samples: list[Sample], marker: str, depth: int | None = 1) -> Counter[str]:
    """Samples under the frame ``marker``, by the frame ``depth`` levels below
    it (``None``: the innermost Python frame, where the time is spent)."""
    below: Counter[str] = Counter()
    for sample in samples:
        for i, frame in enumerate(sample.frames):
            if marker in frame:
                if depth is None:
                    below[sample.frames[-1]] += sample.count
                else:
                    rest = sample.frames[i + depth : i + depth + 1]
                    below[rest[0] if rest else "(itself)"] += sample.count
                break
    return below


@dataclass(frozen=True)
class Profile:
    name: str
    wall_s: float
    samples: list[Sample]


def profile(py_spy: str, rate: int, argv: list[str | Path], name: str) -> Profile:
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as f:
        raw = Path(f.name)
    try:
        command = [
            py_spy,
            "record",
            "--threads",
            "--idle",
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            raw,
            "--",
            *argv,
        ]
        run = harness.run_measured(command)
        samples = read_raw(raw)
    finally:
        raw.unlink(missing_ok=True)
    print(f"# {name}: {run.wall_s:.2f} s under py-spy", flush=True)
    return Profile(name, run.wall_s, samples)


def phase_table(p: Profile, phases: list[tuple[str, str]], threads: set[str]) -> str:
    picked = [s for s in p.samples if s.thread in threads]
    shares = classify(picked, phases)
    total = sum(shares.values()) or 1
    rows = [
        [phase, f"{n / total:.0%}", f"{p.wall_s * n / total:.2f} s"]
        for phase, n in shares.most_common()
    ]
    return harness.markdown_table(["phase", "share", "≈ time"], rows)


def top_below(
    p: Profile, marker: str, threads: set[str], limit: int = 6, depth: int | None = 1
) -> str:
    picked = [s for s in p.samples if s.thread in threads]
    below = inside(picked, marker, depth)
    total_main = sum(s.count for s in picked) or 1
    by_function: Counter[str] = Counter()
    for frame, n in below.items():
        by_function[frame.split(" (")[0]] += n  # one entry per function, not per line
    parts = [
        f"{name} {p.wall_s * n / total_main:.2f} s" for name, n in by_function.most_common(limit)
    ]
    return ", ".join(parts)


@contextmanager
def empty_database(backend: str, admin_url: str) -> Iterator[str]:
    if backend == "postgresql":
        with harness.scratch_postgresql(admin_url, "profile") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(dir=harness.DEFAULT_DATA_DIR) as folder:
        yield f"sqlite:///{folder}/profile.db"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        type=Path,
        default=harness.DEFAULT_DATA_DIR / "s1",
        help="folder with the three CSV files (default: the scale-1 set; made when missing)",
    )
    ap.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--postgresql", default=harness.DEFAULT_POSTGRESQL)
    ap.add_argument("--py-spy", default=shutil.which("py-spy"), help="the py-spy binary")
    ap.add_argument("--rate", type=int, default=250, help="samples per second")
    ap.add_argument("--storemon", type=Path, default=harness.STOREMON)
    ap.add_argument("--no-write", action="store_true", help="leave docs/performance.md alone")
    args = ap.parse_args(argv)
    if not args.py_spy:
        raise SystemExit("py-spy not found: pass --py-spy (see this script's docstring)")
    generator = harness.dataset_generator(harness.SHARED_MAKE_DATASET, args.storemon)
    files = harness.ensure_dataset(generator, args.data, 1)
    harness.DEFAULT_DATA_DIR.mkdir(parents=True, exist_ok=True)
    harness.warm_page_cache(list(files.values()))
    with empty_database(args.backend, args.postgresql) as url, tempfile.TemporaryDirectory() as out:
        ingest = profile(
            args.py_spy,
            args.rate,
            harness.ingest_argv(args.storemon, url, files),
            "ingest",
        )
        report = profile(
            args.py_spy,
            args.rate,
            [args.storemon, "--db", url, "report", "--out", Path(out) / "report.csv"],
            "report",
        )
    main_thread = {
        s.thread
        for p in (ingest, report)
        for s in p.samples
        if s.frames and s.frames[0].startswith("<module> (storemon")
    }
    reader = {s.thread for s in ingest.samples} - main_thread
    command = " ".join([".venv/bin/python", "bench/profile_cli.py", *argv])
    text = "\n".join(
        [
            f"Profiled on {harness.today()} with `{command}` ({args.backend}, the "
            f"`{args.data.name}` data set; py-spy at {args.rate} Hz, main thread, waits included, "
            "so the shares add up to the wall time; the profiler slows the commands a little).",
            "",
            f"`storemon report`: {report.wall_s:.2f} s under the profiler",
            "",
            phase_table(report, REPORT_PHASES, main_thread),
            "",
            "- inside the database read: "
            + top_below(report, "read_snapshot (storemon/data/snapshot.py", main_thread),
            "- inside the engine: "
            + top_below(report, "compute_report (storemon/engine/report.py", main_thread),
            "",
            f"`storemon ingest` (three feeds, empty database): {ingest.wall_s:.2f} s under the "
            "profiler; main thread (it writes to the database):",
            "",
            phase_table(ingest, INGEST_PHASES, main_thread),
            "",
            "- inside the poll upsert: "
            + top_below(ingest, "write_polls (storemon/data/dataset.py", main_thread, depth=None),
            "",
            "The read-ahead thread (reads and validates the next chunk meanwhile):",
            "",
            phase_table(ingest, READER_PHASES, reader),
        ]
    )
    print()
    print(text)
    if not args.no_write:
        harness.replace_section(f"profile-{args.backend}", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
