"""Benchmark suite of issue 7, "Speed at city scale": burst booking, pages, scheduler, memory.

    python bench/run.py --scale district                  # SQLite, in a temporary folder
    python bench/run.py --scale district --database postgresql://root@127.0.0.1/bench_run   # an EMPTY database
    python bench/run.py --scale tiny                      # a quick try (tiny has fewer than 500 families)
    python bench/run.py --scale city --database ...       # ten sub-districts (~70 s to generate on PostgreSQL)

It migrates the database (``careapp init-db``), fills it (``careapp bench-data --scale S --seed 1``), serves
it with ``careapp serve`` (gunicorn, 2 workers per core, CAREAPP_RATE_LIMITS=off) and measures:

1. Burst (bench/speed_burst.py): 500 families, logged in beforehand through ``POST /api/v1/tokens``, book
   one new 50-place slot at the same moment through ``POST /api/v1/slots/<id>/bookings`` from a load
   generator process; bookings/s and latency, then from the database: 50 confirmed, 450 waitlisted, in
   arrival order. The same 500 bookings as bare SQL transactions (lock the slot, count, insert, tally,
   commit) on a fresh 50-place slot, as many at once as gunicorn has workers; the ratio careapp / raw.
2. Pages (bench/speed_pages.py): p50/p95 of five pages through HTTP against the same server, each logged in
   with the login form's session cookie.
3. Scheduler (bench/speed_scheduler.py, in a process of its own): opening a week of slots with standing
   enrolments, and sending 10,000 e-mails to a local aiosmtpd server through careapp's sender against a
   bare smtplib loop.
4. Memory: the peak RSS (VmHWM) of the gunicorn workers over parts 1-2, and of the part 3 process.

Prints a table of figures with their targets, PASS or MISS. Not part of the test suite. The database given
with --database is left filled (drop it afterwards); the temporary folder (SQLite file, server log) is removed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_burst import PLACES, check, fire, prepare, raw_burst  # noqa: E402
from speed_common import Server, careapp_env, free_port, run_careapp  # noqa: E402
from speed_pages import run_pages  # noqa: E402

MEMORY_TARGET_MB = 250
RATIO_TARGET = 0.5


# --- the table ---

class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, figure: str, value: str, target: str = "", passed: bool | None = None) -> None:
        self.rows.append((figure, value, target, "" if passed is None else "PASS" if passed else "MISS"))

    def print(self, title: str) -> None:
        width = max(len(row[0]) for row in self.rows)
        print(f"\n{title}\n{'figure':{width}}  {'value':>16}  {'target':>12}  result")
        for figure, value, target, result in self.rows:
            print(f"{figure:{width}}  {value:>16}  {target:>12}  {result}")


# --- the parts ---

def generate(env: dict[str, str], scale: str) -> float:
    started = time.perf_counter()
    run_careapp(env, "init-db")
    print(run_careapp(env, "bench-data", "--scale", scale, "--seed", "1").strip())
    return time.perf_counter() - started


def burst_part(table: Table, server: Server, engine: sa.Engine, url: str, plan) -> None:
    print(f"burst: slot {plan.slot_id} of {plan.service_name}, {len(plan.families)} families", flush=True)
    burst = fire(server.url, plan)
    outcome = check(engine, plan.slot_id, burst["answers"])
    if burst["failed"]:
        print(f"  {len(burst['failed'])} bookings not answered 201, e.g. {burst['failed'][0]}")
    raw = raw_burst(url, plan.raw_slot_id, [recipient for _, recipient in plan.families], server.workers)
    raw_outcome = check(engine, plan.raw_slot_id)
    ratio = burst["rate"] / raw["rate"]
    on_pg = engine.dialect.name == "postgresql"
    families = len(plan.families)
    exact = (min(PLACES, families), families - min(PLACES, families))
    table.add(f"burst: careapp bookings/s (API, {families} at once)", f"{burst['rate']:.0f}")
    table.add("burst: latency p50 / p95 / p99 ms", f"{burst['p50']:.0f} / {burst['p95']:.0f} / {burst['p99']:.0f}")
    table.add("burst: answered 201", f"{families - len(burst['failed'])}", f"{families}",
              not burst["failed"])
    table.add("burst: confirmed / waitlisted (database)", f"{outcome['confirmed']} / {outcome['waitlisted']}",
              f"{exact[0]} / {exact[1]}", (outcome["confirmed"], outcome["waitlisted"]) == exact
              and outcome["booked_count"] == exact[0])
    table.add("burst: waitlist in arrival order", str(outcome["in_order"]), "True", outcome["in_order"])
    table.add(f"burst: raw SQL bookings/s ({server.workers} at once)", f"{raw['rate']:.0f}")
    table.add("burst: raw SQL confirmed / waitlisted", f"{raw_outcome['confirmed']} / {raw_outcome['waitlisted']}",
              f"{exact[0]} / {exact[1]}", (raw_outcome["confirmed"], raw_outcome["waitlisted"]) == exact)
    table.add("burst: ratio careapp / raw", f"{ratio:.2f}", f">= {RATIO_TARGET}" if on_pg else "(PG only)",
              ratio >= RATIO_TARGET if on_pg else None)


def pages_part(table: Table, server: Server, engine: sa.Engine, now: datetime, plan, runs: int) -> None:
    print(f"pages: {runs} runs each", flush=True)
    for label, path, figures in run_pages(server.url, engine, now, (plan.slot_id, plan.raw_slot_id), runs):
        print(f"  {path}: {label}, {figures['bytes']:,} bytes")
        coverage = path.startswith("/community/coverage")
        table.add(f"page {path} p50 / p95 ms", f"{figures['p50']:.0f} / {figures['p95']:.0f}",
                  "p95 < 1000" if coverage else "", figures["p95"] < 1000 if coverage else None)


def scheduler_part(table: Table, env: dict[str, str], folder: str) -> None:
    print("scheduler: opening a week, writing and sending 10,000 e-mails", flush=True)
    port = free_port()
    smtp = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        env = {**env, "CAREAPP_MAIL_SERVER": "127.0.0.1", "CAREAPP_MAIL_PORT": str(port),
               "CAREAPP_SMS_BACKEND": "off"}
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("speed_scheduler.py")),
                               "--smtp-port", str(port)], env=env, capture_output=True, text=True)
    finally:
        smtp.terminate()
        smtp.wait()
    if done.returncode != 0:
        raise SystemExit(f"the scheduler part failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    ratio = figures["careapp_rate"] / figures["bare_rate"]
    table.add("scheduler: open a week (s)", f"{figures['open_seconds']:.1f}")
    table.add("  slots opened / enrolment bookings", f"{figures['slots_opened']} / {figures['enrolment_bookings']}")
    table.add("scheduler: write 10,000 reminders (s)", f"{figures['write_seconds']:.1f}")
    table.add("scheduler: careapp e-mails/s", f"{figures['careapp_rate']:.0f}", "", None)
    wanted = min(10_000, figures["deliveries"])  # the tiny scale has fewer coming bookings
    table.add("  e-mails sent by careapp", f"{figures['careapp_sent']}", f"{wanted}", figures["careapp_sent"] == wanted)
    table.add(f"scheduler: bare smtplib e-mails/s ({figures['message_bytes']:.0f} B)", f"{figures['bare_rate']:.0f}")
    table.add("scheduler: ratio careapp / bare", f"{ratio:.2f}", f">= {RATIO_TARGET}", ratio >= RATIO_TARGET)
    table.add("memory: scheduler process peak RSS MB", f"{figures['peak_rss_mb']:.0f}", f"< {MEMORY_TARGET_MB}",
              figures["peak_rss_mb"] < MEMORY_TARGET_MB)


# --- putting it together ---

def database(args, folder: str) -> str:
    if args.database and not args.database.startswith("sqlite"):
        return args.database
    return args.database or f"sqlite:///{folder}/bench.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["tiny", "district", "city"], default="district")
    parser.add_argument("--database", help="an EMPTY database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--runs", type=int, default=30, help="timed fetches of each page")
    parser.add_argument("--workers", type=int, default=2 * len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="careapp-speed-")
    url = database(args, folder)
    env = careapp_env(url, folder)
    os.environ.update(env)
    table = Table()
    try:
        table.add(f"generate {args.scale} (init-db + bench-data) s", f"{generate(env, args.scale):.0f}")
        run_all(table, args, env, url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    engine_name = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    table.print(f"careapp speed, {args.scale} scale on {engine_name}, {os.cpu_count()} cores, "
                f"{args.workers} gunicorn workers")


def run_all(table: Table, args, env: dict[str, str], url: str, folder: str) -> None:
    from careapp import create_app
    from careapp.core.db import db

    app = create_app()
    now = datetime.now(timezone.utc)
    with app.app_context():
        plan = prepare(now)
        db.session.remove()
        db.engine.dispose()
        engine = db.engine
        server = Server(env, args.workers, f"{folder}/serve.log")
        try:
            burst_part(table, server, engine, url, plan)
            pages_part(table, server, engine, now, plan, args.runs)
            web_peak = server.worker_peak_rss_mb()
        finally:
            server.stop()
        table.add("memory: web worker peak RSS MB (burst + pages)", f"{web_peak:.0f}", f"< {MEMORY_TARGET_MB}",
                  web_peak < MEMORY_TARGET_MB)
        engine.dispose()
    scheduler_part(table, env, folder)


if __name__ == "__main__":
    main()
