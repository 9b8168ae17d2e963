"""Beyond one machine (issue 7): two web hosts and two schedulers on one PostgreSQL; the active scheduler dies.

    createdb -h 127.0.0.1 -U root failover
    python bench/failover.py --scale tiny --database postgresql://root@127.0.0.1/failover      # an EMPTY database
    python bench/failover.py --scale district --database postgresql://root@127.0.0.1/failover2

On one PostgreSQL database it migrates and fills the schema (``careapp init-db``, ``careapp bench-data``, as
bench/run.py does), starts two ``careapp scheduler`` processes (one takes the active role, the other waits as
a standby) and two ``careapp serve`` instances on two free ports, standing in for two hosts behind a reverse
proxy. Then the burst of bench/speed_burst.py: 500 families book one new 50-place slot at the same moment,
families 0, 2, 4, ... through the first server and 1, 3, 5, ... through the second. A watcher samples the
database every 50 ms; when half of the bookings are in it kills the active scheduler with SIGKILL (no
goodbye: its connection, and with it its advisory lock, just goes away).

Then it checks and prints, PASS or MISS: no overbooking (50 confirmed, 450 waitlisted, the waitlist in arrival
order, every booking a family was told about exists exactly once and nothing else does); which scheduler was
active before (the ``scheduler_lease`` row, and the admin view ``GET /api/v1/admin/scheduler``); that the
standby took the role (holder changed, epoch + 1) within the lease (CAREAPP_SCHEDULER_LEASE_SECONDS), and how
long it took; that the new active scheduler runs the jobs (a ``job_status`` row recorded by it after it took
over); and the most connections the database had open (for sizing its ``max_connections``).

A benchmark, not a test; PostgreSQL only (on SQLite there is one machine by definition). The database is left
filled (drop it afterwards); the temporary folder (logs) is removed unless --keep.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import Table, generate  # noqa: E402
from speed_burst import PLACES, _log_in, check, fire, prepare  # noqa: E402
from speed_common import CAREAPP, Server, careapp_env  # noqa: E402

SAMPLE_SECONDS = 0.05
JOB_WAIT_SECONDS = 120


class Scheduler:
    """``careapp scheduler`` as a subprocess, its log in a file."""

    def __init__(self, env: dict[str, str], log_path: str):
        self.log = open(log_path, "w")
        self.process = subprocess.Popen([CAREAPP, "scheduler"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    def holds(self, holder: str | None) -> bool:
        """A lease holder is ``host:pid:random`` (careapp.core.process)."""
        return holder is not None and holder.split(":")[-2] == str(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def lease_row(connection) -> sa.Row | None:
    return connection.execute(sa.text("SELECT holder, epoch, acquired_at, expires_at FROM scheduler_lease "
                                      "WHERE name = 'scheduler'")).first()


def wait_for_active(engine: sa.Engine, schedulers: list[Scheduler], timeout: float = 300) -> sa.Row:
    """The lease row once one of ours holds it and has recorded a job run (it is up and working)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            lease = lease_row(connection)
            if lease is not None and any(s.holds(lease.holder) for s in schedulers):
                ran = connection.scalar(sa.text("SELECT count(*) FROM job_status WHERE ran_on = :holder"),
                                        {"holder": lease.holder})
                if ran:
                    return lease
        for scheduler in schedulers:
            if scheduler.process.poll() is not None:
                raise SystemExit(f"careapp scheduler exited with {scheduler.process.returncode}; "
                                 f"see {scheduler.log.name}")
        time.sleep(0.2)
    raise SystemExit(f"no scheduler took the active role within {timeout} s")


class Watcher(threading.Thread):
    """Samples the database every 50 ms: bookings in the burst slot, the lease holder, open connections.
    Kills the active scheduler (SIGKILL) once half of the bookings are in, and notes when the lease changes
    hands after that."""

    def __init__(self, engine: sa.Engine, slot_id: int, half: int, active: Scheduler, old_holder: str):
        super().__init__(daemon=True)
        self.engine, self.slot_id, self.half = engine, slot_id, half
        self.active, self.old_holder = active, old_holder
        self.stopping = threading.Event()
        self.killed_at: float | None = None  # time.monotonic()
        self.killed_utc: datetime | None = None
        self.killed_after: int | None = None  # bookings in the slot when it was killed
        self.took_over_at: float | None = None
        self.new_lease: sa.Row | None = None
        self.peak_connections = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                while not self.stopping.is_set():
                    self._sample(connection)
                    time.sleep(SAMPLE_SECONDS)
        except BaseException as error:  # shown by the main thread
            self.error = error

    def _sample(self, connection) -> None:
        booked = connection.scalar(sa.text("SELECT count(*) FROM booking WHERE slot_id = :slot"),
                                   {"slot": self.slot_id})
        connections = connection.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        self.peak_connections = max(self.peak_connections, connections)
        if self.killed_at is None and booked >= self.half:
            os.kill(self.active.pid, signal.SIGKILL)
            self.killed_at, self.killed_utc, self.killed_after = time.monotonic(), datetime.now(timezone.utc), booked
        if self.killed_at is not None and self.took_over_at is None:
            lease = lease_row(connection)
            if lease is not None and lease.holder != self.old_holder:
                self.took_over_at, self.new_lease = time.monotonic(), lease


def admin_overview(admin, base_url: str) -> dict:
    """The admin view of the scheduler (GET /api/v1/admin/scheduler), as an administrator."""
    answer = admin.get(f"{base_url}/api/v1/admin/scheduler", timeout=60)
    answer.raise_for_status()
    return answer.json()


def wait_for_jobs(admin, base_url: str, holder: str, since: datetime) -> tuple[list[str], float | None]:
    """The jobs the admin view says ``holder`` finished after ``since``, once there is one; and how long after
    ``since`` the first of them finished."""
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while time.monotonic() < deadline:
        jobs = [job for job in admin_overview(admin, base_url)["jobs"]
                if job["ran_on"] == holder and job["last_finished_at"]
                and datetime.fromisoformat(job["last_finished_at"].replace("Z", "+00:00")) >= since]
        if jobs:
            first = min(datetime.fromisoformat(job["last_finished_at"].replace("Z", "+00:00")) for job in jobs)
            return sorted(job["job_id"] for job in jobs), (first - since).total_seconds()
        time.sleep(0.5)
    return [], None


def exactly_once(engine: sa.Engine, slot_id: int, answers: list[dict]) -> tuple[bool, str]:
    """Every booking a family was told about (201 with its id) is in the slot once, for that family, and the
    slot holds no other booking and no family twice."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, recipient_id FROM booking WHERE slot_id = :slot"),
                                  {"slot": slot_id}).all()
    stored = {row.id: row.recipient_id for row in rows}
    told = {a["body"]["id"]: a["recipient_id"] for a in answers if a["code"] == 201 and "id" in a["body"]}
    families_once = len({row.recipient_id for row in rows}) == len(rows)
    passed = families_once and stored == told
    return passed, f"{len(told)} told / {len(rows)} stored"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["tiny", "district", "city"], default="tiny")
    parser.add_argument("--database", required=True, help="an EMPTY PostgreSQL database URL")
    parser.add_argument("--workers", type=int, default=2 * len(os.sched_getaffinity(0)),
                        help="gunicorn workers of each of the two servers")
    parser.add_argument("--lease", type=int, help="CAREAPP_SCHEDULER_LEASE_SECONDS (default: careapp's, 30)")
    parser.add_argument("--keep", action="store_true", help="keep the folder with the servers' and schedulers' logs")
    args = parser.parse_args()
    if not args.database.startswith(("postgresql://", "postgres://")):
        raise SystemExit("--database must be a PostgreSQL URL: failover across hosts needs a shared database")
    folder = tempfile.mkdtemp(prefix="careapp-failover-")
    extra = {"CAREAPP_SCHEDULER_LEASE_SECONDS": str(args.lease)} if args.lease else {}
    env = careapp_env(args.database, folder, **extra)
    os.environ.update(env)
    table = Table()
    try:
        table.add(f"generate {args.scale} (init-db + bench-data) s", f"{generate(env, args.scale):.0f}")
        run(table, args, env, folder)
    finally:
        if args.keep:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    table.print(f"careapp failover, {args.scale} scale on PostgreSQL, {os.cpu_count()} cores, "
                f"2 servers x {args.workers} gunicorn workers, 2 schedulers")


def run(table: Table, args, env: dict[str, str], folder: str) -> None:
    from careapp import create_app
    from careapp.benchdata import ADMIN_LOGIN
    from careapp.core.db import db

    app = create_app()
    lease_seconds = app.config["SCHEDULER_LEASE_SECONDS"]
    with app.app_context():
        plan = prepare(datetime.now(timezone.utc))
        db.session.remove()
        db.engine.dispose()
        engine = db.engine
        schedulers = [Scheduler(env, f"{folder}/scheduler-{n}.log") for n in (1, 2)]
        servers: list[Server] = []
        try:
            before = wait_for_active(engine, schedulers)
            active = next(s for s in schedulers if s.holds(before.holder))
            standby = next(s for s in schedulers if s is not active)
            servers = [Server(env, args.workers, f"{folder}/serve-{n}.log") for n in (1, 2)]
            admin = _log_in(servers[1].url, ADMIN_LOGIN)
            seen = admin_overview(admin, servers[0].url)["lease"]
            print(f"schedulers: pid {active.pid} active (epoch {before.epoch}), pid {standby.pid} standby; servers "
                  f"{servers[0].url} and {servers[1].url}", flush=True)
            families = len(plan.families)
            print(f"burst: slot {plan.slot_id} of {plan.service_name}, {families} families over two servers; "
                  f"SIGKILL to pid {active.pid} when {families // 2} are booked", flush=True)
            watcher = Watcher(engine, plan.slot_id, families // 2, active, before.holder)
            watcher.start()
            burst = fire([server.url for server in servers], plan)
            deadline = time.monotonic() + 2 * lease_seconds
            while watcher.took_over_at is None and watcher.error is None and time.monotonic() < deadline:
                time.sleep(0.1)
            jobs, first_job = ([], None) if watcher.new_lease is None else \
                wait_for_jobs(admin, servers[0].url, watcher.new_lease.holder, watcher.new_lease.acquired_at)
            after = admin_overview(admin, servers[0].url)["lease"]
            watcher.stopping.set()
            watcher.join()
            if watcher.error is not None:
                raise watcher.error
        finally:
            for process in (*servers, *schedulers):
                process.stop()
        outcome = check(engine, plan.slot_id, burst["answers"])
        once, once_text = exactly_once(engine, plan.slot_id, burst["answers"])
        engine.dispose()
    report(table, plan, burst, outcome, (once, once_text), before, seen, after, active, standby, watcher,
           jobs, first_job, lease_seconds, 2 * args.workers)


def report(table: Table, plan, burst, outcome, once, before, seen, after, active: Scheduler, standby: Scheduler,
           watcher: Watcher, jobs: list[str], first_job: float | None, lease_seconds: int, workers: int) -> None:
    families = len(plan.families)
    exact = (min(PLACES, families), families - min(PLACES, families))
    per_server = [sum(1 for index, a in enumerate(burst["answers"]) if index % 2 == n and a["code"] == 201)
                  for n in (0, 1)]
    halves = [len(range(n, families, 2)) for n in (0, 1)]
    if burst["failed"]:
        print(f"  {len(burst['failed'])} bookings not answered 201, e.g. {burst['failed'][0]}")
    table.add(f"burst: bookings/s (API, {families} at once, 2 servers)", f"{burst['rate']:.0f}")
    table.add("burst: latency p50 / p95 / p99 ms", f"{burst['p50']:.0f} / {burst['p95']:.0f} / {burst['p99']:.0f}")
    table.add("burst: answered 201 by server 1 / 2", f"{per_server[0]} / {per_server[1]}",
              f"{halves[0]} / {halves[1]}", per_server == halves)
    table.add("burst: confirmed / waitlisted (database)", f"{outcome['confirmed']} / {outcome['waitlisted']}",
              f"{exact[0]} / {exact[1]}", (outcome["confirmed"], outcome["waitlisted"]) == exact
              and outcome["booked_count"] == exact[0])
    table.add("burst: waitlist in arrival order", str(outcome["in_order"]), "True", outcome["in_order"])
    table.add("burst: each told booking stored exactly once", once[1], "all, once", once[0])
    agreed = seen is not None and (seen["holder"], seen["epoch"]) == (before.holder, before.epoch) and seen["live"]
    table.add("scheduler: active before (lease row = admin view)", f"pid {active.pid}, epoch {before.epoch}",
              "one of ours", agreed)
    killed = watcher.killed_after is not None and 0 < watcher.killed_after < families
    dead = active.process.poll() == -signal.SIGKILL
    table.add("scheduler: SIGKILL to the active one, bookings in",
              "never" if watcher.killed_after is None else f"{watcher.killed_after} of {families}",
              "mid-burst", killed and dead)
    new = watcher.new_lease
    took_over = new is not None and standby.holds(new.holder) and new.epoch == before.epoch + 1 \
        and after is not None and after["holder"] == new.holder and after["live"]
    table.add("scheduler: standby took over (holder, epoch)",
              "no" if new is None else f"pid {standby.pid if standby.holds(new.holder) else '?'}, epoch {new.epoch}",
              f"pid {standby.pid}, epoch {before.epoch + 1}", took_over)
    seconds = None if watcher.took_over_at is None else watcher.took_over_at - watcher.killed_at
    table.add("scheduler: takeover s (kill -> lease row changed)", "-" if seconds is None else f"{seconds:.1f}",
              f"<= {lease_seconds}", seconds is not None and seconds <= lease_seconds)
    if new is not None:
        table.add("  (kill -> acquired_at recorded by the standby) s",
                  f"{(new.acquired_at - watcher.killed_utc).total_seconds():.1f}")
    table.add("scheduler: jobs run by the new active one", ", ".join(jobs) or "none", ">= 1 job", bool(jobs))
    table.add("  first job finished, s after takeover", "-" if first_job is None else f"{first_job:.1f}")
    table.add("database: most connections open at once", f"{watcher.peak_connections}",
              f"({workers} workers + 2 schedulers)")


if __name__ == "__main__":
    main()
