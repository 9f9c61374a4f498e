"""Does a report's cost stay flat as history grows? `storemon report` on a
database holding 1, 6 and 12 weeks of polls, on SQLite and PostgreSQL.

    .venv/bin/python bench/history.py                   # 1, 6, 12 weeks, both backends, 5 runs
    .venv/bin/python bench/history.py --weeks 1,12 --backends sqlite --runs 3 --no-write

History is the scale-1 status feed repeated, each copy shifted back by a
whole week (oldest copy first in the file, as a live feed arrives), with the
same hours and timezones: the newest week is the original one, so the report
as of the newest poll covers the same week whatever the history. Each
database is loaded once by ``storemon ingest``; then ``storemon report`` runs
``--runs`` times on each, round robin (process start to exit; median wall
time, largest peak RSS).
The target: 6 and 12 weeks within 1.25x of the one-week figures. The table
goes to stdout and, unless ``--no-write``, into docs/performance.md between
the ``bench:history`` markers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import harness
from core import empty_database, note
from harness import Run, Summary, run_measured

LIMIT = 1.25
WEEK_US = 7 * 86_400 * 1_000_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", default="1,6,12", help="comma-separated weeks of history")
    ap.add_argument("--backends", default="sqlite,postgresql", help="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=5, help="report runs per figure (median)")
    ap.add_argument("--no-write", action="store_true", help="leave docs/performance.md alone")
    ap.add_argument("--data-dir", type=Path, default=harness.DEFAULT_DATA_DIR)
    ap.add_argument("--make-dataset", type=Path, default=harness.SHARED_MAKE_DATASET)
    ap.add_argument("--postgresql", default=harness.DEFAULT_POSTGRESQL)
    ap.add_argument("--storemon", type=Path, default=harness.STOREMON)
    ap.add_argument("--max-load", type=float, default=None)
    ap.add_argument("--max-wait", type=float, default=2400)
    args = ap.parse_args(argv)
    args.weeks = sorted(int(w) for w in args.weeks.split(",") if w)
    args.backends = [b for b in args.backends.split(",") if b]
    if not args.weeks or args.weeks[0] < 1:
        ap.error("--weeks must be positive")
    return args


def history_feed(status: Path, weeks: int, folder: Path) -> Path:
    """``status`` repeated ``weeks`` times, copy k shifted back k weeks,
    oldest first; written once and reused. Written by a child process: a
    child forked from a big parent would start with the parent's pages in
    its peak RSS, and the reports' peaks would be wrong."""
    target = folder / f"store_status-{weeks}w.csv"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        code = "import sys, history; history.write_history_feed(*sys.argv[1:])"
        cwd = Path(__file__).parent
        subprocess.run(
            [sys.executable, "-c", code, str(status), str(weeks), str(target)], check=True, cwd=cwd
        )
    return target


def write_history_feed(status: str, weeks: str, target: str) -> None:
    import polars as pl

    form = "%Y-%m-%d %H:%M:%S%.f UTC"
    feed = pl.read_csv(status, schema_overrides={"store_id": pl.Utf8})
    moment = pl.col("timestamp_utc").str.strptime(pl.Datetime("us"), form)
    copies = [
        feed.with_columns(
            timestamp_utc=(moment - pl.duration(weeks=k)).dt.strftime("%Y-%m-%d %H:%M:%S%.6f UTC")
        )
        for k in range(int(weeks) - 1, -1, -1)
    ]
    partial = Path(target).with_suffix(".partial")
    pl.concat(copies).write_csv(partial)
    partial.rename(target)


def measure(
    backend: str, feeds: dict[int, dict[str, Path]], args: argparse.Namespace
) -> dict[int, Summary]:
    """Load one database per history length, then run the reports round
    robin (1, 6, 12, 1, 6, 12, ...), so a change of load on the machine
    falls on every length alike and the ratios stay fair."""
    with ExitStack() as stack:
        urls = {}
        for weeks, files in feeds.items():
            url = stack.enter_context(empty_database(backend, f"history_{weeks}w_{backend}", args))
            loaded = run_measured(harness.ingest_argv(args.storemon, url, files))
            note(f"  ingest {weeks:>2} weeks {backend:<10} {loaded.wall_s:7.1f} s")
            urls[weeks] = url
        out = args.data_dir / "scratch" / f"history-{backend}.csv"
        runs: dict[int, list[Run]] = {weeks: [] for weeks in feeds}
        for i in range(args.runs):
            for weeks, url in urls.items():
                out.unlink(missing_ok=True)
                run = run_measured([args.storemon, "--db", url, "report", "--out", out])
                note(
                    f"  report {weeks:>2} weeks {backend:<10} run {i + 1}: "
                    f"{run.wall_s:6.2f} s {run.peak_rss_mb:6.0f} MB"
                )
                runs[weeks].append(run)
        out.unlink(missing_ok=True)
    return {weeks: Summary(tuple(done)) for weeks, done in runs.items()}


def section(
    results: dict[tuple[str, int], Summary], args: argparse.Namespace, argv: list[str],
    loads: tuple[str, str],
) -> str:
    base = args.weeks[0]
    rows = []
    for (backend, weeks), summary in results.items():
        first = results[(backend, base)]
        wall_ratio = summary.wall_s / first.wall_s
        rss_ratio = summary.peak_rss_mb / first.peak_rss_mb
        low, high = summary.wall_range
        met = weeks == base or (wall_ratio <= LIMIT and rss_ratio <= LIMIT)
        rows.append(
            [
                backend,
                str(weeks),
                f"{summary.wall_s:.2f} s ({low:.2f}-{high:.2f})",
                f"{wall_ratio:.2f}x",
                f"{summary.peak_rss_mb:,.0f} MB",
                f"{rss_ratio:.2f}x",
                "—" if weeks == base else ("met" if met else "**missed**"),
            ]
        )
    command = " ".join([".venv/bin/python", "bench/history.py", *argv])
    return "\n".join(
        [
            f"Measured on {harness.today()} with `{command}` (median of {args.runs} runs; "
            f"1/5/15-minute load average before: {loads[0]}, after: {loads[1]}).",
            "",
            *[f"- {fact}" for fact in harness.machine_facts()],
            "",
            harness.markdown_table(
                [
                    "backend",
                    "weeks stored",
                    "report wall (min-max)",
                    f"vs {base} week",
                    "peak RSS",
                    f"vs {base} week",
                    f"≤ {LIMIT}x",
                ],
                rows,
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    generator = harness.dataset_generator(args.make_dataset, args.storemon)
    files = harness.ensure_dataset(generator, args.data_dir / "s1", 1)
    harness.wait_for_quiet_machine(args.max_load, args.max_wait)
    before = harness.load_average()
    note(f"# load average {before}")
    results: dict[tuple[str, int], Summary] = {}
    feeds = {
        weeks: {**files, "status": history_feed(files["status"], weeks, args.data_dir / "history")}
        for weeks in args.weeks
    }
    for backend in args.backends:
        for weeks, summary in measure(backend, feeds, args).items():
            results[(backend, weeks)] = summary
    text = section(results, args, argv, (before, harness.load_average()))
    print()
    print(text)
    if not args.no_write:
        harness.replace_section("history", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
