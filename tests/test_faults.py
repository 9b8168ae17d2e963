"""Faults survived (issue 8): PostgreSQL restarted while families book, the mail server down, and a request
interrupted half way through its transaction.

- A private PostgreSQL server (tests/fault_servers.py; the suite's shared one is never restarted) is
  stopped and started under a real `careapp serve` taking bookings: requests meanwhile get 503 with
  Retry-After, the same worker processes serve again afterwards, and every booking a family was told
  of (201) exists exactly once, with no slot overbooked.
- The mail server refuses connections, or takes them and never answers: messages wait with a retry time
  and go out once each when it is back.
- A booking interrupted before any of its write statements, or before its commit, by a lost database
  connection or by an error of ours, leaves every table as it was and answers a clear error; a real
  worker killed while its transaction is open (PostgreSQL) leaves nothing either.
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time as clock_time, timedelta
from queue import Empty, Queue

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import event

from careapp import create_app
from careapp.accounts.services import issue_token
from careapp.booking import engine
from careapp.booking.models import HOLDS_PLACE, TALLIES, Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.clock import FrozenClock
from careapp.core.db import db
from careapp.core.timefmt import from_local, local_date
from careapp.notifications.models import DeliveryStatus, Notification
from careapp.partners.models import Slot
from careapp.scheduler.jobs import reminders_job, send_notifications_job
from tests.conftest import SHANGHAI, base_config
from tests.factories import World, make_family, make_slot
from tests.fault_servers import CareappServe, PrivatePostgres, postgres_bin
from tests.notification_helpers import deliveries, family_with_email
from tests.page_helpers import login
from tests.smtp_server import SmtpServer, free_port


def table_contents() -> dict[str, list[tuple]]:
    """Every row of every table, as committed (a fresh read), in primary-key order."""
    db.session.rollback()
    contents = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            contents[table.name] = [tuple(row) for row in rows]
    return contents


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def booking_rows(slot_id: int) -> list[Booking]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Booking).where(Booking.slot_id == slot_id).order_by(Booking.id)))


def audit_entries_of(booking_ids: list[int]) -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(sa.select(AuditEntry.object_id).where(
        AuditEntry.object_type == "booking", AuditEntry.object_id.in_(booking_ids))))


def assert_slot_consistent(slot_id: int) -> list[Booking]:
    """Never overbooked, the waitlist's order unique, and the slot's tallies equal to its bookings."""
    bookings = booking_rows(slot_id)
    slot = db.session.get(Slot, slot_id)
    held = [b for b in bookings if b.status in HOLDS_PLACE]
    assert len(held) == min(slot.capacity, len(bookings)), (len(held), slot.capacity, len(bookings))
    orders = [b.waitlist_order for b in bookings if b.status == BookingStatus.waitlisted]
    assert len(orders) == len(set(orders)) == len(bookings) - len(held)
    for column, statuses in TALLIES.items():
        assert getattr(slot, column) == sum(b.status in statuses for b in bookings), column
    return bookings


# --- 1. PostgreSQL restarted while bookings are being made ---

HOUSEHOLDS = 60
SLOTS = 2
CAPACITY = 12
CLIENTS = 6
OUTAGE_SECONDS = 3
BOOKED_BEFORE_OUTAGE = 8
# A client's pause between households and before retrying a 503: a family at a phone, sped up. Slow enough
# that many households are still to book when the database goes away.
PACE_SECONDS = 0.25
RETRY_SECONDS = 0.2


@dataclass(frozen=True)
class Attempt:
    household: int
    sent: float  # time.monotonic()
    answered: float
    status: int | None  # None: no HTTP answer at all
    retry_after: str | None = None
    code: str | None = None
    booking_id: int | None = None

    @property
    def final(self) -> bool:
        """The family knows where it stands: booked now, or already booked by an earlier try."""
        return self.status == 201 or (self.status == 409 and self.code == "duplicate_booking")


def book_once(http: requests.Session, url: str, household: int, token: str, recipient_id: int) -> Attempt:
    sent = time.monotonic()
    try:
        response = http.post(url, json={"recipient_id": recipient_id},
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except requests.RequestException:
        return Attempt(household, sent, time.monotonic(), None)
    body = response.json() if response.headers.get("Content-Type") == "application/json" else {}
    return Attempt(household, sent, time.monotonic(), response.status_code, response.headers.get("Retry-After"),
                   (body.get("error") or {}).get("code"), body.get("id") if response.status_code == 201 else None)


class BookingClients:
    """CLIENTS threads booking one household after another, each retrying on 503 until the family knows it
    has its booking (201, or 409 duplicate_booking when an earlier try went through unacknowledged)."""

    def __init__(self, server_url: str, people: list[tuple[str, int, int]], deadline: float):
        self.server_url, self.people, self.deadline = server_url, people, deadline
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()
        self.todo: Queue[int] = Queue()
        for household in range(len(people)):
            self.todo.put(household)
        self.pool = ThreadPoolExecutor(max_workers=CLIENTS)
        self.futures = [self.pool.submit(self._client) for _ in range(CLIENTS)]

    def _client(self) -> None:
        with requests.Session() as http:
            while time.monotonic() < self.deadline:
                try:
                    household = self.todo.get_nowait()
                except Empty:
                    return
                token, slot_id, recipient_id = self.people[household]
                url = f"{self.server_url}/api/v1/slots/{slot_id}/bookings"
                while time.monotonic() < self.deadline:
                    attempt = book_once(http, url, household, token, recipient_id)
                    with self.lock:
                        self.attempts.append(attempt)
                    if attempt.status not in (503, None):
                        break
                    time.sleep(RETRY_SECONDS)
                time.sleep(PACE_SECONDS)

    def acknowledged(self) -> int:
        with self.lock:
            return sum(a.status == 201 for a in self.attempts)

    def cancel(self) -> None:
        """Stop every client after its current request (the test failed half way)."""
        self.deadline = 0

    def wait(self) -> list[Attempt]:
        for future in self.futures:
            future.result(timeout=max(1, self.deadline - time.monotonic() + 35))
        self.pool.shutdown()
        return list(self.attempts)


@pytest.fixture
def private_postgres():
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are not installed: the restart test needs a private "
                    "server of its own, since the suite's shared one must never be restarted")
    server = PrivatePostgres(bin_dir)
    try:
        server.start()
        server.create_database("careapp")
        yield server
    finally:
        server.remove()


@pytest.fixture
def booking_day(private_postgres, tmp_path):
    """The private database migrated by `careapp init-db`, with SLOTS day-care slots and HOUSEHOLDS families
    with an API token each, made at the real time (the server books at the real time)."""
    url = private_postgres.url("careapp")
    CareappServe.init_db(url, str(tmp_path / "server"))
    now = datetime.now(SHANGHAI)
    seeding = create_app({**base_config(url), "CLOCK": FrozenClock(now)}, instance_path=str(tmp_path / "seed"))
    with seeding.app_context():
        world = World.build(now)
        slot_ids = [make_slot(world.daycare, world.care_centre.manager, now, days_ahead=2, capacity=CAPACITY,
                              start=clock_time(8 + 3 * n, 0)).id for n in range(SLOTS)]
        people = []
        for n in range(HOUSEHOLDS):
            family = make_family(world.building, now, f"重启家{n}")
            elder = family.add_elder(now, name=f"老人{n}")
            token, _ = issue_token(family.user, now=now)
            people.append((token, slot_ids[n % SLOTS], elder.id))
        db.session.commit()
        yield seeding, url, slot_ids, people
        db.session.remove()
        db.engine.dispose()


@pytest.mark.slow
def test_postgresql_restarted_while_families_book(private_postgres, booking_day, tmp_path):
    """Six clients book 60 households into two 12-place slots through `careapp serve` (2 workers); after
    the first bookings the database is stopped for 3 s and started again. Clients retry a 503 as the
    app asks, until they hold a 201 or a 409 duplicate_booking (their earlier try went through, its answer
    lost)."""
    seeding, url, slot_ids, people = booking_day
    server = CareappServe(url, str(tmp_path / "server"), workers=2).start()
    clients = None
    try:
        workers = server.worker_pids()
        clients = BookingClients(server.url, people, deadline=time.monotonic() + 90)  # ~10 s unloaded
        wait_for(lambda: clients.acknowledged() >= BOOKED_BEFORE_OUTAGE, 20, "the first bookings")
        stopping = time.monotonic()
        private_postgres.stop("fast")  # every connection is cut, transactions under way are rolled back
        down = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        starting = time.monotonic()
        private_postgres.start()
        up = time.monotonic()
        attempts = clients.wait()
        # Restarted again while nobody books: each worker's pooled connection is dead, and the next
        # requests must not notice (the pool tests a connection before handing it out).
        private_postgres.stop("fast")
        private_postgres.start()
        with requests.Session() as http:
            reads = [http.get(f"{server.url}/api/v1/bookings", headers={"Authorization": f"Bearer {people[0][0]}"},
                              timeout=30).status_code for _ in range(12)]
        assert reads == [200] * 12, reads
        assert server.worker_pids() == workers, "a worker was replaced: the app did not recover by itself"
    finally:
        if clients is not None:
            clients.cancel()
        server.stop()

    statuses = Counter(a.status for a in attempts)
    assert set(statuses) <= {201, 409, 503}, statuses  # no 500, no 4xx of another kind, always an answer
    busy = [a for a in attempts if a.status == 503]
    assert all(a.retry_after == "5" and a.code == "busy" for a in busy), busy[:3]
    during = [a for a in attempts if a.sent > down and a.answered < starting]
    assert during and all(a.status == 503 for a in during), Counter(a.status for a in during)
    assert any(a.status == 201 and a.sent < stopping for a in attempts), statuses
    assert any(a.status == 201 and a.sent > up for a in attempts), "no booking after the restart"
    late = Counter(a.status for a in attempts if a.sent > up)
    assert set(late) <= {201, 409}, late  # back at once, for everyone
    unfinished = set(range(HOUSEHOLDS)) - {a.household for a in attempts if a.final}
    assert not unfinished, f"{len(unfinished)} families never got an answer after the restart"
    assert all(a.code == "duplicate_booking" for a in attempts if a.status == 409)

    acknowledged = {a.booking_id: people[a.household][2] for a in attempts if a.status == 201}
    assert len(acknowledged) == statuses[201]  # each acknowledged booking its own row
    with seeding.app_context():
        db.engine.dispose()  # the pool's connections died with the old server
        bookings = [b for slot_id in slot_ids for b in assert_slot_consistent(slot_id)]
        by_id = {b.id: b for b in bookings}
        assert all(booking_id in by_id and by_id[booking_id].recipient_id == recipient_id
                   for booking_id, recipient_id in acknowledged.items())
        # Every family holds exactly one booking: its 201, or the try whose answer it lost (its retry got 409).
        assert Counter(b.recipient_id for b in bookings) == Counter({p[2]: 1 for p in people})
        assert audit_entries_of(list(by_id)) == Counter({booking_id: 1 for booking_id in by_id})


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


# --- 2. SMTP down ---

class SilentMailServer:
    """A mail server that takes connections and never says a word (hung, or a firewall eating replies)."""

    def __init__(self, port: int):
        self.sock = socket.create_server(("127.0.0.1", port))

    def stop(self) -> None:
        self.sock.close()


@pytest.fixture
def mail_port(app):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SENDER="care@zhelu.example",
                      SMS_BACKEND="off", MAIL_TIMEOUT=1)
    return port


@pytest.mark.parametrize("outage", ["refused", "silent"])
def test_while_smtp_is_down_messages_wait_and_go_out_once_when_it_returns(world, clock, mail_port, outage):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=3)
    families = [family_with_email(world.building, now, f"邮件家{i}", f"family{i}@example.com") for i in range(4)]
    booked = [engine.book(slot.id, family.add_elder(now, name=f"老人{i}").id, by=family.user, now=now).booking
              for i, family in enumerate(families)]
    engine.cancel(booked[0].id, by=families[0].user, now=now)  # the waitlisted family gets the place, and a notice
    eve = from_local(local_date(now), clock_time(18, 0))
    reminders_job(eve)  # the evening reminders of the three booked
    expected = Counter(d.address for d in deliveries())
    assert sum(expected.values()) >= 4 and set(expected) <= {f"family{i}@example.com" for i in range(4)}
    messages = count_notifications()

    silent = SilentMailServer(mail_port) if outage == "silent" else None
    try:
        assert send_notifications_job(eve) == 0  # no exception escapes the scheduler's job
        waiting = deliveries()
        assert Counter(d.address for d in waiting) == expected  # nothing lost
        assert {(d.status, d.attempts, d.next_attempt_at) for d in waiting} == {
            (DeliveryStatus.pending, 1, eve + timedelta(seconds=30))}
        assert all("cannot reach the mail server" in d.last_error for d in waiting)
        assert send_notifications_job(eve + timedelta(seconds=29)) == 0  # not due yet: not even tried
        assert {d.attempts for d in deliveries()} == {1}
    finally:
        if silent is not None:
            silent.stop()

    smtp = SmtpServer(mail_port).start()
    try:
        assert send_notifications_job(eve + timedelta(seconds=30)) == sum(expected.values())
        assert send_notifications_job(eve + timedelta(hours=1)) == 0
        received = smtp.received
    finally:
        smtp.stop()
    assert Counter(r.recipients[0] for r in received) == expected
    assert len({r.message_id for r in received}) == len(received)  # each message once
    sent = deliveries()
    assert {d.status for d in sent} == {DeliveryStatus.sent} and all(d.attempts == 2 for d in sent)
    assert count_notifications() == messages


def count_notifications() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification))


# --- 3. A request interrupted half way through its transaction ---

WRITES = ("INSERT", "UPDATE", "DELETE")


class Interruption:
    """Interrupts the next request at its ``at``-th write statement (before it runs) or at its commit:
    ``disconnect`` closes the database connection under it, as a network failure or a server killing the
    session would; ``bug`` raises an error of ours in the middle of the rule."""

    def __init__(self, engine_: sa.Engine, how: str, at: int | str | None):
        self.engine, self.how, self.at = engine_, how, at
        self.writes = 0
        self.fired = False

    def __enter__(self) -> Interruption:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            self.writes += 1
            if self.writes == self.at:
                self._fire(conn)

    def _commit(self, conn) -> None:
        if self.at == "commit" and self.writes:
            self._fire(conn)

    def _fire(self, conn) -> None:
        self.fired = True
        if self.how == "bug":
            raise RuntimeError("interrupted by tests/test_faults.py")
        conn.connection.dbapi_connection.close()  # the statement (or COMMIT) then fails as on a lost connection


@dataclass
class BookingRequest:
    """How one booking reaches careapp: the JSON API or the slot page's form."""

    surface: str
    client: object
    headers: dict

    def book(self, slot_id: int, recipient_id: int):
        if self.surface == "api":
            return self.client.post(f"/api/v1/slots/{slot_id}/bookings", json={"recipient_id": recipient_id},
                                    headers=self.headers)
        return self.client.post(f"/booking/slots/{slot_id}/book", data={"recipient_id": recipient_id})

    def succeeded(self, response) -> bool:
        return response.status_code == (201 if self.surface == "api" else 302)

    def assert_clear_error(self, response, how: str) -> None:
        status, words = (503, "please try again in a few seconds") if how == "disconnect" else (
            500, "nothing was changed")
        assert response.status_code == status, response.get_data(as_text=True)[:500]
        text = response.get_data(as_text=True)
        assert "Traceback" not in text and "RuntimeError" not in text and "sqlalchemy" not in text.lower()
        if status == 503:
            assert response.headers["Retry-After"] == "5"
        if self.surface == "api":
            error = response.get_json()["error"]
            assert error["code"] == ("busy" if how == "disconnect" else "internal_error")
            assert words in error["message"]
        else:
            assert response.mimetype == "text/html" and words in text


@pytest.mark.parametrize("surface", ["api", "page"])
@pytest.mark.parametrize("how", ["disconnect", "bug"])
def test_a_booking_interrupted_at_any_write_or_its_commit_changes_nothing(app, world, clock, client, surface, how):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: an error of ours is a 500 page, not a crash
    now = clock.now()
    family = world.family
    elder, rehearsal_elder = family.add_elder(now, name="王奶奶"), family.add_elder(now, name="王爷爷")
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    rehearsal_slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2, days_ahead=2)
    if surface == "page":
        login(client, family.user)
        headers = {}
    else:
        headers = {"Authorization": f"Bearer {issue_token(family.user, now=now)[0]}"}
    request = BookingRequest(surface, client, headers)

    # The same booking once without a fault, in another slot: how many write statements it makes.
    with Interruption(db.engine, how, at=None) as rehearsal:
        assert request.succeeded(request.book(rehearsal_slot.id, rehearsal_elder.id))
    assert rehearsal.writes >= 3  # the booking, the slot's tallies, the audit entry at least

    before = table_contents()
    for at in [*range(1, rehearsal.writes + 1), "commit"]:
        with Interruption(db.engine, how, at=at) as interruption:
            response = request.book(slot.id, elder.id)
        assert interruption.fired, at
        request.assert_clear_error(response, how)
        assert changed_tables(before, table_contents()) == [], f"interrupted at write {at}"

    # The next request works, on a fresh connection, and books exactly once.
    assert request.succeeded(request.book(slot.id, elder.id))
    [booking] = booking_rows(slot.id)
    assert booking.recipient_id == elder.id and booking.status == BookingStatus.confirmed
    assert_slot_consistent(slot.id)
    assert audit_entries_of([booking.id]) == Counter({booking.id: 1})


@pytest.mark.slow
def test_a_worker_killed_inside_its_booking_transaction_leaves_nothing(app, clock, tmp_path):
    """A real `careapp serve` worker is killed (SIGKILL) after its booking's first writes, while its
    transaction is open: it waits for a lock the test holds on the audit table. PostgreSQL rolls the
    transaction back when the connection dies; the server's next worker books normally."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: holding a booking's transaction open half way needs PostgreSQL's table "
                    "locks (SQLite takes its one write lock at BEGIN); this test runs in the PostgreSQL run")
    now = datetime.now(SHANGHAI)  # the server books at the real time
    clock.set(now)
    world = World.build(now)
    elder = world.family.add_elder(now, name="王奶奶")
    slot = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=2, capacity=2)
    token, _ = issue_token(world.family.user, now=now)
    db.session.commit()
    before = table_contents()

    server = CareappServe(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path), workers=1).start()
    watcher = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    try:
        [worker] = server.worker_pids()
        with watcher.connect() as blocker, ThreadPoolExecutor(max_workers=1) as pool, requests.Session() as http:
            blocker.exec_driver_sql("LOCK TABLE audit_entry IN SHARE MODE")  # reads pass, inserts wait
            answer = pool.submit(book_once, http, f"{server.url}/api/v1/slots/{slot.id}/bookings", 0, token,
                                 elder.id)
            backend = waiting_insert(watcher, "audit_entry", timeout=8)
            assert written_tables(watcher, backend) >= {"booking", "slot"}  # the booking is half written
            os.kill(worker, signal.SIGKILL)
            attempt = answer.result(timeout=30)
            blocker.rollback()  # the lock goes; the dead client's transaction can never commit
            wait_for(lambda: not backend_alive(watcher, backend), 15, "the killed worker's session to end")
        assert attempt.status is None  # the connection dropped (a proxy in front answers 502)
        assert changed_tables(before, table_contents()) == []

        wait_for(lambda: len(server.worker_pids() - {worker}) == 1, 30, "gunicorn to start a new worker")
        with requests.Session() as http:
            again = book_once(http, f"{server.url}/api/v1/slots/{slot.id}/bookings", 0, token, elder.id)
        assert again.status == 201, again
    finally:
        watcher.dispose()
        server.stop()
    [booking] = booking_rows(slot.id)
    assert booking.id == again.booking_id
    assert_slot_consistent(slot.id)
    assert audit_entries_of([booking.id]) == Counter({booking.id: 1})


def waiting_insert(watcher: sa.Engine, table: str, timeout: float) -> int:
    """The server process (backend pid) of the session waiting for a lock to insert into ``table``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with watcher.connect() as connection:
            pid = connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND query ILIKE %(insert)s", {"insert": f"INSERT INTO {table}%"}).scalar()
        if pid:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"no session waited to insert into {table} within {timeout} s")


def written_tables(watcher: sa.Engine, backend: int) -> set[str]:
    with watcher.connect() as connection:
        return set(connection.exec_driver_sql(
            "SELECT relation::regclass::text FROM pg_locks WHERE pid = %(pid)s AND mode = 'RowExclusiveLock'"
            " AND locktype = 'relation'", {"pid": backend}).scalars())


def backend_alive(watcher: sa.Engine, backend: int) -> bool:
    with watcher.connect() as connection:
        return bool(connection.exec_driver_sql("SELECT 1 FROM pg_stat_activity WHERE pid = %(pid)s",
                                               {"pid": backend}).scalar())
