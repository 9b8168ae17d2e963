"""Soak benchmark of issue 8, "Trust": mixed traffic of every role for ten minutes against ``careapp serve``.

    createdb -h 127.0.0.1 -U root soak_run
    python bench/soak.py --database postgresql://root@127.0.0.1/soak_run            # an EMPTY database
    python bench/soak.py --database postgresql://... --filled --minutes 2             # again, shorter

It migrates the database (``careapp init-db``) and fills it (``careapp bench-data --scale district --seed 1``)
unless ``--filled``, then serves it as bench/run.py does (``careapp serve``: gunicorn, 2 workers per core,
CAREAPP_RATE_LIMITS=off) with ``careapp scheduler`` beside it (as in production; its e-mails go to a local
aiosmtpd sink; ``--no-scheduler`` leaves it out). Every account is logged in first (the login form for pages,
``POST /api/v1/tokens`` for the API; not counted), then client threads (bench/soak_traffic.py) act for
``--minutes`` minutes, each as one role, with a short pause between actions:

- families (``--family-threads``, each cycling through its own families): home page, slot finder, household
  page, notifications inbox and read-all, their bookings; book the live and offer slots, cancel some, cancel a
  coming booking and book it again (a meal through its order), change a meal order, accept or decline offers;
- partner staff of two care centres: slot rosters, day roster, kitchen sheet, check in and out through the API;
- their managers: open a "live" activity slot every 20 s (starting half an hour ahead, 6 places) and an "offer
  slot" of full-day day care every minute (two days ahead; freed places are offered, not given), change
  capacities, save and reset message texts, message and dashboard pages;
- community staff: coverage dashboard, overview, residents search, a member's page, booking on a family's
  behalf;
- the admin: scheduler page and API, audit log (plain and filtered).

Targets (exit status 1 when one is missed): no error (any 5xx, connection error or timeout, 401/403, other
unexpected status, a gunicorn worker restarted, an error in the server's or the scheduler's log, a failed
scheduler job); memory flat within 10 %: the sum of the gunicorn workers' resident memory (VmRSS) at the end
against the same at the end of the warm-up (the first minute, or a fifth of a shorter run), and the same for
the scheduler; after the run, in the slots the soak touched: none over capacity, tallies equal to the bookings,
nobody booked twice into one slot, no free place while people wait. Refusals by business rules (409, 422:
already booked, booking closed, capacity below the places held) are expected and counted apart.

Not part of the test suite. The database is left filled (drop it afterwards).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_traffic import ROLES, PartnerPlan, World, make_actors, run_actor  # noqa: E402
from speed_common import CAREAPP, Server, careapp_env, child_pids, free_port, percentile, run_careapp  # noqa: E402

MEMORY_GROWTH_TARGET = 0.10
SAMPLE_EVERY_S = 5
PARTNERS = 2          # care centres whose staff and managers act
LOG_ERRORS = ("Traceback", "[ERROR]", "WORKER TIMEOUT", " ERROR ", "CRITICAL")


# --- choosing what the roles act on ---

def choose_world(base_url: str, families_wanted: int) -> World:
    """Two partners running day care, meals and activities; families eligible for their activity."""
    from careapp.benchdata import (ADMIN_LOGIN, community_staff_login, family_login, partner_manager_login,
                                   partner_staff_login)
    from careapp.core.db import db

    now = datetime.now(timezone.utc)
    rows = db.session.execute(sa.text(
        "SELECT partner_id FROM service WHERE active GROUP BY partner_id "
        "HAVING count(DISTINCT kind) FILTER (WHERE kind IN ('daycare', 'meal', 'activity')) = 3 "
        "ORDER BY partner_id LIMIT :n"), {"n": PARTNERS}).scalars().all()
    if not rows:
        raise SystemExit("no partner runs day care, meals and activities: generate data with careapp bench-data")
    partners, families, taken = [], [], set()
    for index, partner_id in enumerate(rows):
        plan = _partner_plan(partner_id, now, partner_manager_login(partner_id), partner_staff_login(partner_id, 1))
        partners.append(plan)
        # Each partner its own families (the two care centres' activities take the same people).
        chosen = _eligible(plan.activity_service_id, now + timedelta(minutes=30), -(-families_wanted // len(rows)),
                           skip=taken)
        taken.update(household for household, _ in chosen)
        offered = dict(_eligible(plan.offer_service_id, now + timedelta(days=2), len(chosen),
                                 only={household for household, _ in chosen})) if plan.offer_service_id else {}
        families.append([(family_login(household), household, recipient, offered.get(household), index)
                         for household, recipient in chosen])
    communities = db.session.execute(sa.text("SELECT id FROM community ORDER BY id")).scalars().all()
    members = db.session.execute(sa.text("SELECT id FROM care_recipient ORDER BY id")).scalars().all()
    mixed = [family for pair in zip(*families) for family in pair]  # each thread gets families of both partners
    return World(base_url=base_url, partners=partners, families=mixed[:families_wanted],
                 community_logins=[community_staff_login(c) for c in communities], admin_login=ADMIN_LOGIN,
                 member_ids=members[::max(1, len(members) // 300)])


def _partner_plan(partner_id: int, now: datetime, manager: str, staff: str) -> PartnerPlan:
    from careapp.core.db import db

    def scalar(sql: str, **values):
        return db.session.execute(sa.text(sql), {"partner": partner_id, "now": now, **values}).scalar()

    activity = db.session.execute(sa.text(
        "SELECT id, service_point_id FROM service WHERE partner_id = :partner AND kind = 'activity' AND active "
        "ORDER BY default_capacity, id LIMIT 1"), {"partner": partner_id}).one()
    meal_slot = scalar("SELECT s.id FROM slot s JOIN service v ON v.id = s.service_id WHERE v.partner_id = :partner "
                       "AND v.kind = 'meal' AND s.starts_at > :now ORDER BY s.starts_at, s.id LIMIT 1")
    # Day care slots open for check-in now (from 2 hours before the start to the end): people to check in and
    # out. None in the evening: then staff work on the live slots alone.
    today = db.session.execute(sa.text(
        "SELECT s.id FROM slot s JOIN service v ON v.id = s.service_id WHERE v.partner_id = :partner "
        "AND v.kind = 'daycare' AND s.status = 'open' AND s.ends_at > :now "
        "AND s.starts_at < :now + interval '2 hours' ORDER BY s.starts_at, s.id"),
        {"partner": partner_id, "now": now}).scalars().all()
    offer_service = scalar("SELECT id FROM service WHERE partner_id = :partner AND active AND fill_policy = 'offer' "
                           "ORDER BY id LIMIT 1")
    return PartnerPlan(partner_id=partner_id, manager=manager, staff=staff, activity_service_id=activity.id,
                       point_id=activity.service_point_id, meal_slot_id=meal_slot, today_slot_ids=list(today),
                       offer_service_id=offer_service)


def _eligible(service_id: int, starts: datetime, wanted: int, *, only: set[int] | None = None,
              skip: set[int] = frozenset()) -> list[tuple[int, int]]:
    """(household, recipient) pairs, one per household (of ``only`` if given, not in ``skip``), eligible for the
    service's slots starting at ``starts`` (a probe slot, rolled back, checked by the service kind's policy as the
    booking engine would)."""
    from careapp.booking.policies import policy_for
    from careapp.core.db import db
    from careapp.partners.models import Service, Slot, SlotStatus
    from speed_burst import eligible_members

    service = db.session.get(Service, service_id)
    probe = Slot(service_id=service.id, starts_at=starts, ends_at=starts + timedelta(hours=1), capacity=1,
                 status=SlotStatus.open, created_at=datetime.now(timezone.utc))
    db.session.add(probe)
    db.session.flush()
    members = eligible_members(probe, policy_for(service.kind), wanted=wanted, only=only, skip=skip)
    db.session.rollback()
    return members


# --- memory ---

def rss_mb(pid: int) -> float:
    """VmRSS of a process in MB (its resident memory now); 0 when it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Memory:
    """Samples the server's (and the scheduler's) resident memory every few seconds in a thread."""

    def __init__(self, master: int, scheduler: int | None):
        self.master, self.scheduler = master, scheduler
        self.samples: list[dict] = []
        self.worker_pids: set[int] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> dict:
        workers = child_pids(self.master)
        self.worker_pids.update(workers)
        figures = {"at": time.monotonic(), "master": rss_mb(self.master), "workers": [rss_mb(p) for p in workers],
                   "scheduler": rss_mb(self.scheduler) if self.scheduler else 0.0}
        figures["sum"] = sum(figures["workers"])
        self.samples.append(figures)
        return figures

    def _run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def at(self, moment: float) -> dict:
        """The first sample taken at or after ``moment`` (time.monotonic()), else the last."""
        return next((s for s in self.samples if s["at"] >= moment), self.samples[-1])


# --- the run ---

def log_everyone(actors: list) -> None:
    clients = [client for _, members in actors for client, _ in members]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda client: client.log_in(), clients))
    print(f"logged in {len(clients)} accounts", flush=True)


def soak(world: World, actors: list, memory: Memory, minutes: float, pause: float) -> dict:
    stop = threading.Event()
    threads = [threading.Thread(target=run_actor, args=(world, role, members, pause, stop), daemon=True)
               for role, members in actors]
    start_sample = memory.sample()
    memory.thread.start()
    started = time.monotonic()
    for thread in threads:
        thread.start()
    deadline = started + minutes * 60
    while time.monotonic() < deadline:
        time.sleep(min(30.0, max(0.0, deadline - time.monotonic())))
        done = len(world.tally.rows)
        errors = sum(1 for row in world.tally.rows if row[5] == "error")
        print(f"  {(time.monotonic() - started) / 60:4.1f} min: {done} requests, {errors} errors, "
              f"workers {memory.samples[-1]['sum']:.0f} MB", flush=True)
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    memory.stop.set()
    memory.thread.join()
    end_sample = memory.sample()
    warm_up = min(60.0, minutes * 60 / 5)
    return {"started": started, "seconds": time.monotonic() - started, "warm_up": warm_up,
            "start": start_sample, "warm": memory.at(started + warm_up), "end": end_sample}


def job_counts(url: str) -> dict[str, tuple[int, int]]:
    """The scheduler's (runs, failures) of each job so far."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {row.job_id: (row.runs, row.failures) for row in connection.execute(
                sa.text("SELECT job_id, runs, failures FROM job_status"))}
    finally:
        engine.dispose()


# Slots the soak touched: a booking in them changed, or they were opened, since it started.
TOUCHED = ("SELECT id FROM slot WHERE created_at >= :since UNION "
           "SELECT slot_id FROM booking WHERE updated_at >= :since")
HOLDS = "('confirmed', 'offered', 'checked_in', 'checked_out', 'no_show')"
BOOKED = "('confirmed', 'checked_in', 'checked_out', 'no_show')"
INVARIANTS = {
    "slots over capacity": f"SELECT count(*) FROM slot s WHERE s.id IN ({TOUCHED}) AND s.capacity < "
                           f"(SELECT count(*) FROM booking b WHERE b.slot_id = s.id AND b.status IN {HOLDS})",
    "slots whose tallies differ from their bookings": (
        f"SELECT count(*) FROM slot s WHERE s.id IN ({TOUCHED}) AND (s.booked_count, s.attended_count) <> "
        f"(SELECT count(*) FILTER (WHERE b.status IN {BOOKED}), "
        "count(*) FILTER (WHERE b.status IN ('checked_in', 'checked_out')) FROM booking b WHERE b.slot_id = s.id)"),
    "people with two live bookings in one slot": (
        f"SELECT count(*) FROM (SELECT 1 FROM booking WHERE slot_id IN ({TOUCHED}) AND status <> 'cancelled' "
        "GROUP BY slot_id, recipient_id HAVING count(*) > 1) twice"),
    # While booking is open (meals close by rules of their own: left out), a freed place goes to the waitlist.
    "open slots with a free place while people wait": (
        f"SELECT count(*) FROM slot s JOIN service v ON v.id = s.service_id WHERE s.id IN ({TOUCHED}) "
        "AND s.status = 'open' AND v.kind <> 'meal' "
        "AND s.starts_at - coalesce(v.booking_cutoff_minutes, 0) * interval '1 minute' > now() "
        "AND least(s.capacity, coalesce(s.staffed_places, s.capacity)) > "
        f"(SELECT count(*) FROM booking b WHERE b.slot_id = s.id AND b.status IN {HOLDS}) "
        "AND EXISTS (SELECT 1 FROM booking b WHERE b.slot_id = s.id AND b.status = 'waitlisted')"),
}


def check_invariants(url: str, since: datetime) -> dict[str, int]:
    """The booking rules, checked in the database over the slots the soak touched (after it stopped)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            touched = connection.scalar(sa.text(f"SELECT count(*) FROM ({TOUCHED}) t"), {"since": since})
            found = {name: connection.scalar(sa.text(sql), {"since": since}) for name, sql in INVARIANTS.items()}
    finally:
        engine.dispose()
    return {"slots touched": touched, **found}


def log_errors(path: str) -> list[str]:
    lines = Path(path).read_text(errors="replace").splitlines() if Path(path).exists() else []
    return [line for line in lines if any(mark in line for mark in LOG_ERRORS)]


# --- the table ---

def report(world: World, figures: dict, memory: Memory, first_workers: set[int], logs: dict[str, str]) -> bool:
    rows = world.tally.rows
    answered = [row for row in rows if row[5] != "error" or row[3] > 0]
    errors = [row for row in rows if row[5] == "error"]
    passed = True

    def line(figure: str, value: str, target: str = "", ok: bool | None = None) -> None:
        nonlocal passed
        passed = passed and ok is not False
        print(f"| {figure} | {value} | {target} | {'' if ok is None else 'PASS' if ok else 'MISS'} |")

    seconds = figures["seconds"]
    print(f"\n| figure | value | target | result |\n| --- | --- | --- | --- |")
    line("requests served (answered)", f"{len(answered):,} in {seconds / 60:.1f} min "
         f"({len(answered) / seconds:.1f}/s)")
    by_role = defaultdict(list)
    for row in rows:
        by_role[row[1]].append(row)
    for role in ROLES:
        mine = by_role.get(role, [])
        writes = sum(1 for row in mine if row[6])
        times = [row[4] for row in mine if row[5] != "error"]
        spread = f", p50 / p95 {percentile(times, 0.5):.0f} / {percentile(times, 0.95):.0f} ms" if times else ""
        line(f"  {role}", f"{len(mine):,} ({writes:,} writes){spread}")
    refused = [row for row in rows if row[5] == "refused"]
    line("rule refusals (409/422, expected)", f"{len(refused):,}")
    line("errors (5xx, connection, 401/403, unexpected)", f"{len(errors):,}", "0", not errors)
    restarted = memory.worker_pids - first_workers
    line("gunicorn workers replaced", f"{len(restarted)}", "0", not restarted)
    for name, path in logs.items():
        found = log_errors(path)
        line(f"errors in the {name} log", f"{len(found)}", "0", not found)
        for text in found[:5]:
            print(f"    {text[:300]}")
    latencies = [row[4] for row in answered]
    line("latency p50 / p95 ms (all answered)",
         f"{percentile(latencies, 0.5):.0f} / {percentile(latencies, 0.95):.0f}" if latencies else "-")
    start, warm, end = figures["start"], figures["warm"], figures["end"]
    line("memory: gunicorn master RSS MB (start / warm / end)",
         f"{start['master']:.0f} / {warm['master']:.0f} / {end['master']:.0f}")
    line(f"memory: sum of {len(end['workers'])} workers' RSS MB (start / warm / end)",
         f"{start['sum']:.0f} / {warm['sum']:.0f} / {end['sum']:.0f}")
    growth = end["sum"] / warm["sum"] - 1 if warm["sum"] else 0.0
    line(f"memory: workers' growth, end vs end of warm-up ({figures['warm_up']:.0f} s)", f"{growth:+.1%}",
         f"within ±{MEMORY_GROWTH_TARGET:.0%}", abs(growth) <= MEMORY_GROWTH_TARGET)
    line("memory: largest worker RSS MB (warm / end)", f"{max(warm['workers']):.0f} / {max(end['workers']):.0f}")
    if figures["jobs"]:
        runs = sum(runs for runs, _ in figures["jobs"].values())
        failures = sum(failures for _, failures in figures["jobs"].values())
        ran = ", ".join(f"{job} {runs}" for job, (runs, _) in sorted(figures["jobs"].items()) if runs)
        line("scheduler: job runs during the soak / failures", f"{runs} ({ran}) / {failures}", "0 failures",
             not failures)
    if end["scheduler"]:
        scheduler_growth = end["scheduler"] / warm["scheduler"] - 1 if warm["scheduler"] else 0.0
        line("memory: scheduler RSS MB (start / warm / end)",
             f"{start['scheduler']:.0f} / {warm['scheduler']:.0f} / {end['scheduler']:.0f} ({scheduler_growth:+.1%})",
             f"within ±{MEMORY_GROWTH_TARGET:.0%}", abs(scheduler_growth) <= MEMORY_GROWTH_TARGET)
    invariants = dict(figures["invariants"])
    line("database after the soak: slots touched", f"{invariants.pop('slots touched'):,}")
    for name, count in invariants.items():
        line(f"  {name}", f"{count}", "0", count == 0)
    print_kinds(rows)
    if world.tally.refusal_codes:
        counts = sorted(world.tally.refusal_codes.items())
        print("\nrule refusals by kind: " + ", ".join(f"{kind} {status} {code}: {count}"
                                                     for (kind, status, code), count in counts))
    if world.tally.error_samples:
        print("\nerrors (first 30):")
        for text in world.tally.error_samples:
            print(f"  {text}")
    return passed


def print_kinds(rows: list) -> None:
    by_kind = defaultdict(list)
    for row in rows:
        by_kind[(row[1], row[2])].append(row)
    print("\n| role | request | served | refused | errors | p50 ms | p95 ms |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    for (role, kind), mine in sorted(by_kind.items(), key=lambda item: (ROLES.index(item[0][0]), item[0][1])):
        times = [row[4] for row in mine if row[5] != "error"]
        p50 = f"{percentile(times, 0.5):.0f}" if times else "-"
        p95 = f"{percentile(times, 0.95):.0f}" if times else "-"
        print(f"| {role} | {kind} | {len(mine):,} | {sum(r[5] == 'refused' for r in mine):,} | "
              f"{sum(r[5] == 'error' for r in mine):,} | {p50} | {p95} |")


# --- putting it together ---

def start_scheduler(env: dict[str, str], folder: str) -> tuple[subprocess.Popen, subprocess.Popen, object]:
    """``careapp scheduler`` with its e-mail going to a local aiosmtpd sink."""
    port = free_port()
    smtp = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    log = open(f"{folder}/scheduler.log", "w")
    scheduler = subprocess.Popen([CAREAPP, "scheduler"], stdout=log, stderr=subprocess.STDOUT,
                                 env={**env, "CAREAPP_MAIL_SERVER": "127.0.0.1", "CAREAPP_MAIL_PORT": str(port),
                                      "CAREAPP_SMS_BACKEND": "log"})
    return smtp, scheduler, log


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a PostgreSQL URL: an EMPTY database, or a filled one "
                                                          "with --filled")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--scale", choices=["tiny", "district", "city"], default="district")
    parser.add_argument("--filled", action="store_true",
                        help="the database is already filled (bench-data --scale S --seed 1): do not generate")
    parser.add_argument("--workers", type=int, default=2 * len(os.sched_getaffinity(0)))
    parser.add_argument("--family-threads", type=int, default=3)
    parser.add_argument("--families-per-thread", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.2, help="seconds each client thread waits between actions")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run careapp scheduler beside the server")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="careapp-soak-")
    env = careapp_env(args.database, folder)
    os.environ.update(env)
    try:
        passed = run(args, env, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if passed else 1)


def run(args, env: dict[str, str], folder: str) -> bool:
    from careapp import create_app
    from careapp.core.db import db

    run_careapp(env, "init-db")
    if not args.filled:
        started = time.perf_counter()
        print(run_careapp(env, "bench-data", "--scale", args.scale, "--seed", "1").strip().splitlines()[-1])
        print(f"generated {args.scale} in {time.perf_counter() - started:.0f} s", flush=True)
    app = create_app()
    smtp = scheduler = scheduler_log = None
    server = Server(env, args.workers, f"{folder}/serve.log")
    try:
        with app.app_context():
            world = choose_world(server.url, args.family_threads * args.families_per_thread)
            db.session.remove()
            db.engine.dispose()
        print(f"partners {[p.partner_id for p in world.partners]}, {len(world.families)} families, "
              f"{len(world.community_logins)} community staff", flush=True)
        logs = {"server": f"{folder}/serve.log"}
        if not args.no_scheduler:
            smtp, scheduler, scheduler_log = start_scheduler(env, folder)
            logs["scheduler"] = f"{folder}/scheduler.log"
        actors = make_actors(world, args.family_threads, args.families_per_thread)
        log_everyone(actors)
        memory = Memory(server.process.pid, scheduler.pid if scheduler else None)
        first_workers = set(child_pids(server.process.pid))
        print(f"soak: {args.minutes:g} min, {len(actors)} client threads, pause {args.pause} s", flush=True)
        jobs_before = job_counts(args.database)
        since = datetime.now(timezone.utc)
        figures = soak(world, actors, memory, args.minutes, args.pause)
        figures["jobs"] = {job: (runs - jobs_before.get(job, (0, 0))[0], failures - jobs_before.get(job, (0, 0))[1])
                           for job, (runs, failures) in job_counts(args.database).items()}
        if scheduler is not None and scheduler.poll() is not None:
            world.tally.add("admin", "scheduler process alive", scheduler.returncode, 0.0, "error",
                            f"careapp scheduler exited with {scheduler.returncode}")
    finally:
        server.stop()
        stop_process(scheduler)
        stop_process(smtp)
        if scheduler_log:
            scheduler_log.close()
    figures["invariants"] = check_invariants(args.database, since)
    print(f"\ncareapp soak, {args.scale} scale on PostgreSQL, {os.cpu_count()} cores, {args.workers} gunicorn "
          f"workers, {'with' if scheduler else 'without'} careapp scheduler, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    return report(world, figures, memory, first_workers, logs)


if __name__ == "__main__":
    main()
