"""Part 1 of bench/run.py: 500 families book one 50-place slot at the same moment.

- ``prepare``: a new slot of 50 places (and a fresh copy of it for the raw SQL run) on an activity
  service, about eleven days ahead, and 500 families each with one member eligible for it.
- ``fire``: a load generator in a process of its own: a ``requests.Session`` and a bearer token per family
  (``POST /api/v1/tokens`` beforehand), then 500 threads released by one barrier each
  ``POST /api/v1/slots/<id>/bookings``; or (``generator="lean"``, what bench/run.py uses) the same 500
  requests built beforehand as bytes and sent at one release from one asyncio thread, which leaves the
  shared cores to the server. Either way it reports the CPU milliseconds per booking of the generator, the
  web workers and the database's server processes.
- ``check``: from the database, 50 confirmed and 450 waitlisted, waitlist order = insertion order, and each
  answer's waitlist position = the order the engine recorded.
- ``raw_burst``: the same 500 booking transactions as bare SQL (the minimal correct transaction), run by as
  many processes as gunicorn has workers (the most transactions careapp can have in flight at once).
"""
from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa

from speed_common import percentile

PLACES = 50
FAMILIES = 500
PASSWORD = "careapp-bench-2026"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class BurstPlan:
    slot_id: int
    raw_slot_id: int
    service_name: str
    starts_at: datetime
    families: list[tuple[str, int]]  # (login, recipient id), one per household


# --- preparing the slot and the families (in the app's context) ---

def prepare(now: datetime, minutes: int = 17) -> BurstPlan:
    from careapp.booking.policies import policy_for
    from careapp.core.db import db
    from careapp.partners.models import Service, ServiceKind

    services = db.session.scalars(sa.select(Service).where(Service.kind == ServiceKind.activity,
                                                           Service.active.is_(True)).order_by(Service.id))
    best: tuple[int, int] = (0, 0)  # (eligible families, service id): the tiny scale has fewer than FAMILIES
    for service in services:
        slot = _new_slot(service, minutes=minutes, now=now)
        families = _eligible_families(slot, policy_for(service.kind))
        db.session.rollback()
        best = max(best, (min(len(families), FAMILIES), -service.id))
        if len(families) >= FAMILIES:
            break
    if not best[0]:
        raise SystemExit("no activity service has an eligible family")
    service = db.session.get(Service, -best[1])
    slot, raw = _new_slot(service, minutes=minutes, now=now), _new_slot(service, minutes=minutes + 2, now=now)
    families = _eligible_families(slot, policy_for(service.kind))[:FAMILIES]
    db.session.commit()
    return BurstPlan(slot.id, raw.id, service.name, slot.starts_at, families)


def _new_slot(service, *, minutes: int, now: datetime):
    """A slot of PLACES places, off the weekly pattern's times, among the last open days."""
    from careapp.core.db import db
    from careapp.partners.models import Slot, SlotStatus

    last = db.session.scalar(sa.select(Slot).where(Slot.service_id == service.id, Slot.pattern_id.is_not(None))
                             .order_by(Slot.starts_at.desc()).limit(1))
    starts_at = last.starts_at - timedelta(days=3, minutes=-minutes)
    slot = Slot(service_id=service.id, starts_at=starts_at, ends_at=starts_at + (last.ends_at - last.starts_at),
                capacity=PLACES, status=SlotStatus.open, created_at=now)
    db.session.add(slot)
    db.session.flush()
    return slot


def _eligible_families(slot, policy) -> list[tuple[str, int]]:
    from careapp.benchdata import family_login

    return [(family_login(household), recipient) for household, recipient in eligible_members(slot, policy)]


def eligible_members(slot, policy, *, wanted: int | None = None, only: set[int] | None = None,
                     skip: set[int] = frozenset()) -> list[tuple[int, int]]:
    """(household, recipient) pairs, one per household (of ``only`` if given, not in ``skip``; at most
    ``wanted``), whose member the service kind's policy finds eligible for ``slot``, as the engine would."""
    from flask import current_app

    from careapp.core.db import db
    from careapp.core.errors import CareappError
    from careapp.households.models import CareRecipient

    chosen: dict[int, int] = {}
    for recipient in db.session.scalars(sa.select(CareRecipient).order_by(CareRecipient.household_id,
                                                                          CareRecipient.id)):
        household = recipient.household_id
        if household in chosen or household in skip or (only is not None and household not in only):
            continue
        try:
            policy.check_eligible(recipient, slot, current_app.config)
        except CareappError:
            continue
        chosen[household] = recipient.id
        if wanted is not None and len(chosen) >= wanted:
            break
    return list(chosen.items())


# --- the load generator (a process of its own) ---

def _log_in(base_url: str, login: str, token: str | None = None) -> requests.Session:
    """A session carrying the family's bearer token: ``token``, or a new one from ``POST /api/v1/tokens``."""
    session = requests.Session()
    if token is None:
        answer = session.post(f"{base_url}/api/v1/tokens", json={"login": login, "password": PASSWORD}, timeout=120)
        answer.raise_for_status()
        token = answer.json()["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _log_in_all(base_url: str | Sequence[str], families: list[tuple[str, int]],
                tokens: list[str] | None) -> list[requests.Session]:
    """One session per family, logged in 16 at a time (or given its token from an earlier burst)."""
    sessions: list[requests.Session | None] = [None] * len(families)

    def log_in(worker: int) -> None:
        for index in range(worker, len(families), 16):
            sessions[index] = _log_in(server_for(base_url, index), families[index][0],
                                      tokens[index] if tokens else None)

    _in_threads(16, log_in)
    return sessions


def _in_threads(count: int, work) -> None:
    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def server_for(base_url: str | Sequence[str], index: int) -> str:
    """The server family ``index`` talks to: the one ``base_url``, or, given several (bench/failover.py's two
    hosts), each in turn (family i to server i mod n), so each gets an equal share of the families."""
    return base_url if isinstance(base_url, str) else base_url[index % len(base_url)]


def load_generator(base_url: str | Sequence[str], slot_id: int, families: list[tuple[str, int]], results,
                   go=None, login_url: str | Sequence[str] | None = None, tokens: list[str] | None = None) -> None:
    """Log every family in (16 at a time), then fire all bookings at once; put the answers on ``results``.

    With ``go`` (an Event), it says "ready" on ``results`` once logged in with its threads waiting, and fires
    when ``go`` is set, so the caller can read the processes' CPU times just before. ``login_url`` logs in
    elsewhere than ``base_url`` (the bare WSGI floor, bench/burst_floor.py, takes careapp's tokens); with
    ``tokens`` (one per family, from an earlier burst's ``tokens``) it does not log in again."""
    sessions = _log_in_all(login_url or base_url, families, tokens)
    barrier = threading.Barrier(len(families) + 1)
    answers: list[dict | None] = [None] * len(families)

    def book(index: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            reply = sessions[index].post(f"{server_for(base_url, index)}/api/v1/slots/{slot_id}/bookings",
                                         json={"recipient_id": families[index][1]}, timeout=300)
            body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
            code = reply.status_code
        except requests.RequestException as error:
            body, code = {"error": repr(error)}, 0
        answers[index] = {"recipient_id": families[index][1], "code": code, "body": body,
                          "seconds": time.perf_counter() - started, "ended": time.perf_counter()}

    threads = [threading.Thread(target=book, args=(index,)) for index in range(len(families))]
    for thread in threads:
        thread.start()
    if go is not None:
        results.put(("ready", [session.headers["Authorization"].split()[1] for session in sessions]))
        go.wait()
    cpu_before = _own_cpu()
    barrier.wait()
    fired = time.perf_counter()
    for thread in threads:
        thread.join()
    results.put({"fired": fired, "answers": answers, "cpu": _own_cpu() - cpu_before})


def lean_generator(base_url: str | Sequence[str], slot_id: int, families: list[tuple[str, int]], results,
                   go=None, login_url: str | Sequence[str] | None = None, tokens: list[str] | None = None) -> None:
    """As :func:`load_generator`, but the bookings go out from one thread of asyncio: each request is built
    beforehand as bytes, and at the release every family opens its connection (gunicorn's sync workers
    close it after each answer, so a pre-opened one would only sit in the backlog) and sends it. It costs
    the shared cores a fraction of the 500 threads of ``requests`` (it measures the server, not the client)."""
    import asyncio
    import json

    sessions = _log_in_all(login_url or base_url, families, tokens)
    tokens = [session.headers["Authorization"].split()[1] for session in sessions]
    requests_out = []
    for index, (_login, recipient_id) in enumerate(families):
        url = urlsplit(server_for(base_url, index))
        body = json.dumps({"recipient_id": recipient_id}).encode()
        head = (f"POST /api/v1/slots/{slot_id}/bookings HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: Bearer {tokens[index]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        requests_out.append((url.hostname, url.port, head + body))
    answers: list[dict | None] = [None] * len(families)

    async def book(index: int, release: asyncio.Event) -> None:
        host, port, request = requests_out[index]
        await release.wait()
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
            writer.write(request)
            reply = await reader.read()  # to the end: the server closes the connection after its answer
            writer.close()
            head, _, body = reply.partition(b"\r\n\r\n")
            code = int(head.split(b" ", 2)[1])
            answer = json.loads(body) if b"application/json" in head.lower() else {}
        except (OSError, ValueError, IndexError) as error:
            code, answer = 0, {"error": repr(error)}
        answers[index] = {"recipient_id": families[index][1], "code": code, "body": answer,
                          "seconds": time.perf_counter() - started, "ended": time.perf_counter()}

    async def burst() -> float:
        release = asyncio.Event()
        tasks = [asyncio.create_task(book(index, release)) for index in range(len(families))]
        await asyncio.sleep(0)  # every task waits on the release
        fired = time.perf_counter()
        release.set()
        await asyncio.gather(*tasks)
        return fired

    if go is not None:
        results.put(("ready", tokens))
        go.wait()
    cpu_before = _own_cpu()
    fired = asyncio.run(burst())
    results.put({"fired": fired, "answers": answers, "cpu": _own_cpu() - cpu_before})


GENERATORS = {"threads": load_generator, "lean": lean_generator}


def _own_cpu() -> float:
    """User + system CPU seconds of this process, all its threads."""
    times = os.times()
    return times.user + times.system


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used, from /proc (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15 of stat)


def backend_pids(engine: sa.Engine) -> list[int]:
    """The PostgreSQL server processes of the other connections to this database (the web workers')."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        return list(connection.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'")))


def fire(base_url: str | Sequence[str], plan: BurstPlan, *, login_url: str | Sequence[str] | None = None,
         server_pids: Sequence[int] = (), engine: sa.Engine | None = None, on_ready=None,
         tokens: list[str] | None = None, generator: str = "threads") -> dict:
    """Run the load generator in a spawned process (against one server, or several: see server_for); returns
    its figures: rate, latencies and, per booking, the CPU milliseconds of the generator, of ``server_pids``
    (the web workers) and of the database's server processes (PostgreSQL, with ``engine``). ``on_ready`` is
    called once the families are logged in, just before the release (to start a profiler, say); what it
    returns is called after the last answer. ``generator``: "threads" (500 threads of ``requests``) or "lean"
    (:func:`lean_generator`)."""
    context = multiprocessing.get_context("spawn")
    results, go = context.Queue(), context.Event()
    generator = context.Process(target=GENERATORS[generator], args=(base_url, plan.slot_id, plan.families, results, go,
                                                             login_url, tokens))
    generator.start()
    _ready, tokens = results.get(timeout=1800)  # the generator died (a failed login, say) if nothing comes
    backends = backend_pids(engine) if engine is not None else []
    done = on_ready() if on_ready is not None else None
    before = [sum(cpu_seconds(pid) for pid in pids) for pids in (server_pids, backends)]
    go.set()
    outcome = results.get(timeout=1800)
    after = [sum(cpu_seconds(pid) for pid in pids) for pids in (server_pids, backends)]
    if done is not None:
        done()
    generator.join()
    answers = outcome["answers"]
    wall = max(a["ended"] for a in answers) - outcome["fired"]
    latencies = [a["seconds"] * 1000 for a in answers]
    failed = [a for a in answers if a["code"] != 201]
    per_booking = 1000 / len(answers)
    return {"answers": answers, "wall": wall, "rate": len(answers) / wall, "failed": failed, "tokens": tokens,
            "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "cpu_ms": {"generator": outcome["cpu"] * per_booking, "server": (after[0] - before[0]) * per_booking,
                       "database": (after[1] - before[1]) * per_booking}}


# --- checking the outcome in the database ---

def check(engine: sa.Engine, slot_id: int, answers: list[dict] | None = None) -> dict:
    """Confirmed and waitlisted counts, and whether the waitlist follows arrival order."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT id, recipient_id, status, waitlist_order FROM booking WHERE slot_id = :slot ORDER BY id"),
            {"slot": slot_id}).all()
        booked_count = connection.scalar(sa.text("SELECT booked_count FROM slot WHERE id = :slot"), {"slot": slot_id})
    confirmed = [row for row in rows if row.status == "confirmed"]
    waiting = [row for row in rows if row.status == "waitlisted"]
    orders = [row.waitlist_order for row in waiting]  # in insertion (id) order
    in_order = orders == list(range(1, len(waiting) + 1)) and \
        (not confirmed or not waiting or max(r.id for r in confirmed) < min(r.id for r in waiting))
    if answers is not None:
        recorded = {row.recipient_id: row.waitlist_order for row in waiting}
        told = {a["recipient_id"]: a["body"].get("waitlist_position") for a in answers if a["code"] == 201}
        in_order = in_order and all(told.get(who) == order for who, order in recorded.items())
    return {"confirmed": len(confirmed), "waitlisted": len(waiting), "booked_count": booked_count,
            "in_order": in_order}


# --- the same bookings as bare SQL ---

def _raw_pg(connection, slot_id: int, recipient_id: int, now: datetime) -> None:
    with connection.transaction():
        capacity = connection.execute("SELECT capacity FROM slot WHERE id = %s FOR UPDATE", (slot_id,)).fetchone()[0]
        _raw_book(connection, capacity, slot_id, recipient_id, now, "%s")


def _raw_sqlite(connection, slot_id: int, recipient_id: int, now: datetime) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        capacity = connection.execute("SELECT capacity FROM slot WHERE id = ?", (slot_id,)).fetchone()[0]
        _raw_book(connection, capacity, slot_id, recipient_id, now.replace(tzinfo=None), "?")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _raw_book(connection, capacity: int, slot_id: int, recipient_id: int, now: datetime, mark: str) -> None:
    confirmed, waiting = connection.execute(
        "SELECT count(CASE WHEN status = 'confirmed' THEN 1 END), count(CASE WHEN status = 'waitlisted' THEN 1 END)"
        f" FROM booking WHERE slot_id = {mark}", (slot_id,)).fetchone()
    status, order = ("confirmed", None) if confirmed < capacity else ("waitlisted", waiting + 1)
    connection.execute(
        "INSERT INTO booking (slot_id, recipient_id, status, waitlist_order, created_at, updated_at, needs_transport)"
        f" VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark}, false)",
        (slot_id, recipient_id, status, order, now, now))
    if status == "confirmed":
        connection.execute(f"UPDATE slot SET booked_count = booked_count + 1 WHERE id = {mark}", (slot_id,))


def _connect(url: str):
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None, timeout=30)
        connection.execute("PRAGMA busy_timeout=30000")
        return connection, _raw_sqlite
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(f"postgresql://{parts.netloc}{parts.path}", autocommit=True), _raw_pg


def raw_worker(url: str, slot_id: int, recipients: list[int], barrier, results) -> None:
    connection, book = _connect(url)
    backend = getattr(getattr(connection, "info", None), "backend_pid", None)  # PostgreSQL's server process
    now = datetime.now(timezone.utc)
    latencies = []
    barrier.wait()
    cpu = (_own_cpu(), cpu_seconds(backend) if backend else 0.0)
    for recipient_id in recipients:
        started = time.perf_counter()
        book(connection, slot_id, recipient_id, now)
        latencies.append(time.perf_counter() - started)
    results.put((time.perf_counter(), latencies, _own_cpu() - cpu[0],
                 (cpu_seconds(backend) if backend else 0.0) - cpu[1]))
    connection.close()


def raw_burst(url: str, slot_id: int, recipients: list[int], concurrency: int) -> dict:
    """The bookings by ``concurrency`` processes, each with its own connection, started together."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(concurrency + 1), context.Queue()
    workers = [context.Process(target=raw_worker, args=(url, slot_id, recipients[n::concurrency], barrier, results))
               for n in range(concurrency)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    finished = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = max(end for end, *_ in finished) - started
    per_booking = 1000 / len(recipients)
    return {"wall": wall, "rate": len(recipients) / wall,
            "cpu_ms": {"client": sum(row[2] for row in finished) * per_booking,
                       "database": sum(row[3] for row in finished) * per_booking}}
