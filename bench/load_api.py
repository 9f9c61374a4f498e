"""The HTTP API under load: `storemon serve` on 127.0.0.1 with the scale-1 set.

    .venv/bin/python bench/load_api.py                  # writes docs/performance.md
    .venv/bin/python bench/load_api.py --no-write --duration 3

The script loads the data set into a new SQLite database (``storemon
ingest``), starts ``storemon serve`` on a free port as its own child, and
stops it at the end. Every step is bounded in count and time:

- ``GET /health``: requests per second and latency with ``--clients``
  concurrent connections for ``--duration`` seconds;
- ``POST /trigger_report``: ``--triggers`` sequential triggers, each with its
  own ``as_of`` so none is reused (the queue limit is raised for this run);
  the reports are deleted afterwards;
- the take-home flow: trigger, poll ``GET /get_report`` every 10 ms until the
  CSV arrives (median of 3);
- ``GET /get_report`` latency with ``--clients`` connections while reports
  are computed: reports are queued and the newest one's id is polled, so its
  answer stays ``{"status": "Running"}`` for the whole run (checked), once
  back to back (the server saturated: latency is then about clients divided
  by throughput) and once with each client pausing ``--pace-ms`` between
  requests (a load the server can keep up with);
- ``POST /polls``: a JSON batch of 10,000 new polls (median of 3).

Concurrent load comes from ``wrk`` (Debian: ``apt-get install wrk``), one
thread, so on a 2-core machine the server keeps a core; without wrk an
asyncio httpx generator is used instead, which costs far more CPU per request
and reads lower.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import harness
import httpx

#: The README / issue targets.
TARGETS = {
    "trigger_ms": 50.0,
    "trigger_to_csv_s": 2.0,
    "get_report_p99_ms": 25.0,
    "health_rps": 1500.0,
    "polls_10k_s": 0.3,
}
CSV_HEADER = b"store_id,uptime_last_hour,"
#: The newest poll of the data sets is 2023-01-25 18:13:22.47922; every as_of
#: below is a different minute before it.
AS_OF_BASE = "2023-01-25 {hour:02d}:{minute:02d}:00"

WRK_STATUS_SCRIPT = r"""
-- Counts the X-Report-Status header of every answer, per wrk thread.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) seen = {}; pause = tonumber(args[1] or "0") end
function response(status, headers, body)
  local s = headers["x-report-status"] or headers["X-Report-Status"] or ("http-" .. status)
  seen[s] = (seen[s] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("seen")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("STATUS %s %d\n", k, v)) end
end
"""


def as_of(i: int) -> str:
    minutes = 17 * 60 - i  # 17:00 and earlier: all before the newest poll
    return AS_OF_BASE.format(hour=minutes // 60, minute=minutes % 60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the server --------------------------------------------------------------------


@contextmanager
def server(storemon: Path, url: str, port: int, log: Path) -> Iterator[tuple[str, int]]:
    """``storemon serve`` in its own process group; stopped (SIGINT, then
    SIGKILL after 20 s) on the way out."""
    env = {**os.environ, "STOREMON_QUEUE_LIMIT": "200"}
    env.pop("STOREMON_API_KEY", None)
    with open(log, "wb") as out:
        child = subprocess.Popen(
            [str(storemon), "--db", url, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None:
                raise SystemExit(f"storemon serve exited {child.returncode}; see {log}")
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"storemon serve did not get ready in 60 s; see {log}")
            time.sleep(0.2)
        yield base, child.pid
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGINT)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=10)


# --- concurrent load -------------------------------------------------------------------


@dataclass
class Load:
    generator: str
    requests: int
    rps: float
    #: Percentile -> milliseconds.
    latency_ms: dict[str, float]
    errors: str = ""
    statuses: dict[str, int] = field(default_factory=dict)
    #: Share of the server's event-loop thread per part, when profiled.
    profile: dict[str, float] = field(default_factory=dict)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(
    binary: str,
    url: str,
    clients: int,
    duration: float,
    threads: int,
    count_statuses: bool,
    pace_ms: int,
) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_STATUS_SCRIPT)
        if pace_ms:
            # Each connection waits this long after an answer before asking again.
            script.write("function delay() return pause end\n")
    argv = [
        binary,
        f"-t{threads}",
        f"-c{clients}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if count_statuses or pace_ms:
        argv += ["-s", script.name]
    try:
        out = subprocess.run(
            [*argv, url, "--", str(pace_ms)],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    latency = {
        m[1] + "%": _ms(m[2]) for m in re.finditer(r"^\s+(\d+(?:\.\d+)?)%\s+(\S+)$", out, re.M)
    }
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    errors = "; ".join(
        m[0].strip() for m in re.finditer(r"^\s*(Socket errors|Non-2xx).*$", out, re.M)
    )
    statuses = {m[1]: int(m[2]) for m in re.finditer(r"^STATUS (\S+) (\d+)$", out, re.M)}
    stats = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    if stats:
        latency["max"] = _ms(stats[3])
    return Load(f"wrk 4, {threads} thread", requests, rps, latency, errors, statuses)


def httpx_load(url: str, clients: int, duration: float, pace_ms: int) -> Load:
    """The fallback generator: ``clients`` asyncio tasks, one connection each."""

    async def run() -> tuple[list[float], dict[str, int], int]:
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        errors = 0
        stop = time.perf_counter() + duration
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=5) as client:

            async def one_client() -> None:
                nonlocal errors
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    try:
                        response = await client.get(url)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append(time.perf_counter() - started)
                    key = response.headers.get("x-report-status", f"http-{response.status_code}")
                    statuses[key] = statuses.get(key, 0) + 1
                    if pace_ms:
                        await asyncio.sleep(pace_ms / 1000)

            await asyncio.gather(*(one_client() for _ in range(clients)))
        return latencies, statuses, errors

    started = time.perf_counter()
    latencies, statuses, errors = asyncio.run(run())
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = {f"{p}%": percentile(latencies, p) * 1e3 for p in (50, 75, 90, 99)}
    pick["max"] = latencies[-1] * 1e3
    return Load(
        "asyncio httpx",
        len(latencies),
        len(latencies) / elapsed,
        pick,
        f"{errors} errors" if errors else "",
        statuses,
    )


def concurrent_load(
    args: argparse.Namespace, url: str, count_statuses: bool = False, pace_ms: int = 0
) -> Load:
    """``args.clients`` connections for ``args.duration`` seconds, each asking
    again as soon as it has its answer (or ``pace_ms`` after it)."""
    if args.wrk:
        return wrk(
            args.wrk, url, args.clients, args.duration, args.wrk_threads, count_statuses, pace_ms
        )
    return httpx_load(url, args.clients, args.duration, pace_ms)


# --- the sequential steps --------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def trigger(client: httpx.Client, when: str) -> tuple[str, float]:
    started = time.perf_counter()
    response = client.post("/trigger_report", json={"as_of": when})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    body = response.json()
    if body.get("reused"):
        raise SystemExit(f"report as of {when} was reused; the measurement needs new ones")
    return body["report_id"], elapsed


def wait_complete(client: httpx.Client, report_id: str, timeout_s: float = 120) -> bytes:
    """Poll like a take-home client until the CSV arrives."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get(f"/get_report/{report_id}")
        response.raise_for_status()
        if response.headers.get("x-report-status") == "Complete":
            if not response.content.startswith(CSV_HEADER):
                raise SystemExit(f"report {report_id}: not the CSV: {response.content[:80]!r}")
            return response.content
        if response.headers.get("x-report-status") == "Failed":
            raise SystemExit(f"report {report_id} failed: {response.text}")
        time.sleep(0.01)
    raise SystemExit(f"report {report_id} not complete after {timeout_s} s")


def quiet_worker(client: httpx.Client, when: str) -> None:
    """Returns once the report worker has nothing else to do: a new report
    queued behind everything else has completed."""
    report_id, _ = trigger(client, when)
    wait_complete(client, report_id, timeout_s=600)


def poll_batch(store_ids: list[str], batch: int, size: int) -> bytes:
    """``size`` new polls, one per store, an hour after the data set's newest."""
    polls = [
        {
            "store_id": store_ids[i % len(store_ids)],
            "status": "active" if i % 7 else "inactive",
            "timestamp_utc": f"2023-01-25 19:{batch:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}417",
        }
        for i in range(size)
    ]
    return json.dumps({"polls": polls}).encode()


def store_ids(path: Path, count: int) -> list[str]:
    ids = []
    with open(path) as f:
        next(f)
        for line in f:
            ids.append(line.split(",", 1)[0])
            if len(ids) == count:
                break
    return ids


def poll_while_reports_run(
    client: httpx.Client,
    args: argparse.Namespace,
    pace_ms: int,
    first_as_of: int,
    report_s: float,
    profiler: tuple[str, int] | None = None,
) -> Load:
    """``GET /get_report/{id}`` under load while the worker computes reports;
    with ``profiler`` (py-spy, server pid) the server is profiled meanwhile."""
    print(
        f"# GET /get_report, {args.clients} clients, pause {pace_ms} ms, while reports run"
        + (", under py-spy" if profiler else ""),
        flush=True,
    )
    # Enough reports ahead of the polled one that it cannot complete during
    # the run, even with the load slowing the worker down 3x.
    ahead = min(30, 2 + math.ceil(3 * args.duration / report_s))
    running = [trigger(client, as_of(first_as_of + i))[0] for i in range(ahead + 1)]
    spy = None
    if profiler:
        raw = Path(tempfile.mkstemp(suffix=".txt")[1])
        spy = subprocess.Popen(
            [
                profiler[0],
                "record",
                "--pid",
                str(profiler[1]),
                "--rate",
                str(PROFILE_RATE),
                "--duration",
                str(math.ceil(args.duration)),
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # attached
    url = f"{str(client.base_url).rstrip('/')}/get_report/{running[-1]}"
    load = concurrent_load(args, url, count_statuses=True, pace_ms=pace_ms)
    if spy is not None:
        spy.wait(timeout=60)
        load.profile = server_profile(raw, args.duration)
        raw.unlink()
    if "Complete" in load.statuses:
        print("# warning: the report completed during the run", flush=True)
    for report_id in running:
        client.delete(f"/reports/{report_id}").raise_for_status()
    quiet_worker(client, as_of(first_as_of + 39))
    return load


PROFILE_RATE = 200
#: (part, marker in any frame): a sample of the server's event loop thread
#: belongs to the first part whose marker is on its stack.
SERVER_PARTS = [
    ("status read: SQLAlchemy + sqlite3 (`reports.get`)", "sqlalchemy/"),
    ("access log (`logging`)", "logging/__init__.py"),
    ("sending the response (uvicorn, socket write)", "RequestResponseCycle.send"),
    ("parsing the request (uvicorn, httptools)", "HttpToolsProtocol.data_received"),
]
#: The rest by the innermost frame (every request runs inside the metrics
#: middleware, so only its own frames count for it).
LEAF_PARTS = [
    (
        "metrics middleware (own code, prometheus_client)",
        ("storemon/api/metrics.py", "prometheus_client/"),
    ),
    ("storemon route code", ("storemon/",)),
]


def server_profile(raw: Path, duration: float) -> dict[str, float]:
    """Share of the event loop thread's time per part; ``idle`` is the time
    it was not busy."""
    shares: dict[str, float] = {}
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any("asyncio/runners.py" in f or "Server.run" in f for f in frames):
            continue  # the runner's management thread, anyio worker threads
        part = next((name for name, marker in SERVER_PARTS if marker in stack), None)
        if part is None:
            part = next(
                (name for name, markers in LEAF_PARTS if any(m in frames[-1] for m in markers)),
                "FastAPI / Starlette / pydantic (routing, dependencies, responses)",
            )
        shares[part] = shares.get(part, 0) + int(count)
        busy += int(count)
    total = PROFILE_RATE * duration
    result = {part: n / total for part, n in sorted(shares.items(), key=lambda kv: -kv[1])}
    result["idle (waiting for the network)"] = max(0.0, 1 - busy / total)
    return result


# --- the report ------------------------------------------------------------------------


def verdict_at_least(value: float, limit: float) -> str:
    if value >= limit:
        return "met"
    return f"**missed** by {limit - value:,.0f} req/s ({value / limit - 1:+.0%})"


def latency_text(load: Load) -> str:
    ms = load.latency_ms
    answers = ", ".join(f"{k} {v:,}" for k, v in sorted(load.statuses.items()))
    return (
        f"p99 {ms.get('99%', float('nan')):.1f} ms (p50 {ms.get('50%', 0):.1f} ms, "
        f"max {ms.get('max', 0):.0f} ms, {load.rps:,.0f} req/s; answers: {answers})"
    )


def section(
    res: dict[str, object], args: argparse.Namespace, argv: list[str], loads: tuple[str, str]
) -> str:
    health: Load = res["health"]  # type: ignore[assignment]
    polling: Load = res["get_report"]  # type: ignore[assignment]
    paced: Load = res["get_report_paced"]  # type: ignore[assignment]
    trig: list[float] = res["trigger"]  # type: ignore[assignment]
    flow: list[float] = res["flow"]  # type: ignore[assignment]
    polls: list[float] = res["polls"]  # type: ignore[assignment]
    trig_med, trig_p99 = statistics.median(trig) * 1e3, percentile(trig, 99) * 1e3
    rows = [
        [
            "`POST /trigger_report` (new report each)",
            f"median {trig_med:.1f} ms, p99 {trig_p99:.1f} ms "
            f"(max {max(trig) * 1e3:.1f} ms; {len(trig)} triggers)",
            "≤ 50 ms",
            harness.verdict(trig_p99, TARGETS["trigger_ms"], "ms"),
        ],
        [
            "trigger → CSV downloaded (`/get_report` polled every 10 ms)",
            f"median {statistics.median(flow):.2f} s ({', '.join(f'{v:.2f}' for v in flow)})",
            "≤ 2 s",
            harness.verdict(statistics.median(flow), TARGETS["trigger_to_csv_s"], "s"),
        ],
        *[
            [
                f"`GET /get_report/{{id}}` while reports run, {args.clients} clients, {how}",
                latency_text(load),
                "p99 ≤ 25 ms",
                harness.verdict(
                    load.latency_ms.get("99%", float("nan")), TARGETS["get_report_p99_ms"], "ms"
                ),
            ]
            for load, how in (
                (polling, "back to back (saturating)"),
                (paced, f"each pausing {args.pace_ms} ms between requests"),
            )
        ],
        [
            f"`GET /health`, {args.clients} clients",
            f"{health.rps:,.0f} req/s (p50 {health.latency_ms.get('50%', 0):.1f} ms, "
            f"p99 {health.latency_ms.get('99%', 0):.1f} ms)",
            "≥ 1,500 req/s",
            verdict_at_least(health.rps, TARGETS["health_rps"]),
        ],
        [
            "`POST /polls`, JSON batch of 10,000 new polls",
            f"median {statistics.median(polls):.3f} s ({', '.join(f'{v:.3f}' for v in polls)})",
            "≤ 0.3 s",
            harness.verdict(statistics.median(polls), TARGETS["polls_10k_s"], "s"),
        ],
    ]
    errors = [
        f"{name}: {load.errors}"
        for name, load in (("health", health), ("get_report", polling), ("get_report paced", paced))
        if load.errors
    ]
    command = " ".join([".venv/bin/python", "bench/load_api.py", *argv])
    lines = [
        f"Measured on {harness.today()} with `{command}` (1/5/15-minute load average before: "
        f"{loads[0]}, after: {loads[1]}).",
        "",
        *[f"- {fact}" for fact in harness.machine_facts()],
        f"- server: `storemon serve` (uvicorn, one process, in-process report runner with one "
        f"worker process, `STOREMON_QUEUE_LIMIT=200`), SQLite, the `{args.data.name}` data set",
        f"- load generator: {health.generator}, on the same 2 cores as the server "
        f"({args.duration:g} s per concurrent step); sequential steps use one httpx client",
        *(f"- errors seen: {e}" for e in errors),
        "",
        harness.markdown_table(["measurement", "result", "target", ""], rows),
    ]
    profiled: Load | None = res.get("profile")  # type: ignore[assignment]
    if profiled is not None:
        lines += [
            "",
            f"Where the server's event-loop thread spends its time under the saturating "
            f"`/get_report` load (a separate run under py-spy at {PROFILE_RATE} Hz, which slows "
            f"it: {profiled.rps:,.0f} req/s, p99 {profiled.latency_ms.get('99%', 0):.0f} ms):",
            "",
            harness.markdown_table(
                ["part", "share of the thread's time"],
                [[part, f"{share:.0%}"] for part, share in profiled.profile.items()],
            ),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        type=Path,
        default=harness.DEFAULT_DATA_DIR / "s1",
        help="folder with the three CSV files (default: the scale-1 set; made when missing)",
    )
    ap.add_argument("--storemon", type=Path, default=harness.STOREMON)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per concurrent step")
    ap.add_argument("--triggers", type=int, default=50)
    ap.add_argument(
        "--pace-ms",
        type=int,
        default=100,
        help="pause of each client between requests in the paced /get_report run",
    )
    ap.add_argument("--wrk", default=shutil.which("wrk"), help="wrk binary ('' for httpx)")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument(
        "--py-spy",
        default=None,
        help="py-spy binary: also profile the server under /get_report load",
    )
    ap.add_argument("--no-write", action="store_true", help="leave docs/performance.md alone")
    ap.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="first wait until the 1-minute load average is below this",
    )
    ap.add_argument("--max-wait", type=float, default=2400)
    args = ap.parse_args(argv)
    generator = harness.dataset_generator(harness.SHARED_MAKE_DATASET, args.storemon)
    files = harness.ensure_dataset(generator, args.data, 1)
    scratch = harness.DEFAULT_DATA_DIR / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    db = scratch / f"load-api-{os.getpid()}.db"
    url = f"sqlite:///{db}"
    res: dict[str, object] = {}
    try:
        print("# loading the data set", flush=True)
        harness.run_measured(harness.ingest_argv(args.storemon, url, files))
        batches = [poll_batch(store_ids(files["timezones"], 10_000), b, 10_000) for b in range(3)]
        harness.wait_for_quiet_machine(args.max_load, args.max_wait)
        load_before = harness.load_average()
        with (
            server(args.storemon, url, free_port(), scratch / "load-api-server.log") as (
                base,
                server_pid,
            ),
            httpx.Client(base_url=base, timeout=30) as client,
        ):
            print("# warm-up report", flush=True)
            quiet_worker(client, as_of(500))

            print(f"# GET /health, {args.clients} clients", flush=True)
            res["health"] = concurrent_load(args, f"{base}/health")

            print(f"# POST /trigger_report x {args.triggers}", flush=True)
            times, ids = [], []
            for i in range(args.triggers):
                report_id, elapsed = trigger(client, as_of(i))
                ids.append(report_id)
                times.append(elapsed)
            res["trigger"] = times
            for report_id in ids:
                client.delete(f"/reports/{report_id}").raise_for_status()
            quiet_worker(client, as_of(501))

            print("# trigger -> CSV x 3", flush=True)
            flow = []
            for i in range(3):
                started = time.perf_counter()
                report_id, _ = trigger(client, as_of(100 + i))
                wait_complete(client, report_id)
                flow.append(time.perf_counter() - started)
            res["flow"] = flow

            for name, pace_ms, first in (
                ("get_report", 0, 200),
                ("get_report_paced", args.pace_ms, 240),
            ):
                res[name] = poll_while_reports_run(
                    client, args, pace_ms, first, statistics.median(flow)
                )

            print("# POST /polls, 10,000 polls x 3", flush=True)
            polls = []
            for body in batches:
                started = time.perf_counter()
                response = client.post(
                    "/polls", content=body, headers={"content-type": "application/json"}
                )
                polls.append(time.perf_counter() - started)
                response.raise_for_status()
                if response.json().get("loaded") != 10_000:
                    raise SystemExit(f"POST /polls: {response.text[:300]}")
            res["polls"] = polls

            if args.py_spy:
                res["profile"] = poll_while_reports_run(
                    client, args, 0, 280, statistics.median(flow), (args.py_spy, server_pid)
                )
        load_after = harness.load_average()
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    text = section(res, args, argv, (load_before, load_after))
    print()
    print(text)
    if not args.no_write:
        harness.replace_section("api", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
