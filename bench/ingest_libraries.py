"""Library readers against storemon's own, on the full-scale status feed.

    .venv/bin/python bench/ingest_libraries.py [--data-dir ../bench-data] [--runs 3]

Two questions, each measured in a child process of its own (wall time of the
work after imports, and peak RSS from ``os.wait4``):

- CSV framing: ``storemon.ingest.reader.read_records`` (chunks with physical
  line numbers and rejects) against ``pyarrow.csv.open_csv`` (streaming, with
  an ``invalid_row_handler``) and polars' streaming engine
  (``scan_csv`` + ``collect_batches``; ``read_csv_batched`` left polars 2), all reading the three
  status columns as strings in blocks of 16 MiB. ``pl.read_csv`` of the whole
  file is the floor (no bounded memory, no rejects).
- Timestamps: ``storemon.ingest.timestamps.timestamps_us`` against polars
  (a regular expression for the accepted forms, then ``strptime``: what the
  feed's rules take with a library) and, as best cases that do not meet the
  rules, polars ``strptime`` of the one format the file happens to use and
  Arrow's ISO 8601 cast (which fails the whole column on one bad value).

The data set is the shared ``make_dataset.py`` output in ``<data-dir>/s1``.
Prints a Markdown table; docs/performance.md quotes it by hand.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import harness

BLOCK_BYTES = 16 * 1024 * 1024
COLUMNS = ["store_id", "status", "timestamp_utc"]

#: The accepted timestamp forms (SPEC section 1) as one expression, for the
#: polars candidate; ``[0-9]``, not ``\d``, which would match any Unicode digit.
TIMESTAMP_PATTERN = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,6})?"
    r"(?:( [Uu][Tt][Cc]|[Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?$"
)


# --- candidates (run in the child) ----------------------------------------------


def frame_storemon(path: Path) -> int:
    from storemon.ingest.reader import read_records

    def select(header: list[str]) -> dict[str, int]:
        return {name: header.index(name) for name in COLUMNS}

    return sum(c.fields.height for c in read_records(path, select, chunk_bytes=BLOCK_BYTES))


def frame_pyarrow(path: Path) -> int:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    skipped = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        skipped.append((row.number, row.text))
        return "skip"

    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
        parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.string() for name in COLUMNS},
            include_columns=COLUMNS,
            strings_can_be_null=False,
        ),
    )
    return sum(batch.num_rows for batch in reader)


def frame_polars_streaming(path: Path) -> int:
    import polars as pl

    # read_csv_batched is gone from polars 2; the streaming engine replaces it.
    lazy = pl.scan_csv(path, infer_schema=False).select(COLUMNS)
    return sum(batch.height for batch in lazy.collect_batches(chunk_size=200_000))


def frame_polars_whole(path: Path) -> int:
    import polars as pl

    return pl.read_csv(path, columns=COLUMNS, infer_schema=False).height


def _timestamp_column(path: Path) -> object:
    import polars as pl

    return pl.read_csv(path, columns=["timestamp_utc"], infer_schema=False)["timestamp_utc"]


def parse_storemon(column: object) -> int:
    from storemon.ingest.timestamps import timestamps_us

    return timestamps_us(column).null_count()  # type: ignore[arg-type]


def polars_rules_us(column: object) -> object:
    """Epoch µs by the feed's rules with polars: the accepted forms as one
    expression, then ``strptime`` and the offset."""
    import polars as pl

    frame = column.to_frame("t").select(  # type: ignore[attr-defined]
        pl.col("t").str.strip_chars().str.extract_groups(TIMESTAMP_PATTERN).alias("g")
    )
    parts = pl.col("g").struct
    naive = pl.concat_str(
        [parts.field("1"), pl.lit(" "), parts.field("2"), parts.field("3").fill_null("")]
    ).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    hours = parts.field("6").cast(pl.Int64).fill_null(0)
    minutes = parts.field("7").cast(pl.Int64).fill_null(0)
    sign = pl.when(parts.field("5") == "-").then(-1).otherwise(1)
    value = pl.when((hours <= 23) & (minutes <= 59)).then(
        naive.cast(pl.Int64) - sign * (hours * 3600 + minutes * 60) * 1_000_000
    )
    return frame.select(value).to_series()


def parse_polars_rules(column: object) -> int:
    return polars_rules_us(column).null_count()  # type: ignore[attr-defined]


def parse_polars_one_format(column: object) -> int:
    import polars as pl

    parsed = column.str.strptime(  # type: ignore[attr-defined]
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f UTC", strict=False
    )
    return int(parsed.null_count())


def parse_arrow_iso_cast(column: object) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.replace_substring(column.to_arrow(), " UTC", "")  # type: ignore[attr-defined]
    return int(pc.cast(text, pa.timestamp("us")).null_count)


FRAMERS = {
    "storemon reader": frame_storemon,
    "pyarrow open_csv": frame_pyarrow,
    "polars scan_csv + collect_batches": frame_polars_streaming,
    "polars read_csv, whole file": frame_polars_whole,
}
PARSERS = {
    "storemon timestamps_us": parse_storemon,
    "polars regex + strptime (the feed's rules)": parse_polars_rules,
    "polars strptime, one format only": parse_polars_one_format,
    "Arrow ISO 8601 cast, one format only": parse_arrow_iso_cast,
}


def child(kind: str, name: str, path: Path) -> None:
    if kind == "frame":
        started = time.perf_counter()
        result = FRAMERS[name](path)
    else:
        column = _timestamp_column(path)
        started = time.perf_counter()
        result = PARSERS[name](column)
    print(f"{time.perf_counter() - started:.4f} {result}")


# --- what each reader does with the feed's rules -------------------------------

#: A small file with every shape the feed rules name (docs/rules.md,
#: "Ingestion"): a BOM, a blank line, a quoted newline, a row with an extra
#: trailing field (loads), a short row (a reject on line 7), and a row after it.
PROBE = (
    b"\xef\xbb\xbfstore_id,status,timestamp_utc\n"
    b"\n"
    b"a,active,2023-01-25 10:00:00\n"
    b'"b\nc",active,2023-01-25 11:00:00\n'
    b"d,active,2023-01-25 12:00:00,extra\n"
    b"short,active\n"
    b"e,active,2023-01-25 13:00:00\n"
)
PROBE_REJECT = (7, "short,active")


def probe_storemon() -> tuple[list[str], list[tuple[int | None, str]], list[int] | None]:
    import io

    from storemon.ingest.reader import read_records

    chunks = list(
        read_records(io.BytesIO(PROBE), lambda header: {n: header.index(n) for n in COLUMNS})
    )
    fields = [c.fields for c in chunks]
    loaded = [v for f in fields for v in f["store_id"].to_list()]
    lines = [v for f in fields for v in f["line"].to_list()]
    rejects = [(line, raw) for c in chunks for line, _, raw in c.rejects.rows()]
    return loaded, rejects, lines


def probe_pyarrow() -> tuple[list[str], list[tuple[int | None, str]], list[int] | None]:
    import io

    import pyarrow as pa
    import pyarrow.csv as pcsv

    rejects: list[tuple[int | None, str]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        rejects.append((row.number, row.text))
        return "skip"

    table = pcsv.read_csv(
        io.BytesIO(PROBE),
        read_options=pcsv.ReadOptions(use_threads=False),
        parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in COLUMNS}),
    )
    return table["store_id"].to_pylist(), rejects, None


def probe_polars() -> tuple[list[str], list[tuple[int | None, str]], list[int] | None]:
    import io

    import polars as pl

    try:
        frame = pl.read_csv(io.BytesIO(PROBE), infer_schema=False)
    except pl.exceptions.PolarsError:
        # The only way past the extra field: truncate ragged rows, which also
        # pads the short one with nulls instead of reporting it.
        frame = pl.read_csv(io.BytesIO(PROBE), infer_schema=False, truncate_ragged_lines=True)
    return [v for v in frame["store_id"].to_list() if v is not None], [], None


PROBES = {
    "storemon reader": probe_storemon,
    "pyarrow open_csv": probe_pyarrow,
    "polars": probe_polars,
}


#: Texts where a library's reading of a timestamp could differ from the rules.
TRICKY_TIMESTAMPS = [
    "2023-01-25 23:59:60",  # no leap seconds
    "2023-01-25 18:13:22.1234567",  # at most 6 fraction digits
    "2023-02-29 00:00:00",
    "2023-01-25T18:13:22+24:00",
    "2023-01-25t18:13:22z",
    "2023-01-25 18:13:22 utc",
    "\uff12\uff10\uff12\uff13-01-25 18:13:22",  # full-width digits
]


def requirements() -> None:
    import polars as pl

    from storemon.ingest.timestamps import timestamps_us

    texts = pl.Series("t", TRICKY_TIMESTAMPS, dtype=pl.String)
    ours = timestamps_us(texts).to_list()
    theirs = polars_rules_us(texts).to_list()  # type: ignore[attr-defined]
    differ = [t for t, a, b in zip(TRICKY_TIMESTAMPS, ours, theirs, strict=True) if a != b]
    print(f"polars regex + strptime differs from the rules on: {differ}\n")
    print("| reader | extra field row loads | short row rejected with its line | ", end="")
    print("lines of valid rows | loaded |")
    print("| --- | --- | --- | --- | --- |")
    for name, probe in PROBES.items():
        loaded, rejects, lines = probe()
        extra = "yes" if "d" in loaded else "no (skipped)"
        short = "yes" if PROBE_REJECT in rejects else f"no {rejects or '(loaded)'}"
        numbered = "no" if lines is None else str(lines)
        print(f"| {name} | {extra} | {short} | {numbered} | {loaded} |")
    print()


# --- the parent -----------------------------------------------------------------


def measure(kind: str, name: str, path: Path, runs: int) -> tuple[float, float, str]:
    walls, peaks, results = [], [], []
    for _ in range(runs):
        run = harness.run_measured(
            [sys.executable, __file__, "--child", kind, name, str(path)], cwd=harness.REPO
        )
        if run.stderr.strip():
            raise harness.ChildFailed(f"{name}: {run.stderr.strip()}")
        wall, result = run.stdout.split()
        walls.append(float(wall))
        peaks.append(run.peak_rss_mb)
        results.append(result)
    return statistics.median(walls), max(peaks), results[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=harness.DEFAULT_DATA_DIR)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requirements-only", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "NAME", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        kind, name, path = args.child
        child(kind, name, Path(path))
        return
    if args.requirements_only:
        requirements()
        return
    path = args.data_dir / "s1" / harness.FEED_FILES["status"]
    if not path.is_file():
        sys.exit(f"{path} is missing: make it with make_dataset.py (see docs/performance.md)")
    requirements()
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB), median of {args.runs} runs\n")
    print("| step | candidate | time (s) | peak RSS (MB) | rows / nulls |")
    print("| --- | --- | --- | --- | --- |")
    for kind, candidates in (("frame", FRAMERS), ("parse", PARSERS)):
        step = "CSV to string columns" if kind == "frame" else "timestamps to µs"
        for name in candidates:
            wall, peak, result = measure(kind, name, path, args.runs)
            print(f"| {step} | {name} | {wall:.2f} | {peak:.0f} | {result} |", flush=True)


if __name__ == "__main__":
    main()
