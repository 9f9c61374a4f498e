"""SPEC section 8 from the command line, at scale 1 on SQLite: the daily
breakdown over 28 days, the week's outages, the group report and a max gap,
each against the section 5 report on the same database.

    .venv/bin/python bench/section8.py                 # 5 rounds, writes docs/performance.md
    .venv/bin/python bench/section8.py --runs 1 --no-write

Each figure is the median wall time of ``--runs`` runs of the whole command,
process start to exit (imports, database read, computation, CSV written),
its median CPU time (user + system, which a busy machine inflates least),
and the largest peak RSS. The commands run in rounds, one of each per round,
so a busy neighbour on the machine weighs on all of them alike and the
ratios to the store report stay meaningful when the absolute times do not.
The data set is ``bench/core.py``'s (``--data-dir``/s1), loaded once into a
new SQLite database, with a groups feed written here: every store in one of
12 brands and one of 40 regions.
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import harness
from harness import Run, run_measured

#: The targets of issue "section 8": (seconds) or (ratio to the store report).
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "report": (None, None),
    "report --max-gap 90": (None, 1.10),
    "report --by-group": (None, 1.10),
    "report --daily (28 days)": (2.0, None),
    "outages (the week, every store)": (1.5, None),
}


def _ratio_verdict(measured: float, limit: float) -> str:
    return "met" if measured <= limit else f"**missed** ({measured:.2f} x)"


def commands(out: Path) -> dict[str, list[str]]:
    csv = str(out / "out.csv")
    return {
        "report": ["report", "--out", csv],
        "report --max-gap 90": ["report", "--out", csv, "--max-gap", "90"],
        "report --by-group": ["report", "--out", csv, "--by-group"],
        "report --daily (28 days)": [
            "report", "--out", csv, "--daily", "--from", "2023-01-01", "--to", "2023-01-28",
        ],
        "outages (the week, every store)": ["outages", "--out", csv],
    }  # fmt: skip


def write_groups(timezones: Path, path: Path) -> None:
    rnd = random.Random(20230125)
    lines = ["store_id,group"]
    with timezones.open() as feed:
        next(feed)
        for row in feed:
            store_id = row.split(",", 1)[0]
            lines.append(f"{store_id},brand-{rnd.randrange(12)}")
            lines.append(f"{store_id},region-{rnd.randrange(40)}")
    path.write_text("\n".join(lines) + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of every command")
    parser.add_argument("--data-dir", type=Path, default=harness.DEFAULT_DATA_DIR)
    parser.add_argument("--make-dataset", type=Path, default=harness.SHARED_MAKE_DATASET)
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for a load below this")
    parser.add_argument("--max-wait", type=float, default=300, help="seconds to wait for it")
    parser.add_argument("--no-write", action="store_true", help="leave docs/performance.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    storemon = harness.STOREMON
    generator = harness.dataset_generator(args.make_dataset, storemon)
    files = harness.ensure_dataset(generator, args.data_dir / "s1", 1)
    with tempfile.TemporaryDirectory(prefix="storemon-bench8-") as scratch:
        folder = Path(scratch)
        url = f"sqlite:///{folder / 'bench.db'}"
        groups = folder / "groups.csv"
        write_groups(files["timezones"], groups)
        print("# loading the scale-1 data set and the groups feed", flush=True)
        run_measured([*harness.ingest_argv(storemon, url, files), "--groups", groups])
        harness.warm_page_cache([folder / "bench.db"])
        harness.wait_for_quiet_machine(args.max_load, args.max_wait)
        load_before = harness.load_average()
        runs: dict[str, list[Run]] = {name: [] for name in TARGETS}
        for round_ in range(args.runs):
            for name, command in commands(folder).items():
                run = run_measured([storemon, "--db", url, *command])
                runs[name].append(run)
                print(f"# round {round_ + 1}: {name}: {run.wall_s:.2f} s", flush=True)
        load_after = harness.load_average()
    base = statistics.median(r.wall_s for r in runs["report"])
    base_cpu = statistics.median(r.cpu_s for r in runs["report"])
    rows = []
    for name, (seconds, ratio) in TARGETS.items():
        wall = statistics.median(r.wall_s for r in runs[name])
        cpu = statistics.median(r.cpu_s for r in runs[name])
        rss = max(r.peak_rss_mb for r in runs[name])
        if seconds is not None:
            target = f"≤ {seconds:g} s"
            verdicts = harness.verdict(wall, seconds, "s"), harness.verdict(cpu, seconds, "s")
            met = "wall {}, CPU {}".format(*verdicts)
        elif ratio is not None:
            target = f"≤ {ratio:.2f} x report"
            verdicts = _ratio_verdict(wall / base, ratio), _ratio_verdict(cpu / base_cpu, ratio)
            met = "wall {}, CPU {}".format(*verdicts)
        else:
            target, met = "—", "—"
        rows.append(
            [
                f"`{name}`",
                f"{wall:.2f} s",
                f"{wall / base:.2f}",
                f"{cpu:.2f} s",
                f"{cpu / base_cpu:.2f}",
                f"{rss:.0f} MB",
                target,
                met,
            ]
        )
    table = harness.markdown_table(
        ["command", "wall", "x report", "CPU", "x report", "peak RSS", "target", ""], rows
    )
    command = shlex.join(["bench/section8.py", *(argv if argv is not None else sys.argv[1:])])
    body = "\n".join(
        [
            f"Measured {harness.today()} by `.venv/bin/python {command}`: scale 1, SQLite, "
            f"{args.runs} rounds; load average {load_before} before, {load_after} after.",
            "",
            *(f"- {fact}" for fact in harness.machine_facts()),
            "",
            table,
        ]
    )
    print(body)
    if not args.no_write:
        harness.replace_section("section8", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
