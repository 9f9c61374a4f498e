"""How a finished report is stored: Arrow IPC or Parquet, by size and time.

    .venv/bin/python bench/report_storage.py sqlite:///../bench-data/s1.db sqlite:///../bench-data/s10.db

Each URL is a loaded database (``bench/core.py`` leaves them under
``../bench-data``; ``storemon ingest`` makes one from any data set). The
report is computed once per database, then each candidate encoding of its
frame is timed: encode (what the job pays once) and decode, the median of
``--runs``. Then each download format is timed from the stored bytes
(decode and render, what every download pays). Prints two Markdown tables.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq

from storemon.data.snapshot import reader_for
from storemon.reports.frame import decode_frame, encode_frame, uptime_frame
from storemon.reports.rendering import FORMATS, render
from storemon.reports.service import ReportRequest, build_report


def _ipc(
    compression: str | None,
) -> tuple[Callable[[pa.Table], bytes], Callable[[bytes], pa.Table]]:
    def encode(frame: pa.Table) -> bytes:
        sink = io.BytesIO()
        options = pa.ipc.IpcWriteOptions(compression=compression)
        with pa.ipc.new_file(sink, frame.schema, options=options) as writer:
            writer.write_table(frame)
        return sink.getvalue()

    def decode(data: bytes) -> pa.Table:
        return pa.ipc.open_file(pa.py_buffer(data)).read_all()

    return encode, decode


def _parquet(compression: str) -> tuple[Callable[[pa.Table], bytes], Callable[[bytes], pa.Table]]:
    def encode(frame: pa.Table) -> bytes:
        sink = io.BytesIO()
        pq.write_table(frame, sink, compression=compression)
        return sink.getvalue()

    def decode(data: bytes) -> pa.Table:
        return pq.read_table(pa.BufferReader(data))

    return encode, decode


CANDIDATES = {
    "Arrow IPC": _ipc(None),
    "Arrow IPC, lz4": _ipc("lz4"),
    "Arrow IPC, zstd": _ipc("zstd"),
    "Parquet, snappy": _parquet("snappy"),
    "Parquet, zstd": _parquet("zstd"),
}


def _median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("urls", nargs="+", help="loaded databases (SQLAlchemy URLs)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--render-runs", type=int, default=3)
    args = parser.parse_args(argv)
    frames = []
    for url in args.urls:
        request = ReportRequest()
        frames.append(uptime_frame(build_report(reader_for(url), request).report, request))
    print("| rows | encoding | bytes | encode ms | decode ms |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for frame in frames:
        rows = f"{frame.num_rows:,}"
        for name, (encode, decode) in CANDIDATES.items():
            data = encode(frame)
            assert decode(data).equals(frame)
            encode_ms = _median_ms(partial(encode, frame), args.runs)
            decode_ms = _median_ms(partial(decode, data), args.runs)
            print(f"| {rows} | {name} | {len(data):,} | {encode_ms:.1f} | {decode_ms:.1f} |")
    print()
    print("| rows | download | bytes | ms (decode + render) |")
    print("| ---: | --- | ---: | ---: |")
    for frame in frames:
        stored = encode_frame(frame)
        for fmt in FORMATS:

            def download(fmt: str = fmt, stored: bytes = stored) -> bytes:
                return render(decode_frame(stored), fmt)  # type: ignore[arg-type]

            size = len(download())
            ms = _median_ms(download, args.render_runs)
            print(f"| {frame.num_rows:,} | {fmt} | {size:,} | {ms:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
