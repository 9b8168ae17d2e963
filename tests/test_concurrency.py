"""Many families booking one slot at the same moment, through a live multi-process server.

A real gunicorn with 4 worker processes serves the API against the test
database; 60 requests for a 20-place slot are released together. With the
engine's guard (slot lock + re-count) exactly 20 are confirmed and the other
40 hold unique waitlist positions 1..40. The control run switches the guard
off (CAREAPP_BOOKING_GUARD=off) and shows the race is real.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from careapp.accounts.services import issue_token
from careapp.booking.models import HOLDS_PLACE, Booking, BookingStatus
from careapp.core.db import db
from tests.factories import make_family, make_slot

WORKERS = 4
REQUESTS = 60
CAPACITY = 20

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test run is killed, so no gunicorn outlives it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


class LiveServer:
    def __init__(self, database_url: str, instance_path: str, *, guard: bool):
        self.port = free_port()
        env = {**os.environ, "CAREAPP_DATABASE_URL": database_url, "CAREAPP_INSTANCE_PATH": instance_path,
               "CAREAPP_RATE_LIMITS": "off", "CAREAPP_SECRET_KEY": "concurrency-test",
               "CAREAPP_BOOKING_GUARD": "on" if guard else "off"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--threads", "4", "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "careapp:create_app()"],
            env=env, cwd=os.path.dirname(os.path.dirname(__file__)), preexec_fn=die_with_parent)
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up")
            try:
                requests.get(self.url + "/api/v1/openapi.json", timeout=5)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start in 30 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            # gunicorn lets its workers finish for up to 30 s (its graceful timeout), slower on a busy machine.
            self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def crowd(world, clock):
    """A 20-place day-care slot and 60 families, each with an elder and an API token."""
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, days_ahead=2, capacity=CAPACITY)
    people = []
    for i in range(REQUESTS):
        family = make_family(world.building, now, f"抢号家{i}")
        elder = family.add_elder(now, name=f"老人{i}")
        token, _ = issue_token(family.user, now=now)
        people.append((token, elder.id))
    db.session.commit()
    return slot.id, people


def book_all_at_once(server_url: str, slot_id: int, people) -> list[requests.Response]:
    barrier = threading.Barrier(len(people))

    def attempt(person):
        token, recipient_id = person
        with requests.Session() as http:
            barrier.wait()
            return http.post(f"{server_url}/api/v1/slots/{slot_id}/bookings", json={"recipient_id": recipient_id},
                             headers={"Authorization": f"Bearer {token}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        return list(pool.map(attempt, people))


def places_held(slot_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.slot_id == slot_id, Booking.status.in_(HOLDS_PLACE)))


def run_burst(app, tmp_path, slot_id, people, *, guard: bool):
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path), guard=guard)
    try:
        return book_all_at_once(server.url, slot_id, people)
    finally:
        server.stop()


def test_simultaneous_bookings_never_overbook_and_waitlist_positions_are_unique(app, tmp_path, crowd):
    slot_id, people = crowd
    responses = run_burst(app, tmp_path, slot_id, people, guard=True)
    assert [r.status_code for r in responses] == [201] * REQUESTS, [r.text for r in responses if r.status_code != 201]
    bodies = [r.json() for r in responses]
    confirmed = [b for b in bodies if b["status"] == BookingStatus.confirmed.value]
    waitlisted = [b for b in bodies if b["status"] == BookingStatus.waitlisted.value]
    assert len(confirmed) == CAPACITY
    assert sorted(b["waitlist_position"] for b in waitlisted) == list(range(1, REQUESTS - CAPACITY + 1))
    assert places_held(slot_id) == CAPACITY


def test_control_without_the_guard_the_race_is_real(app, tmp_path, world, clock, crowd):
    """Guard off: requests read the count, then write without the lock. Bookings overbook the slot or
    collide and fail (SQLite's deferred writers; PostgreSQL's duplicate waitlist order). The collision
    depends on timing, so up to three bursts are tried, each on a fresh slot."""
    _, people = crowd
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path), guard=False)
    outcomes = []
    try:
        for attempt in range(3):
            slot = make_slot(world.daycare, world.care_centre.manager, clock.now(), days_ahead=3 + attempt,
                             capacity=CAPACITY)
            slot_id = slot.id
            db.session.commit()
            responses = book_all_at_once(server.url, slot_id, people)
            overbooked = places_held(slot_id) - CAPACITY
            failed = sum(r.status_code != 201 for r in responses)
            outcomes.append((overbooked, failed))
            if overbooked > 0 or failed:
                break
    finally:
        server.stop()
    assert any(over > 0 or failed for over, failed in outcomes), \
        f"without the guard three bursts came out right {outcomes}; the control shows nothing"
