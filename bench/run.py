"""Benchmark: Pledge Tracker against Datasette on the same 100,000-commitment SQLite file.

Run from the repository root with the app's virtualenv (Datasette lives in its
own, bench/.venv — it is a yardstick, not a dependency of the app):

    python3 -m venv bench/.venv && bench/.venv/bin/pip install 'datasette==0.65.5'
    .venv/bin/python bench/run.py                 # builds bench/bench.db if missing
    .venv/bin/python bench/run.py --rebuild --commitments 100000 --runs 15

It prints one Markdown table: for each page, the median and spread (min–max)
of the wall-clock time of sequential requests to each server, and the ratio
Pledge Tracker / Datasette measured in the same run, plus `sqlite3 -csv` on
the same query as the floor for the CSV export. The first (cold) request of
each page is shown separately and not included in the median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PT_PORT = 8150
DS_PORT = 8151

# (label, Pledge Tracker path, Datasette path). Datasette pages are its own
# equivalents: the table page (50 rows, like ours), with facets, its FTS
# search with a filter, a row page, and its streamed full CSV.
PAGES = [
    ("first list page", "/commitments", "/bench/commitments?_size=50"),
    (
        "list with facet counts",
        "/commitments",
        "/bench/commitments?_size=50&_facet=status&_facet=kind",
    ),
    (
        "filtered full-text search",
        "/commitments?q=border+security&status=in_progress",
        "/bench/commitments?_search=border+security&status=in_progress&_size=50",
    ),
    ("detail page", "/commitments/5000", "/bench/commitments/5000"),
]
CSV_PAGE = (
    "full commitments CSV",
    "/commitments.csv",
    "/bench/commitments.csv?_stream=on&_size=max",
)
FLOOR_SQL = (
    "SELECT id, title, kind, status, announced_on, announced_precision, deadline_text, "
    "deadline_end_on, deadline_precision, next_review_on FROM commitments "
    "WHERE deleted_at IS NULL AND state = 'published' ORDER BY announced_on DESC, id DESC"
)


def build(db: Path, commitments: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    started = time.monotonic()
    subprocess.run(
        [str(ROOT / ".venv/bin/pledges"), "demo", "synth", "--commitments", str(commitments)],
        env=env,
        check=True,
    )
    print(f"built {db.name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    # Fold the WAL into the main file so both servers read the same pages.
    subprocess.run(["sqlite3", str(db), "PRAGMA wal_checkpoint(TRUNCATE);"], check=True)


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server at {url} did not start")


def timed_get(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    with client.stream("GET", url) as response:
        for _ in response.iter_bytes():
            pass
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return time.perf_counter() - started


def measure(url: str, runs: int) -> tuple[float, list[float]]:
    with httpx.Client(timeout=600) as client:
        first = timed_get(client, url)
        times = [timed_get(client, url) for _ in range(runs)]
    return first, times


def rss_mb(pid: int) -> tuple[float, float, float]:
    """Resident memory of a process and its children in MB: now, peak, and now without
    file-backed pages (the memory-mapped database file counts in RSS but is page cache)."""
    current = peak = anon = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                current += int(line.split()[1]) / 1024
            if line.startswith("VmHWM:"):
                peak += int(line.split()[1]) / 1024
            if line.startswith("RssAnon:"):
                anon += int(line.split()[1]) / 1024
    return current, peak, anon


def fmt(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"{statistics.median(ms):.1f} ({min(ms):.1f}–{max(ms):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--csv-runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--db", type=Path, default=BENCH / "bench.db")
    parser.add_argument(
        "--only",
        metavar="WORD",
        help="measure only the pages whose label contains WORD (e.g. --only csv)",
    )
    args = parser.parse_args()

    datasette = BENCH / ".venv/bin/datasette"
    if not datasette.exists():
        raise SystemExit(
            "Datasette is not installed: python3 -m venv bench/.venv && "
            "bench/.venv/bin/pip install 'datasette==0.65.5'"
        )
    if args.rebuild or not args.db.exists():
        build(args.db, args.commitments)

    metadata = BENCH / "datasette-metadata.json"
    metadata.write_text(
        json.dumps(
            {
                "databases": {
                    "bench": {
                        "tables": {"commitments": {"fts_table": "commitments_fts", "fts_pk": "id"}}
                    }
                }
            }
        )
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{args.db}",
        "PLEDGES_DATA_DIR": str(BENCH),
    }
    pt = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/pledges"),
            "serve",
            "--port",
            str(PT_PORT),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ds = subprocess.Popen(
        [
            str(datasette),
            "serve",
            str(args.db),
            "-h",
            "127.0.0.1",
            "-p",
            str(DS_PORT),
            "--metadata",
            str(metadata),
            # Let Datasette finish every page instead of timing out at 1 s.
            "--setting",
            "sql_time_limit_ms",
            "60000",
            "--setting",
            "facet_time_limit_ms",
            "60000",
            "--setting",
            "max_returned_rows",
            "1000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{PT_PORT}/healthz")
        wait_for(f"http://127.0.0.1:{DS_PORT}/-/versions.json")
        versions = httpx.get(f"http://127.0.0.1:{DS_PORT}/-/versions.json").json()
        rows = []
        pages = [
            page
            for page in [*PAGES, CSV_PAGE]
            if not args.only or args.only.lower() in page[0].lower()
        ]
        for label, pt_path, ds_path in pages:
            runs = args.csv_runs if label == CSV_PAGE[0] else args.runs
            pt_first, pt_times = measure(f"http://127.0.0.1:{PT_PORT}{pt_path}", runs)
            ds_first, ds_times = measure(f"http://127.0.0.1:{DS_PORT}{ds_path}", runs)
            ratio = statistics.median(pt_times) / statistics.median(ds_times)
            rows.append(
                f"| {label} | {fmt(pt_times)} | {pt_first * 1000:.0f} | {fmt(ds_times)} "
                f"| {ds_first * 1000:.0f} | {ratio:.2f} |"
            )
        floor = []
        for _ in range(args.csv_runs):
            started = time.perf_counter()
            subprocess.run(
                ["sqlite3", "-csv", "-header", str(args.db), FLOOR_SQL],
                stdout=subprocess.DEVNULL,
                check=True,
            )
            floor.append(time.perf_counter() - started)
        pt_mem, pt_peak, pt_anon = rss_mb(pt.pid)
        ds_mem, ds_peak, ds_anon = rss_mb(ds.pid)
    finally:
        for process in (pt, ds):
            process.send_signal(signal.SIGINT)
        for process in (pt, ds):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    print(
        f"\n{args.commitments:,} commitments, {args.runs} timed runs per page "
        f"({args.csv_runs} for CSV) after one cold request; times in ms, median (min–max).\n"
        f"Datasette {versions.get('datasette', {}).get('version', '?')}, "
        f"SQLite {versions.get('sqlite', {}).get('version', '?')}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average at the end {os.getloadavg()[0]:.1f}.\n"
    )
    print(
        "| page | Pledge Tracker | PT cold | Datasette | DS cold | ratio PT/DS |\n"
        "|---|---|---|---|---|---|"
    )
    print("\n".join(rows))
    print(f"| `sqlite3 -csv` floor (same rows, plain columns) | {fmt(floor)} | | | | |")
    print(
        f"\nServer memory, RSS now / peak / anonymous (RSS without the mapped database file): "
        f"Pledge Tracker {pt_mem:.0f} / {pt_peak:.0f} / {pt_anon:.0f} MB, "
        f"Datasette {ds_mem:.0f} / {ds_peak:.0f} / {ds_anon:.0f} MB."
    )
    if shutil.which("sqlite3") is None:  # pragma: no cover - the floor needs the shell
        print("sqlite3 shell not found", file=sys.stderr)


if __name__ == "__main__":
    main()
