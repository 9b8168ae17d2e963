"""Part 1 of bench/run.py: 500 families book one 50-place slot at the same moment.

- ``prepare``: a new slot of 50 places (and a fresh copy of it for the raw SQL run) on an activity
  service, about eleven days ahead, and 500 families each with one member eligible for it.
- ``fire``: a load generator in a process of its own: a ``requests.Session`` and a bearer token per family
  (``POST /api/v1/tokens`` beforehand), then 500 threads released by one barrier each
  ``POST /api/v1/slots/<id>/bookings``.
- ``check``: from the database, 50 confirmed and 450 waitlisted, waitlist order = insertion order, and each
  answer's waitlist position = the order the engine recorded.
- ``raw_burst``: the same 500 booking transactions as bare SQL (the minimal correct transaction), run by as
  many processes as gunicorn has workers (the most transactions careapp can have in flight at once).
"""
from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa

from speed_common import percentile

PLACES = 50
FAMILIES = 500
PASSWORD = "careapp-bench-2026"


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
    from flask import current_app

    from careapp.benchdata import family_login
    from careapp.core.db import db
    from careapp.core.errors import CareappError
    from careapp.households.models import CareRecipient

    chosen: dict[int, int] = {}
    for recipient in db.session.scalars(sa.select(CareRecipient).order_by(CareRecipient.household_id,
                                                                          CareRecipient.id)):
        if recipient.household_id in chosen:
            continue
        try:
            policy.check_eligible(recipient, slot, current_app.config)
        except CareappError:
            continue
        chosen[recipient.household_id] = recipient.id
    return [(family_login(household), recipient) for household, recipient in chosen.items()]


# --- the load generator (a process of its own) ---

def _log_in(base_url: str, login: str) -> requests.Session:
    session = requests.Session()
    answer = session.post(f"{base_url}/api/v1/tokens", json={"login": login, "password": PASSWORD}, timeout=120)
    answer.raise_for_status()
    session.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return session


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


def load_generator(base_url: str | Sequence[str], slot_id: int, families: list[tuple[str, int]], results) -> None:
    """Log every family in (16 at a time), then fire all bookings at once; put the answers on ``results``."""
    sessions: list[requests.Session | None] = [None] * len(families)

    def log_in(worker: int) -> None:
        for index in range(worker, len(families), 16):
            sessions[index] = _log_in(server_for(base_url, index), families[index][0])

    _in_threads(16, log_in)
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
    barrier.wait()
    fired = time.perf_counter()
    for thread in threads:
        thread.join()
    results.put({"fired": fired, "answers": answers})


def fire(base_url: str | Sequence[str], plan: BurstPlan) -> dict:
    """Run the load generator in a spawned process (against one server, or several: see server_for); returns
    its figures."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    generator = context.Process(target=load_generator, args=(base_url, plan.slot_id, plan.families, results))
    generator.start()
    outcome = results.get(timeout=1800)  # the generator died (a failed login, say) if nothing comes
    generator.join()
    answers = outcome["answers"]
    wall = max(a["ended"] for a in answers) - outcome["fired"]
    latencies = [a["seconds"] * 1000 for a in answers]
    failed = [a for a in answers if a["code"] != 201]
    return {"answers": answers, "wall": wall, "rate": len(answers) / wall, "failed": failed,
            "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99)}


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
    now = datetime.now(timezone.utc)
    latencies = []
    barrier.wait()
    for recipient_id in recipients:
        started = time.perf_counter()
        book(connection, slot_id, recipient_id, now)
        latencies.append(time.perf_counter() - started)
    results.put((time.perf_counter(), latencies))
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
    wall = max(end for end, _ in finished) - started
    return {"wall": wall, "rate": len(recipients) / wall}
