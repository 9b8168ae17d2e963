"""How many statements one booking costs, and how many of them run while the slot is locked.

Every booking of a slot waits for the slot's lock, so the burst rate (issue 7) is one over the time a
booking holds it. These counts keep it short: a lazy load or a second count brought back under the lock,
fails here. After the commit ``engine.book`` leaves the booking to be read back (the commit expires every
row, so that nothing read before it is taken for current): a fixed few statements, outside the lock. The
API makes its answer of the booking as written, before the commit, and reads nothing after it. On
PostgreSQL the booking goes on in the request's read transaction (READ COMMITTED): one commit in all.
"""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.booking.policies import policy_for
from careapp.core.db import LOCK_TIMEOUT_SECONDS, db
from careapp.core.errors import BadInput
from careapp.partners.models import ServiceKind
from tests.api_helpers import bearer, call  # noqa: F401
from tests.factories import make_family, make_slot
from tests.statements import count_statements

# Under the lock: the slot FOR UPDATE, one count, the booking's insert, the slot's tally (only when a
# place is taken) and the audit entry.
LOCKED_CONFIRMED = ["SELECT slot", "SELECT", "INSERT INTO booking", "UPDATE slot", "INSERT INTO audit_entry"]
LOCKED_WAITLISTED = ["SELECT slot", "SELECT", "INSERT INTO booking", "INSERT INTO audit_entry"]
# After the commit, outside the lock: the booking, slot, member and service read back (engine.book alone;
# the API's answer is made before the commit).
AFTER_COMMIT = 4


def _lock_start(statements: list[str]) -> int:
    """Where the slot's lock is taken: just after SQLite's BEGIN IMMEDIATE, or PostgreSQL's SELECT ... FOR
    UPDATE itself (the lock timeout is the connection's own, set when it opened: no statement of its own)."""
    for index, statement in enumerate(statements):
        if statement.startswith("BEGIN IMMEDIATE"):
            return index + 1
        if statement.startswith("SELECT") and re.search(r"FOR UPDATE( OF \w+)?$", statement.rstrip()):
            return index
    raise AssertionError(f"no lock taken: {statements}")


def _split(statements: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(before the lock, under it, after its commit), each statement whole; BEGIN and COMMIT left out."""
    start = _lock_start(statements)
    end = next((index for index in range(start + 1, len(statements)) if statements[index].startswith("COMMIT")),
               len(statements))

    def without_transaction_control(part: list[str]) -> list[str]:
        return [statement for statement in part if statement.split()[0] not in ("BEGIN", "COMMIT")]

    return (without_transaction_control(statements[:start]), without_transaction_control(statements[start:end]),
            without_transaction_control(statements[end + 1:]))


def _shape(locked: list[str]) -> list[str]:
    """A statement's kind and table: "SELECT slot" for a read of the slot table, "SELECT" for any other read."""
    shaped = []
    for statement in locked:
        words = statement.split()
        if words[0] == "SELECT" and "FROM slot " in " ".join(words) + " ":
            shaped.append("SELECT slot")
        elif words[0] == "SELECT":
            shaped.append("SELECT")
        elif words[0] == "UPDATE":
            shaped.append(" ".join(words[:2]))
        else:
            shaped.append(" ".join(words[:3]))
    return shaped


@pytest.fixture
def reading_room(world, clock):
    """A one-place reading-room slot tomorrow and three families, each with one elder."""
    now = clock.now()
    slot = make_slot(world.academy.services["图书阅览"], world.academy.manager, now, capacity=1)
    families = [make_family(world.building, now, f"读书家{i}") for i in range(3)]
    members = [family.add_elder(now, name=f"读者{i}") for i, family in enumerate(families)]
    ids = (slot.id, [(family.user, member.id) for family, member in zip(families, members)])
    db.session.commit()
    return ids


def test_engine_book_holds_the_lock_for_the_decision_and_the_writes_only(world, clock, reading_room):
    slot_id, families = reading_room
    answers = []
    for (user, member_id), expected in zip(families[:2], (LOCKED_CONFIRMED, LOCKED_WAITLISTED)):
        db.session.commit()  # a fresh request: nothing of the slot or the member loaded yet
        user.role  # (the request's user is loaded with its token)
        with count_statements(commits=True) as statements:
            result = engine.book(slot_id, member_id, by=user, now=clock.now())
            answers.append((result.booking.status, result.waitlist_position, result.booking.slot.starts_at,
                            result.booking.recipient.name, result.booking.slot.service.name))
        before, locked, after = _split(statements)
        assert _shape(locked) == expected, locked
        # Before the lock: the slot with its service and partner, and the member, in one statement.
        assert len(before) == 1 and "FROM slot JOIN service" in before[0], before
        # After it: the booking, its slot, member and service read back for the answer.
        assert len(after) <= AFTER_COMMIT, after
    assert [(status, position) for status, position, *_ in answers] == [
        (BookingStatus.confirmed, None), (BookingStatus.waitlisted, 1)]
    assert answers[1][3] == "读者1" and answers[1][4] == "图书阅览"


def test_api_booking_costs_a_fixed_number_of_statements(client, world, clock, bearer, reading_room):
    slot_id, families = reading_room
    for (user, member_id), expected, position in zip(families, (LOCKED_CONFIRMED, LOCKED_WAITLISTED,
                                                                 LOCKED_WAITLISTED), (None, 1, 2)):
        headers = bearer(user)
        with count_statements(commits=True) as statements:
            response = call(client, "POST", f"/slots/{slot_id}/bookings", headers, json={"recipient_id": member_id})
        assert response.status_code == 201, response.get_data(as_text=True)
        answer = response.get_json()
        assert (answer["waitlist_position"], answer["service_name"], answer["recipient_id"]) == (
            position, "图书阅览", member_id)
        before, locked, after = _split(statements)
        assert _shape(locked) == expected, locked
        assert after == [], after
        # The token with its user, then the slot (with service and partner) and the member in one statement.
        assert len(before) == 2 and "FROM api_token" in before[0] and "FROM slot JOIN service" in before[1], before
        if db.engine.dialect.name == "postgresql":  # no COMMIT + BEGIN between the read and the lock
            assert statements.count("COMMIT") == 1, statements
    db.session.rollback()
    stored = db.session.scalars(sa.select(Booking).where(Booking.slot_id == slot_id).order_by(Booking.id)).all()
    assert [(b.status, b.waitlist_order) for b in stored] == [
        (BookingStatus.confirmed, None), (BookingStatus.waitlisted, 1), (BookingStatus.waitlisted, 2)]


def test_the_position_answered_is_the_one_counted_afterwards(world, clock):
    """The new booking's place in line comes from the count made under the lock, not a second count: it
    must still agree with the count when someone ahead has left the waitlist (orders then have gaps)."""
    now = clock.now()
    slot = make_slot(world.academy.services["图书阅览"], world.academy.manager, now, capacity=1)
    families = [make_family(world.building, now, f"排队家{i}") for i in range(4)]
    members = [family.add_elder(now, name=f"排队{i}") for i, family in enumerate(families)]
    results = [engine.book(slot.id, member.id, by=family.user, now=now)
               for family, member in zip(families[:3], members[:3])]
    engine.cancel(results[1].booking.id, by=families[1].user, now=now)  # the head of the line leaves
    last = engine.book(slot.id, members[3].id, by=families[3].user, now=now)
    assert (last.booking.waitlist_order, last.waitlist_position) == (3, 2)
    db.session.expire_all()
    assert engine.waitlist_position(last.booking) == last.waitlist_position
    assert engine.waitlist_position(results[2].booking) == 1


def test_a_booking_waits_for_the_slot_lock_at_most_the_lock_timeout(app, client, world, clock, bearer, reading_room):
    """The lock timeout is every PostgreSQL connection's own (set when it opens, not by a statement in each
    write): a booking whose slot stays locked by another transaction gives up with 503 ``busy``, nothing
    written, instead of waiting for ever."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite waits on its busy timeout (PRAGMA busy_timeout), tested with the connection")
    slot_id, families = reading_room
    (user, member_id), headers = families[0], bearer(families[0][0])
    with db.engine.connect() as other:
        assert other.exec_driver_sql("SHOW lock_timeout").scalar() == f"{LOCK_TIMEOUT_SECONDS}s"
        other.exec_driver_sql(f"SELECT id FROM slot WHERE id = {int(slot_id)} FOR UPDATE")  # held until rollback
        started = time.monotonic()
        response = call(client, "POST", f"/slots/{slot_id}/bookings", headers, json={"recipient_id": member_id})
        waited = time.monotonic() - started
        other.rollback()
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "busy", response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"
    assert LOCK_TIMEOUT_SECONDS - 1 < waited < LOCK_TIMEOUT_SECONDS + 5
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.slot_id == slot_id)) == 0


def test_a_booking_refused_after_its_insert_leaves_nothing_behind(world, clock, reading_room, monkeypatch):
    """The booking's row is written by a plain INSERT ... RETURNING (``adopt_inserted``), not the ORM's
    flush: when a later step refuses it, the rollback takes the row and the object leaves the session, as an
    ORM-inserted one would (on SQLite the next booking may be given the same id)."""
    slot_id, families = reading_room
    (user, member_id), (other, other_member) = families[:2]
    policy = type(policy_for(ServiceKind.activity))

    def refuse(self, booking, options, settings, *, now):
        raise BadInput("refused after the insert")

    monkeypatch.setattr(policy, "apply_options", refuse)
    with pytest.raises(BadInput):
        engine.book(slot_id, member_id, by=user, now=clock.now())
    assert not [obj for obj in db.session if isinstance(obj, Booking)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.slot_id == slot_id)) == 0
    monkeypatch.undo()
    for who, member in ((user, member_id), (other, other_member)):
        engine.book(slot_id, member, by=who, now=clock.now())
    db.session.expire_all()
    stored = db.session.scalars(sa.select(Booking).where(Booking.slot_id == slot_id).order_by(Booking.id)).all()
    assert [(b.recipient_id, b.status) for b in stored] == [(member_id, BookingStatus.confirmed),
                                                            (other_member, BookingStatus.waitlisted)]
