"""What the benchmark scripts share: timing a child process, the machine they
ran on, PostgreSQL scratch databases, and the marked sections of
docs/performance.md they rewrite.

Standard library only (plus psycopg for PostgreSQL, which storemon already
depends on), so the scripts run with the project's own interpreter:
``.venv/bin/python bench/core.py``.
"""

from __future__ import annotations

import os
import platform
import re
import secrets
import shlex
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERFORMANCE_DOC = REPO / "docs" / "performance.md"
STOREMON = REPO / ".venv" / "bin" / "storemon"
#: Generated data sets and scratch databases live outside the repository.
DEFAULT_DATA_DIR = (REPO / ".." / "bench-data").resolve()
DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/postgres"
FEED_FILES = {"status": "store_status.csv", "hours": "menu_hours.csv", "timezones": "timezones.csv"}
#: The generator of the published figures, where the project's checkout has it.
SHARED_MAKE_DATASET = (REPO / ".." / "shared" / "bench" / "make_dataset.py").resolve()
#: Written into a data set's folder: the command that made it.
ORIGIN_FILE = "made-by.txt"


# --- one measured child process ------------------------------------------------


@dataclass(frozen=True)
class Run:
    wall_s: float
    #: Peak resident set of the child (and of any children it waited for).
    peak_rss_mb: float
    stdout: str
    stderr: str
    #: CPU time of the child (user + system): what a busy machine inflates
    #: least, as waiting for a core does not count.
    cpu_s: float = 0.0


class ChildFailed(RuntimeError):
    pass


def run_measured(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout_s: float = 1800,
) -> Run:
    """Run ``argv`` to completion: wall time from just before the fork to the
    reaped exit, and the child's peak RSS from ``os.wait4``."""
    out_path = (
        Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{os.getpid()}-{secrets.token_hex(4)}"
    )
    with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
        started = time.perf_counter()
        child = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=err, env=env, cwd=cwd)
        # A blocking wait4 notices the exit at once; the timer only guards
        # against a child that never ends.
        guard = threading.Timer(timeout_s, child.kill)
        guard.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            guard.cancel()
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    for suffix in (".out", ".err"):
        os.unlink(f"{out_path}{suffix}")
    if child.returncode != 0:
        command = " ".join(str(a) for a in argv)
        raise ChildFailed(
            f"{command} exited {child.returncode} after {wall:.1f} s: {stderr.strip()[-2000:]}"
        )
    # Linux reports ru_maxrss in KiB.
    return Run(wall, usage.ru_maxrss / 1024, stdout, stderr, usage.ru_utime + usage.ru_stime)


@dataclass(frozen=True)
class Summary:
    runs: tuple[Run, ...]

    @property
    def wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def wall_range(self) -> tuple[float, float]:
        return min(r.wall_s for r in self.runs), max(r.wall_s for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        """The largest peak of all runs: memory limits are about the worst case."""
        return max(r.peak_rss_mb for r in self.runs)


# --- the machine ---------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def source_revision() -> str:
    """The commit checked out (read from .git, no git command), and whether
    the tree had changes (git status)."""
    head = REPO / ".git" / "HEAD"
    try:
        text = head.read_text().strip()
        if text.startswith("ref: "):
            ref = text[5:]
            ref_file = REPO / ".git" / ref
            if ref_file.exists():
                text = ref_file.read_text().strip()
            else:
                packed = (REPO / ".git" / "packed-refs").read_text()
                text = next(
                    line.split()[0] for line in packed.splitlines() if line.endswith(" " + ref)
                )
    except (OSError, StopIteration):
        return "unknown"
    try:
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        changes = ""
    return text[:10] + (" + uncommitted changes in src/" if changes else "")


def ingest_argv(storemon: Path, url: str, files: dict[str, Path]) -> list[str | Path]:
    """``storemon ingest`` of the three feeds of a data set into ``url``."""
    return [
        storemon,
        "--db",
        url,
        "ingest",
        "--status",
        files["status"],
        "--hours",
        files["hours"],
        "--timezones",
        files["timezones"],
    ]


def machine_facts() -> list[str]:
    """Bullet lines describing where the figures come from."""
    return [
        f"{os.cpu_count()} CPUs (`nproc`), {cpu_model()}, {ram_gib():.1f} GiB RAM",
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"storemon at {source_revision()}",
    ]


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def wait_for_quiet_machine(max_load: float | None, max_wait_s: float) -> None:
    """Wait until the 1-minute load average is below ``max_load`` (other
    work on a 2-core machine skews every figure)."""
    if max_load is None:
        return
    deadline = time.monotonic() + max_wait_s
    while os.getloadavg()[0] >= max_load:
        if time.monotonic() > deadline:
            print(
                f"# load average still {load_average()} after {max_wait_s:.0f} s; measuring anyway",
                flush=True,
            )
            return
        print(f"# load average {load_average()} >= {max_load}; waiting", flush=True)
        time.sleep(30)


# --- data sets -----------------------------------------------------------------


def dataset_files(folder: Path) -> dict[str, Path]:
    return {feed: folder / name for feed, name in FEED_FILES.items()}


def dataset_generator(make_dataset: Path, storemon: Path) -> list[str]:
    """The command that writes a data set, run as ``COMMAND OUT_DIR --scale K``.

    ``make_dataset`` (the project's shared generator, beside the repository in
    the project's own checkout) when it is there: the figures in
    docs/performance.md come from it. Otherwise ``storemon sample``, which
    ships with the package, so a fresh clone runs too. Both write the three
    feeds from the real public hours and timezones with ~1.85M synthetic polls
    per scale, but not the same rows: figures from the two are close, not
    comparable digit for digit.
    """
    if make_dataset.is_file():
        return [os.environ.get("PYTHON", "python3"), str(make_dataset)]
    return [str(storemon), "sample"]


def ensure_dataset(generator: Sequence[str], folder: Path, scale: int) -> dict[str, Path]:
    """The data set of ``scale`` in ``folder``, made by ``generator`` (see
    ``dataset_generator``) if it is not there yet.

    A new set is written next to ``folder`` and renamed into place once
    complete, so an interrupted run never leaves a half set to be reused.
    """
    files = dataset_files(folder)
    if all(path.is_file() for path in files.values()):
        return files
    if folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder} exists but is not a complete data set; remove it first")
    partial = folder.with_name(folder.name + ".partial")
    command = [*generator, str(partial), "--scale", str(scale)]
    print(f"# making the scale-{scale} data set: {shlex.join(command)} (minutes)", flush=True)
    subprocess.run(command, check=True)
    origin = " ".join(Path(part).name for part in generator)  # "storemon sample"
    (partial / ORIGIN_FILE).write_text(origin + "\n", encoding="utf-8")
    if folder.exists():
        folder.rmdir()
    partial.rename(folder)
    return files


def dataset_origin(folder: Path) -> str:
    """What made the data set in ``folder``, as recorded when it was made."""
    origin = folder / ORIGIN_FILE
    return origin.read_text(encoding="utf-8").strip() if origin.is_file() else "not recorded"


def warm_page_cache(paths: Sequence[Path]) -> None:
    """Read the files once, so every run finds them in memory."""
    for path in paths:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


# --- PostgreSQL scratch databases ----------------------------------------------


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def scratch_postgresql(admin_url: str, label: str) -> Iterator[str]:
    """A new, empty database (URL yielded), dropped afterwards."""
    import psycopg

    name = f"storemon_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgresql_version(admin_url: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


# --- docs/performance.md ---------------------------------------------------------


DOC_SKELETON = """# Performance

Figures from the scripts in `bench/`; each table is rewritten by the script
named in its marker comments. Nothing else in this page is generated.

"""


def replace_section(name: str, body: str, doc: Path = PERFORMANCE_DOC) -> None:
    """Put ``body`` between ``<!-- bench:NAME:begin -->`` and
    ``<!-- bench:NAME:end -->`` in ``doc``, appending the markers if absent."""
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    text = doc.read_text() if doc.exists() else DOC_SKELETON
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(value: float, limit: float | None, unit: str) -> str:
    """``met`` or ``missed by X`` against an upper limit."""
    if limit is None:
        return "—"
    if value <= limit:
        return "met"
    over = value - limit
    return f"**missed** by {over:.{2 if unit == 's' else 0}f} {unit} ({value / limit - 1:+.0%})"
