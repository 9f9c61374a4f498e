"""The core benchmark: `storemon ingest` and `storemon report` as separate
processes, on SQLite and PostgreSQL, at full scale (1) and ten times that.

    .venv/bin/python bench/core.py                      # scales 1 and 10, both backends, 3 runs
    .venv/bin/python bench/core.py --scales 1 --runs 1 --no-write   # a quick try

Each figure is the median wall time of ``--runs`` runs of the whole command,
process start to exit (so the report's time includes imports, the database
read, the computation and writing the CSV), and the largest peak RSS of those
runs (``os.wait4``). Steps, per scale and backend:

- ingest:   the three feeds into an empty database (a new one every run);
- reingest: the same files again into the loaded database (every row a repeat);
- report:   ``storemon report --out FILE.csv`` on the loaded database.

Data sets live under ``--data-dir`` (``s1/``, ``s10/``), outside the
repository, and are reused when present. A missing one is made by
``--make-dataset`` (default: ``../shared/bench/make_dataset.py`` beside the
repository, the generator of the published figures) or, when that file is not
there (a fresh clone), by ``storemon sample``; ``made-by.txt`` in the folder
records which, and the table says it.
PostgreSQL runs use a new database on ``--postgresql`` each, dropped after.
The table goes to stdout and, unless ``--no-write``, into docs/performance.md
between the ``bench:core`` markers.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import harness
from harness import Run, Summary, run_measured

STEPS = ("ingest", "reingest", "report")
MB_PER_GB = 1024


@dataclass(frozen=True)
class Target:
    wall_s: float | None = None
    rss_mb: float | None = None


def target(step: str, backend: str, scale: int) -> Target:
    """The README / issue targets. Scale 1 is the full public data set."""
    if scale == 1:
        if step == "report":
            return Target(1.0 if backend == "sqlite" else 1.5, 600)
        if step == "ingest":
            return Target(6.0)
        return Target(10.0)
    if step == "report":
        return Target(10.0, 3 * MB_PER_GB)
    # Ten times the data: no time target, but memory must stay bounded.
    return Target(None, 1 * MB_PER_GB)


@dataclass(frozen=True)
class Measured:
    step: str
    scale: int
    backend: str
    summary: Summary

    @property
    def target(self) -> Target:
        return target(self.step, self.backend, self.scale)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="1,10", help="comma-separated data set scales (1,10)")
    ap.add_argument("--backends", default="sqlite,postgresql", help="sqlite,postgresql")
    ap.add_argument("--steps", default=",".join(STEPS), help="ingest,reingest,report")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    ap.add_argument("--no-write", action="store_true", help="leave docs/performance.md alone")
    ap.add_argument(
        "--make-dataset",
        type=Path,
        default=harness.SHARED_MAKE_DATASET,
        help="the data set generator (default: ../shared/bench/make_dataset.py beside the "
        "repository; `storemon sample` when that file does not exist)",
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=harness.DEFAULT_DATA_DIR,
        help="where data sets (s1/, s10/) and scratch databases go",
    )
    ap.add_argument(
        "--postgresql",
        default=harness.DEFAULT_POSTGRESQL,
        help="admin URL used to create and drop the scratch databases",
    )
    ap.add_argument("--storemon", type=Path, default=harness.STOREMON)
    ap.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="first wait until the 1-minute load average is below this",
    )
    ap.add_argument("--max-wait", type=float, default=2400, help="seconds to wait for --max-load")
    args = ap.parse_args(argv)
    args.scales = [int(s) for s in args.scales.split(",") if s]
    args.backends = [b for b in args.backends.split(",") if b]
    args.steps = [s for s in args.steps.split(",") if s]
    for backend in args.backends:
        if backend not in ("sqlite", "postgresql"):
            ap.error(f"unknown backend {backend!r}")
    for step in args.steps:
        if step not in STEPS:
            ap.error(f"unknown step {step!r}")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    return args


@contextmanager
def empty_database(backend: str, label: str, args: argparse.Namespace) -> Iterator[str]:
    """The URL of a new, empty database, removed afterwards."""
    if backend == "postgresql":
        with harness.scratch_postgresql(args.postgresql, label) as url:
            yield url
        return
    scratch = args.data_dir / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"{label}.db"
    remove_sqlite(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        remove_sqlite(path)


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def loaded_counts(run: Run) -> dict[str, int]:
    """``{"status": 1836183, ...}`` from the ingest command's output."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+): (\d+) loaded", run.stdout, re.M)}


def note(message: str) -> None:
    print(message, flush=True)


def show(step: str, scale: int, backend: str, i: int, run: Run) -> None:
    note(
        f"  {step:<8} scale {scale:<3} {backend:<10} run {i + 1}: "
        f"{run.wall_s:7.2f} s  {run.peak_rss_mb:7.0f} MB"
    )


def measure(
    scale: int,
    backend: str,
    files: dict[str, Path],
    args: argparse.Namespace,
    facts: dict[str, str],
) -> list[Measured]:
    """Every step on one backend at one scale."""
    label = f"s{scale}_{backend}"
    ingests: list[Run] = []
    results: list[Measured] = []
    # Without the ingest step, one load is enough for the other steps.
    loads = args.runs if "ingest" in args.steps else 1
    for i in range(loads):
        last = i == loads - 1
        with empty_database(backend, f"{label}_{i}", args) as url:
            run = run_measured(harness.ingest_argv(args.storemon, url, files))
            show("ingest", scale, backend, i, run)
            ingests.append(run)
            counts = loaded_counts(run)
            facts[f"s{scale}"] = (
                f"{counts.get('status', 0):,} polls, {counts.get('hours', 0):,} business-hours "
                f"rows, {counts.get('timezones', 0):,} timezones"
            )
            if not last:
                continue
            # The last database stays for the steps that need a loaded one.
            if "ingest" in args.steps:
                results.append(Measured("ingest", scale, backend, Summary(tuple(ingests))))
            if "reingest" in args.steps:
                runs = []
                for j in range(args.runs):
                    run = run_measured(harness.ingest_argv(args.storemon, url, files))
                    show("reingest", scale, backend, j, run)
                    runs.append(run)
                results.append(Measured("reingest", scale, backend, Summary(tuple(runs))))
            if "report" in args.steps:
                out = args.data_dir / "scratch" / f"report-{label}.csv"
                runs = []
                for j in range(args.runs):
                    out.unlink(missing_ok=True)
                    run = run_measured([args.storemon, "--db", url, "report", "--out", out])
                    if not out.is_file():
                        raise harness.ChildFailed(f"storemon report wrote no {out}")
                    show("report", scale, backend, j, run)
                    runs.append(run)
                results.append(Measured("report", scale, backend, Summary(tuple(runs))))
                data = out.read_bytes()
                facts[f"report-s{scale}-{backend}"] = hashlib.sha256(data).hexdigest()
                stores = data.count(b"\n") - 1
                facts[f"stores-s{scale}"] = f"{stores:,}"
                out.unlink()
    return results


def figure(value: float, unit: str) -> str:
    return f"{value:.2f} s" if unit == "s" else f"{value:,.0f} MB"


def limit_text(limit: float | None, unit: str) -> str:
    if limit is None:
        return "—"
    if unit == "MB" and limit >= MB_PER_GB:
        return f"≤ {limit / MB_PER_GB:g} GB"
    return f"≤ {limit:g} {unit}"


def table(results: list[Measured]) -> str:
    rows = []
    for m in results:
        low, high = m.summary.wall_range
        spread = f" ({low:.2f}-{high:.2f})" if len(m.summary.runs) > 1 else ""
        rows.append(
            [
                m.step,
                str(m.scale),
                m.backend,
                figure(m.summary.wall_s, "s") + spread,
                limit_text(m.target.wall_s, "s"),
                harness.verdict(m.summary.wall_s, m.target.wall_s, "s"),
                figure(m.summary.peak_rss_mb, "MB"),
                limit_text(m.target.rss_mb, "MB"),
                harness.verdict(m.summary.peak_rss_mb, m.target.rss_mb, "MB"),
            ]
        )
    return harness.markdown_table(
        [
            "step",
            "scale",
            "database",
            "wall, median (min-max)",
            "target",
            "",
            "peak RSS (max)",
            "target",
            "",
        ],
        rows,
    )


def command_line(argv: list[str]) -> str:
    return shlex.join([".venv/bin/python", "bench/core.py", *argv])


def section(
    results: list[Measured],
    args: argparse.Namespace,
    facts: dict[str, str],
    loads: tuple[str, str],
    argv: list[str],
) -> str:
    lines = [
        f"Measured on {harness.today()} with `{command_line(argv)}` "
        f"(median of {args.runs} run{'s' if args.runs > 1 else ''}; 1/5/15-minute load "
        f"average before: {loads[0]}, "
        f"after: {loads[1]}).",
        "",
        *[f"- {fact}" for fact in harness.machine_facts()],
    ]
    if "postgresql-version" in facts:
        lines.append(f"- {facts['postgresql-version']} on 127.0.0.1, default settings")
    for scale in args.scales:
        origin = harness.dataset_origin(args.data_dir / f"s{scale}")
        lines.append(f"- scale {scale} data set made by `{origin}`")
        if f"s{scale}" in facts:
            stores = facts.get(f"stores-s{scale}")
            lines.append(
                f"- scale {scale}: {facts[f's{scale}']}"
                + (f"; the report has {stores} stores" if stores else "")
            )
        hashes = {facts[k] for k in facts if k.startswith(f"report-s{scale}-")}
        if len(hashes) > 1:
            lines.append(f"- **scale {scale}: the report CSVs of the backends differ**")
        elif len(args.backends) > 1 and hashes:
            lines.append(f"- scale {scale}: the report CSV is byte-identical on every backend")
    lines += ["", table(results)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    generator = harness.dataset_generator(args.make_dataset, args.storemon)
    datasets = {
        scale: harness.ensure_dataset(generator, args.data_dir / f"s{scale}", scale)
        for scale in args.scales
    }
    facts: dict[str, str] = {}
    if "postgresql" in args.backends:
        facts["postgresql-version"] = harness.postgresql_version(args.postgresql)
    harness.wait_for_quiet_machine(args.max_load, args.max_wait)
    load_before = harness.load_average()
    note(f"# load average {load_before}; {args.runs} runs per figure")
    results: list[Measured] = []
    for scale, files in datasets.items():
        harness.warm_page_cache(list(files.values()))
        for backend in args.backends:
            results += measure(scale, backend, files, args, facts)
    load_after = harness.load_average()
    text = section(results, args, facts, (load_before, load_after), argv)
    print()
    print(text)
    if not args.no_write:
        harness.replace_section("core", text)
        note(f"\n# wrote {harness.PERFORMANCE_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
