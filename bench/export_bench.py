# A benchmark driving local tools on its own synthetic data: subprocesses, fixed SQL,
# seeded randomness and unbounded download timeouts are all intended here.
# ruff: noqa: S113, S311, S608
"""Benchmark: CSV export and import, side by side with Datasette and `sqlite3 -csv`.

    .venv/bin/python bench/export_bench.py [--commitments 100000] [--flows 1000000]

What it does, in one run on one SQLite file:

1. builds the database with the migrations and bulk-inserts synthetic rows
   (its own quick INSERTs; no dependency on `pledges demo synth`);
2. serves it with `pledges serve` (a real uvicorn process) and downloads
   `/commitments-table.csv` and `/money-flows.csv`, sampling the server's
   resident memory (VmRSS in /proc) every 20 ms;
3. does the same against Datasette serving the same file (installed into
   `bench/.venv-datasette`, never an app dependency): `/DB/TABLE.csv?_stream=on&_size=max`;
4. times `sqlite3 -csv` dumping the same tables (the floor);
5. imports 100,000 commitments-table rows into an empty database through
   `app.services.importer` (rows/s).

Results are printed as a Markdown table; see bench/EXPORT.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DATASETTE_VENV = ROOT / "bench" / ".venv-datasette"
PORTS = {"app": 8301, "datasette": 8302}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Peak resident memory of a process (and its children) while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.start = 0
        self._stop = threading.Event()

    def __enter__(self) -> RssSampler:
        self.start = rss_kib(self.pid)
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def build_database(path: Path, commitments: int, flows: int) -> None:
    from app import db

    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    rng = random.Random(2020)
    now = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC).isoformat(sep=" ")[:19]
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO actors (id, name, kind, state, created_at, updated_at, version)"
        " VALUES (?, ?, 'government', 'published', ?, ?, 1)",
        [(i, f"Government {i}", now, now) for i in (1, 2)],
    )
    kinds = ("funding", "action", "target")
    statuses = ("not_yet_assessed", "in_progress", "delivered", "stalled")

    def commitment_rows():  # type: ignore[no-untyped-def]
        for i in range(1, commitments + 1):
            day = dt.date(2014, 1, 1) + dt.timedelta(days=rng.randrange(4000))
            yield (
                i,
                kinds[i % 3],
                f"Commitment {i}: a further €{i % 97}.{i % 10} million for Ministère n°{i}",
                f'Summary of commitment {i}, with "quotes", commas, and accents: é è ü',
                day.isoformat(),
                statuses[i % 4],
                (day + dt.timedelta(days=180)).isoformat(),
                i % 5 == 0,
                now,
                now,
            )

    con.executemany(
        "INSERT INTO commitments (id, kind, title, summary, announced_on, announced_precision,"
        " status, next_review_on, is_additional, state, published_at, created_at, updated_at,"
        " version) VALUES (?, ?, ?, ?, ?, 'day', ?, ?, ?, 'published', ?, ?, ?, 1)",
        ((*r[:-2], r[-2], r[-2], r[-1]) for r in commitment_rows()),
    )
    stages = ("pledge", "commitment", "disbursement", "expenditure")
    currencies = ("EUR", "GBP", "USD", "JPY")

    def flow_rows():  # type: ignore[no-untyped-def]
        for i in range(1, flows + 1):
            currency = currencies[i % 4]
            yield (
                i,
                1 + i % commitments,
                stages[i % 4],
                rng.randrange(1, 10**11),
                currency,
                f"about {i % 1000} million {currency}",
                (dt.date(2015, 1, 1) + dt.timedelta(days=i % 3000)).isoformat(),
                1,
                2,
                now,
                now,
            )

    con.executemany(
        "INSERT INTO money_flows (id, commitment_id, stage, amount_minor, currency, amount_text,"
        " qualifier, value_on, provider_id, receiver_id, created_at, updated_at, version)"
        " VALUES (?, ?, ?, ?, ?, ?, 'exact', ?, ?, ?, ?, ?, 1)",
        flow_rows(),
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def download(url: str, pid: int) -> dict[str, float]:
    with RssSampler(pid) as rss:
        started = time.perf_counter()
        size = rows = 0
        with httpx.stream("GET", url, timeout=None) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
                rows += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "rows": rows - 1,
        "mb": size / 1e6,
        "rss_start_mb": rss.start / 1024,
        "rss_peak_mb": rss.peak / 1024,
    }


def sqlite3_floor(path: Path, table: str) -> dict[str, float]:
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            ["sqlite3", "-csv", "-header", str(path), f"SELECT * FROM {table}"],
            stdout=sink,
            check=True,
        )
    return {"seconds": time.perf_counter() - started}


def ensure_datasette() -> Path | None:
    executable = DATASETTE_VENV / "bin" / "datasette"
    if executable.exists():
        return executable
    print("installing datasette into bench/.venv-datasette …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
    result = subprocess.run([str(DATASETTE_VENV / "bin" / "pip"), "install", "-q", "datasette"])
    return executable if result.returncode == 0 and executable.exists() else None


def bench_import(rows: int, source_db: Path, workdir: Path) -> dict[str, float]:
    """Import `rows` commitments-table rows into an empty database via the import service."""
    from app import db
    from app.services import exporter, importer, tables

    engine = db.make_engine(f"sqlite:///{source_db}")
    factory = db.make_session_factory(engine)
    with factory() as session:
        csv_text = "".join(
            exporter.csv_chunks(
                session,
                tables.COMMITMENTS,
                include_drafts=True,
                filters=None,
            )
        )
    engine.dispose()
    lines = csv_text.split("\r\n")
    data = ("\r\n".join(lines[: rows + 1]) + "\r\n").encode()
    target = workdir / "import.db"
    engine = db.make_engine(f"sqlite:///{target}")
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    started = time.perf_counter()
    with db.unit_of_work(factory) as session:
        report = importer.import_csv(session, tables.COMMITMENTS, data, label="benchmark")
    elapsed = time.perf_counter() - started
    engine.dispose()
    if not report.ok:
        raise SystemExit(f"import failed: {report.problems[:3]}")
    return {"rows": report.count("create"), "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="Keep the work directory.")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="pledges-export-bench-"))
    path = workdir / "export.db"
    t0 = time.perf_counter()
    build_database(path, args.commitments, args.flows)
    print(f"built {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    results: list[tuple[str, str, dict[str, float]]] = []
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "PLEDGES_ENV": "development"}
    app_proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "pledges"), "serve", "--port", str(PORTS["app"])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{PORTS['app']}"
        wait_for(f"{base}/healthz", app_proc)
        for label, url in (
            ("commitments", f"{base}/commitments-table.csv"),
            ("money_flows", f"{base}/money-flows.csv"),
        ):
            results.append(("Pledge Tracker", label, download(url, app_proc.pid)))
    finally:
        app_proc.terminate()
        app_proc.wait(10)

    datasette = ensure_datasette()
    if datasette is not None:
        ds_proc = subprocess.Popen(
            [str(datasette), "serve", str(path), "-h", "127.0.0.1", "-p", str(PORTS["datasette"])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{PORTS['datasette']}"
            wait_for(f"{base}/-/versions.json", ds_proc)
            for table in ("commitments", "money_flows"):
                url = f"{base}/export/{table}.csv?_stream=on&_size=max"
                results.append(("Datasette", table, download(url, ds_proc.pid)))
        finally:
            ds_proc.terminate()
            ds_proc.wait(10)

    for table in ("commitments", "money_flows"):
        floor = sqlite3_floor(path, table)
        floor["rows"] = args.commitments if table == "commitments" else args.flows
        results.append(("sqlite3 -csv", table, floor))

    imported = bench_import(args.import_rows, path, workdir)

    print("| tool | table | rows | seconds | rows/s | MB | server RSS start → peak (MB) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for tool, table, r in results:
        rss = f"{r['rss_start_mb']:.0f} → {r['rss_peak_mb']:.0f}" if "rss_peak_mb" in r else "n/a"
        size = f"{r['mb']:.0f}" if "mb" in r else "n/a"
        print(
            f"| {tool} | {table} | {int(r['rows']):,} | {r['seconds']:.2f} | "
            f"{r['rows'] / r['seconds']:,.0f} | {size} | {rss} |"
        )
    print()
    rate = imported["rows"] / imported["seconds"]
    print(
        f"Import of {int(imported['rows']):,} commitments-table rows into an empty SQLite "
        f"database: {imported['seconds']:.1f} s, {rate:,.0f} rows/s"
    )
    if args.keep:
        print(f"work directory kept: {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
