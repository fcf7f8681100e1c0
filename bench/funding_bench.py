"""Benchmark: `/funding` against Datasette's own GROUP BY total on the same SQLite file.

Issue 17's yardstick for the funding report: Datasette 1.0a41 answering
`select currency, stage, sum(amount_minor) from money_flows group by 1,2`
(its SQL page, `/DB/-/query?sql=...`) on the same 100,000-commitment file.
Target: `/funding` at most 0.5× Datasette's time.

Run from the repository root with the app's virtualenv; Datasette lives in
its own (a yardstick, not a dependency of the app):

    python3 -m venv bench/.venv-ds && bench/.venv-ds/bin/pip install --pre 'datasette==1.0a41'
    .venv/bin/python bench/funding_bench.py              # builds bench/funding.db if missing
    .venv/bin/python bench/funding_bench.py --rebuild --commitments 100000 --runs 9

Requests alternate (ours, Datasette, ours, …) so both see the same machine
load; after one cold request each, the median and spread of `--runs` timed
requests are printed, with the ratio ours / Datasette measured in that run.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from run import timed_get, wait_for  # bench/run.py, beside this script: the same HTTP timing

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PT_PORT = 8100
DS_PORT = 8101
DS_SQL = "select currency, stage, sum(amount_minor) from money_flows group by 1,2"


def build(db: Path, commitments: int, seed: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    started = time.monotonic()
    subprocess.run(
        [str(ROOT / ".venv/bin/pledges"), "demo", "synth", "--commitments", str(commitments),
         "--seed", str(seed)],
        env=env,
        check=True,
    )  # fmt: skip
    print(f"built {db.name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    # Fold the WAL into the main file so both servers read the same pages.
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def provider_with_sub_units(db: Path) -> tuple[int, str, int]:
    """The published actor with sub-units whose own and sub-units' flows are most numerous."""
    with sqlite3.connect(db) as connection:
        parents = dict(connection.execute("SELECT id, parent_id FROM actors").fetchall())
        flows = dict(
            connection.execute(
                "SELECT provider_id, count(*) FROM money_flows GROUP BY provider_id"
            ).fetchall()
        )
        names = dict(
            connection.execute(
                "SELECT id, name FROM actors WHERE state = 'published' AND deleted_at IS NULL"
            ).fetchall()
        )
    best = (0, 0, "")
    for actor in names:
        family = {actor}
        while True:
            more = {a for a, p in parents.items() if p in family} - family
            if not more:
                break
            family |= more
        if len(family) > 1:
            count = sum(flows.get(a, 0) for a in family)
            best = max(best, (count, actor, names[actor]))
    count, actor, name = best
    if not actor:
        raise SystemExit("no actor with sub-units in this file")
    return actor, name, count


def fmt(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"{statistics.median(ms):.0f} ({min(ms):.0f}–{max(ms):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=BENCH / "funding.db")
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    datasette = BENCH / ".venv-ds/bin/datasette"
    if not datasette.exists():
        raise SystemExit(
            "Datasette is not installed: python3 -m venv bench/.venv-ds && "
            "bench/.venv-ds/bin/pip install --pre 'datasette==1.0a41'"
        )
    if args.rebuild or not args.db.exists():
        build(args.db, args.commitments, args.seed)
    provider, provider_name, provider_flows = provider_with_sub_units(args.db)
    filtered = f"/funding?provider={provider}&by=fiscal-year"
    pages = [("/funding (unfiltered)", "/funding"), (filtered, filtered)]
    ds_path = f"/{args.db.stem}/-/query?sql={quote(DS_SQL)}"

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{args.db}", "PLEDGES_DATA_DIR": str(BENCH)}
    pt = subprocess.Popen(
        [str(ROOT / ".venv/bin/pledges"), "serve", "--port", str(PT_PORT)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ds = subprocess.Popen(
        [str(datasette), "serve", str(args.db), "-h", "127.0.0.1", "-p", str(DS_PORT),
         "--setting", "sql_time_limit_ms", "60000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    rows = []
    try:
        wait_for(f"http://127.0.0.1:{PT_PORT}/healthz")
        wait_for(f"http://127.0.0.1:{DS_PORT}/-/versions.json")
        version = httpx.get(f"http://127.0.0.1:{DS_PORT}/-/versions.json").json()
        with httpx.Client(timeout=600) as client:
            for label, path in pages:
                ours = f"http://127.0.0.1:{PT_PORT}{path}"
                theirs = f"http://127.0.0.1:{DS_PORT}{ds_path}"
                cold = (timed_get(client, ours), timed_get(client, theirs))
                pt_times: list[float] = []
                ds_times: list[float] = []
                for _ in range(args.runs):
                    pt_times.append(timed_get(client, ours))
                    ds_times.append(timed_get(client, theirs))
                ratio = statistics.median(pt_times) / statistics.median(ds_times)
                rows.append(
                    f"| `{label}` | {fmt(pt_times)} | {cold[0] * 1000:.0f} | {fmt(ds_times)} "
                    f"| {cold[1] * 1000:.0f} | **{ratio:.2f}** |"
                )
    finally:
        for process in (pt, ds):
            process.send_signal(signal.SIGINT)
        for process in (pt, ds):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    uncached = _uncached(args.db, provider)
    with sqlite3.connect(args.db) as connection:
        commitments = connection.execute("SELECT count(*) FROM commitments").fetchone()[0]
        flows = connection.execute("SELECT count(*) FROM money_flows").fetchone()[0]
    print(
        f"\n{commitments:,} commitments, {flows:,} money flows; provider {provider} "
        f"({provider_name}, {provider_flows:,} flows with its sub-units). "
        f"{args.runs} alternating timed requests per page after one cold request each; "
        f"ms, median (min–max). Datasette {version.get('datasette', {}).get('version', '?')} "
        f"answering `{DS_SQL}` at /DB/-/query. Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.1f}.\n"
    )
    print(
        "| page | Pledge Tracker | PT cold | Datasette GROUP BY | DS cold | ratio PT/DS |\n"
        "|---|---|---|---|---|---|"
    )
    print("\n".join(rows))
    print(
        "\nThe same reports computed in this process with the totals cache emptied before "
        "each run (the cost of a first request after a write; no page rendering), "
        "median of 3:\n"
    )
    for label, (wall, cpu) in uncached.items():
        print(f"- `{label}`: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")
    print("\nTarget (issue 17): ratio at most 0.5.")


def _uncached(db: Path, provider: int) -> dict[str, tuple[float, float]]:
    """funding_report's own time without the cache, in this process."""
    from app import db as app_db
    from app.models import Actor
    from app.services import funding, totals

    engine = app_db.make_engine(f"sqlite:///{db}")
    factory = app_db.make_session_factory(engine)
    found = {}
    with factory() as session:
        queries = {
            "/funding (unfiltered)": funding.FundingQuery(),
            f"/funding?provider={provider}&by=fiscal-year": funding.FundingQuery(
                provider=session.get(Actor, provider), basis=funding.Basis.fiscal_year
            ),
        }
        for label, query in queries.items():
            walls, cpus = [], []
            for _ in range(3):
                totals.clear_cache()
                wall, cpu = time.perf_counter(), time.process_time()
                funding.funding_report(session, query)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            found[label] = (statistics.median(walls), statistics.median(cpus))
    engine.dispose()
    return found


if __name__ == "__main__":
    main()
