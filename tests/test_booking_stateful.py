"""The booking engine under random sequences of what its users do (Hypothesis, stateful).

Each example builds a small district on the real test database (SQLite, or PostgreSQL when
CAREAPP_TEST_DATABASE_URL is set): three slots of three kinds (day care, which hands a freed place to the next in
line at once, and a childcare class and a canteen dinner, which offer it for a time), twelve household members in
four households, and a nursery staff shift that gives the class its places. Then it takes up to 25 steps, each one
user doing one thing through the real rules: a family (or community staff on its behalf, or the wrong family)
books, cancels, accepts or declines an offer; the clock moves and the scheduler expires offers and sweeps; a
manager (or, refused, a member of staff) changes a capacity or the roster; partner staff check people in and out.
Refusals (the domain errors of careapp.core.errors) are normal outcomes but must change nothing; any other
exception fails.

After every step the invariants below are checked against the tables, the audit trail and the JSON API.
The examples are derandomized (the same sequences on every run, so CI is reproducible) and each one starts
from empty tables, as every test does (tests/conftest.py).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, time

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from careapp.accounts.models import Role, User
from careapp.accounts.services import issue_token
from careapp.booking import engine
from careapp.booking.models import BOOKED, HOLDS_PLACE, TALLIES, Booking, BookingStatus
from careapp.booking.policies import policy_for
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import Busy, CareappError, Conflict, Forbidden, RuleRefused
from careapp.core.timefmt import from_local, local_date
from careapp.households.services import add_authorised_adult
from careapp.partners import shifts
from careapp.partners.models import (ChildClass, FillPolicy, MealTime, PartnerKind, ServiceKind, Shift,
                                     ShiftAssignment, ShiftRole, Slot, SlotStatus)
from careapp.partners.services import create_slot
from tests.conftest import START, IsolatedClient, empty_tables
from tests.factories import make_family, make_neighbourhood, make_partner, make_user

API = "/api/v1"
CHILDREN_PER_STAFF = 2

SETTINGS = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,   # the same examples on every run: CI is reproducible
    database=None,      # nothing written to .hypothesis/
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# Which change of status each audited booking action records: (status before, status after).
CANCELLED = "cancelled"
TRANSITIONS: dict[str, set[tuple[str | None, str]]] = {
    "booking.confirmed": {(None, "confirmed")},
    "booking.waitlisted": {(None, "waitlisted")},
    "booking.promoted": {("waitlisted", "confirmed")},
    "booking.offered": {("waitlisted", "offered")},
    "booking.offer_accepted": {("offered", "confirmed")},
    "booking.cancelled": {("confirmed", CANCELLED), ("waitlisted", CANCELLED), ("offered", CANCELLED)},
    "booking.declined": {("offered", CANCELLED)},
    "booking.offer_expired": {("offered", CANCELLED)},
    "booking.waitlist_closed": {("waitlisted", CANCELLED)},
    "booking.slot_cancelled": {("confirmed", CANCELLED), ("waitlisted", CANCELLED), ("offered", CANCELLED)},
    "booking.checked_in": {("confirmed", "checked_in")},
    "booking.checked_out": {("checked_in", "checked_out")},
    "booking.no_show": {("confirmed", "no_show")},
}
# Booking entries that record no change of status.
NO_STATUS_ACTIONS = {"booking.collection_refused", "booking.changed"}
PENDING = {BookingStatus.confirmed, BookingStatus.waitlisted, BookingStatus.offered}

# What happened, over all examples (the test asserts that every kind of step really ran, not only refusals).
outcomes: Counter[str] = Counter()


@dataclass(frozen=True)
class State:
    """The tables that the rules change, read fresh (column selects: no ORM identity map in the way)."""

    # booking id -> (slot_id, recipient_id, status, waitlist_order, offer_expires_at, end_reason)
    bookings: dict[int, tuple]
    slots: dict[int, tuple]         # id -> (capacity, staffed_places, status, booked, attended, no_show)
    roster: frozenset               # (shift_id, user_id, assignment_id)
    shift_ends: dict[int, time]
    audit_top: int

    def held(self, slot_id: int) -> int:
        return sum(1 for row in self.bookings.values() if row[0] == slot_id and row[2] in HOLDS_PLACE)

    def places(self, slot_id: int) -> int:
        capacity, staffed = self.slots[slot_id][:2]
        return capacity if staffed is None else min(capacity, staffed)

    def live(self, slot_id: int, recipient_id: int) -> bool:
        return any(row[0] == slot_id and row[1] == recipient_id and row[2] != BookingStatus.cancelled
                   for row in self.bookings.values())


def read_state() -> State:
    """Read on a connection of its own, outside the ORM session: a fresh snapshot that leaves the session's
    objects (the users acting) as they were."""
    with db.engine.connect() as conn:
        bookings = {row[0]: tuple(row[1:]) for row in conn.execute(sa.select(
            Booking.id, Booking.slot_id, Booking.recipient_id, Booking.status, Booking.waitlist_order,
            Booking.offer_expires_at, Booking.end_reason))}
        slots = {row[0]: tuple(row[1:]) for row in conn.execute(sa.select(
            Slot.id, Slot.capacity, Slot.staffed_places, Slot.status, Slot.booked_count, Slot.attended_count,
            Slot.no_show_count))}
        roster = frozenset(tuple(row) for row in conn.execute(
            sa.select(ShiftAssignment.shift_id, ShiftAssignment.user_id, ShiftAssignment.id)))
        shift_ends = dict(conn.execute(sa.select(Shift.id, Shift.end_time)).all())
        top = conn.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0
    return State(bookings, slots, roster, shift_ends, top)


def entries_after(audit_id: int) -> list:
    """The audit entries written since ``audit_id``, oldest first."""
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(
            AuditEntry.id, AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id, AuditEntry.actor_id,
            AuditEntry.before, AuditEntry.after).where(AuditEntry.id > audit_id).order_by(AuditEntry.id)))


@dataclass(frozen=True)
class SlotTimes:
    starts_at: datetime
    ends_at: datetime
    booking_closes_at: datetime
    cancellation_closes_at: datetime


@dataclass
class Member:
    id: int
    household: int      # index into BookingMachine.families
    kind: str           # "elder" or "child"
    adult_id: int | None = None   # a child's authorised adult


class BookingMachine(RuleBasedStateMachine):
    """Users of every role doing random things to three slots; the invariants hold after each step."""

    app = None  # set by the test below

    def __init__(self):
        super().__init__()
        self.before: State | None = None
        self._after: State | None = None
        self._api_checked: tuple | None = None
        self.step_kind = "initialize"

    @property
    def after(self) -> State:
        """The tables after the step (read once for all the invariants)."""
        if self._after is None:
            self._after = read_state()
        return self._after

    # --- the scene ---

    @initialize(opening=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1000)), min_size=5, max_size=10))
    def build_scene(self, opening):
        app = type(self).app
        self.clock = app.extensions["careapp.clock"]
        self.clock.set(START)
        now = self.now
        assert read_state().audit_top == 0, "an example must start from empty tables"
        self.today = local_date(now)  # Tuesday 1 December 2026; it is 09:00
        _community, _grid, near, other = make_neighbourhood()
        admin = make_user(Role.admin, now, name="管理员")
        self.community_staff = make_user(Role.community_staff, now, name="网格员")
        care = make_partner("普康养老服务中心", PartnerKind.elderly_care_centre, admin, now, {
            "日间照料": (ServiceKind.daycare, 1, {"ability_levels": "012"}),
            "长者晚餐": (ServiceKind.meal, 1, {"meal": MealTime.dinner, "fill_policy": FillPolicy.offer,
                                             "offer_hours": 2}),
        })
        nursery = make_partner("艺涵托育园", PartnerKind.nursery, admin, now, {
            "托小班": (ServiceKind.childcare, 2, {"child_class": ChildClass.toddler,
                                                 "children_per_staff": CHILDREN_PER_STAFF,
                                                 "fill_policy": FillPolicy.offer, "offer_hours": 2}),
        })
        self.care, self.nursery = care, nursery
        self.nursery_staff = [nursery.staff, *(make_user(Role.partner_staff, now, partner_id=nursery.partner.id,
                                                         name=name) for name in ("王老师", "陈老师"))]
        # One all-day staff shift for the class, with one carer on it: two places.
        self.shift_id = shifts.create_shift(
            point_id=nursery.partner.service_points[0].id, day=self.today, start_time=time(8), end_time=time(18),
            role=ShiftRole.staff, title="全天保育", min_people=1, max_people=3,
            service_id=nursery.services["托小班"].id, by=nursery.manager, now=now).id
        shifts.assign(self.shift_id, user_id=self.nursery_staff[0].id, by=nursery.manager, now=now)
        self.times: dict[int, SlotTimes] = {}
        # Today: day care 11:00-14:00 and the class 11:30-15:30, booked until they start and checked in from two
        # hours before; dinner 17:00-18:30, ordered until 14:00.
        self.slots = [
            self._slot(care.services["日间照料"], care.manager, time(11), time(14)),
            self._slot(nursery.services["托小班"], nursery.manager, time(11, 30), time(15, 30)),
            self._slot(care.services["长者晚餐"], care.manager, time(17), time(18, 30)),
        ]
        self.childcare_slot = self.slots[1]
        self.slot_partner = {self.slots[0]: care, self.slots[1]: nursery, self.slots[2]: care}
        # Four households, twelve members: elders of ability levels 0-3 (3 is not taken by the day care),
        # toddlers and one child too old for the toddler class.
        self.families, self.members = [], []
        people = [
            ("李家", near, [("elder", "王奶奶", 78, 1), ("elder", "李爷爷", 82, 2), ("child", "小明", 16)]),
            ("张家", near, [("elder", "张奶奶", 70, 0), ("child", "张小宝", 20)]),
            ("陈家", other, [("elder", "陈爷爷", 66, 3), ("elder", "陈奶奶", 90, 1), ("child", "陈小妹", 13)]),
            ("赵家", other, [("elder", "赵爷爷", 75, 1), ("elder", "赵奶奶", 73, 2), ("child", "赵小弟", 22),
                            ("child", "赵大哥", 30)]),
        ]
        for index, (name, building, members) in enumerate(people):
            family = make_family(building, now, name)
            self.families.append(family)
            for kind, member_name, age, *level in members:
                if kind == "elder":
                    row = family.add_elder(now, name=member_name, age=age, ability_level=level[0])
                    self.members.append(Member(row.id, index, kind))
                else:
                    row = family.add_child(now, name=member_name, months=age)
                    adult = add_authorised_adult(child_id=row.id, by=family.user, now=now, name=f"{member_name}的奶奶",
                                                 relation="grandmother", phone="13900003333")
                    self.members.append(Member(row.id, index, kind, adult.id))
        # The API, as a family and as each partner's staff (bearer tokens issued by the real rule).
        app.test_client_class = IsolatedClient
        self.client = app.test_client()
        self.family_headers = self._bearer(self.families[0].user)
        self.staff_headers = {care.partner.id: self._bearer(care.staff),
                              nursery.partner.id: self._bearer(nursery.staff)}
        self._after = None
        self.before = self.after
        outcomes["examples"] += 1
        # Families book first thing, so that the slots fill and waitlists form early; each booking is checked
        # as a step of its own.
        for slot, pick in opening:
            self.book(pick, slot, True, "family")
            self.check_every_invariant()

    def check_every_invariant(self) -> None:
        for name in ("places_never_overbooked_and_tallies_agree", "no_place_idle_while_someone_waits",
                     "waitlist_is_in_arrival_order", "one_live_booking_per_person_and_slot",
                     "every_change_has_its_audit_entry", "the_api_shows_the_counts_in_the_tables"):
            getattr(self, name)()

    def _slot(self, service, manager: User, start: time, end: time) -> int:
        slot = create_slot(service_id=service.id, starts_at=from_local(self.today, start),
                           ends_at=from_local(self.today, end), by=manager, now=self.now)
        policy = policy_for(service.kind)
        self.times[slot.id] = SlotTimes(slot.starts_at, slot.ends_at, policy.booking_closes_at(slot),
                                        policy.cancellation_closes_at(slot))
        return slot.id

    def _bearer(self, user: User) -> dict[str, str]:
        token, _ = issue_token(user, now=self.now)
        return {"Authorization": f"Bearer {token}"}

    def teardown(self):
        db.session.remove()
        empty_tables()

    # --- helpers ---

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def family_of(self, member: Member) -> User:
        return self.families[member.household].user

    def member(self, recipient_id: int) -> Member:
        return next(member for member in self.members if member.id == recipient_id)

    def actor_for(self, member: Member, who: str) -> User:
        if who == "family":
            return self.family_of(member)
        if who == "community_staff":
            return self.community_staff
        return self.families[(member.household + 1) % len(self.families)].user  # another household's

    def pick_booking(self, pick: int, wanted: set[BookingStatus], only: set[int] | None = None
                     ) -> tuple[int, tuple] | None:
        """A booking in one of the wanted statuses (among ``only`` when there are some), otherwise any (to be
        refused)."""
        rows = sorted(self.after.bookings.items())
        if not rows:
            return None
        chosen = ([row for row in rows if row[0] in only] if only else []) or \
            [row for row in rows if row[1][2] in wanted] or rows
        return chosen[pick % len(chosen)]

    def act(self, kind: str, action) -> CareappError | None:
        """Run one rule; a refusal is returned and must have changed nothing (but its own log entry)."""
        self.before = self.after  # nothing else writes between steps: the state after the last one
        self._after = None
        self.step_kind = kind
        outcomes["steps"] += 1
        try:
            action()
        except Busy as busy:  # nobody else is writing: a busy database here is a bug
            raise AssertionError(f"{kind}: answered busy with no concurrent writer: {busy.message}") from busy
        except CareappError as refusal:
            after = self.after
            assert after.bookings == self.before.bookings, f"{kind} was refused ({refusal.code}) but bookings changed"
            assert after.slots == self.before.slots, f"{kind} was refused ({refusal.code}) but a slot changed"
            assert after.roster == self.before.roster, f"{kind} was refused ({refusal.code}) but the roster changed"
            logged = [entry.action for entry in entries_after(self.before.audit_top)]
            assert all(action == "booking.collection_refused" for action in logged), (kind, refusal.code, logged)
            outcomes[f"{kind}: refused {type(refusal).__name__}/{refusal.code}"] += 1
            return refusal
        outcomes[f"{kind}: done"] += 1
        return None

    def expect_entry(self, action: str, object_type: str, object_id: int, actor: User | None) -> None:
        entries = [entry for entry in entries_after(self.before.audit_top)
                   if (entry.action, entry.object_type, entry.object_id) == (action, object_type, object_id)]
        assert len(entries) == 1, f"expected one {action} entry for {object_type} {object_id}, found {len(entries)}"
        assert entries[0].actor_id == (actor.id if actor else None), (action, entries[0].actor_id)

    # --- families: book, cancel, offers ---

    @rule(pick=st.integers(0, 1000), slot=st.integers(0, 2), served=st.sampled_from([True, True, True, False]),
          who=st.sampled_from(["family", "family", "family", "community_staff", "other_family"]))
    def book(self, pick, slot, served, who):
        """Mostly a member of the kind the slot serves (some of whom the rules still refuse), sometimes anyone."""
        slot_id = self.slots[slot]
        kind = "child" if slot_id == self.childcare_slot else "elder"
        candidates = [m for m in self.members if m.kind == kind] if served else self.members
        member = candidates[pick % len(candidates)]
        user = self.actor_for(member, who)
        refusal = self.act("book", lambda: engine.book(slot_id, member.id, by=user, now=self.now))
        before = self.before
        if who == "other_family":
            assert isinstance(refusal, Forbidden), f"another household booked for {member.id}: {refusal!r}"
            return
        if refusal is None:
            assert not before.live(slot_id, member.id), "a second live booking was made"
            new = [(bid, row) for bid, row in self.after.bookings.items() if bid not in before.bookings]
            assert len(new) == 1
            booking_id, row = new[0]
            fits = before.held(slot_id) < before.places(slot_id)
            assert row[2] == (BookingStatus.confirmed if fits else BookingStatus.waitlisted), (row, fits)
            outcomes[f"book: {row[2].value}"] += 1
            self.expect_entry(f"booking.{row[2].value}", "booking", booking_id, user)
        elif before.live(slot_id, member.id) and refusal.code == "duplicate_booking":
            outcomes["book: duplicate refused"] += 1
        else:
            assert refusal.code != "duplicate_booking", "a duplicate refused with no live booking"

    @rule(pick=st.integers(0, 1000), a_place=st.booleans(),
          who=st.sampled_from(["family", "family", "community_staff", "other_family"]))
    def cancel(self, pick, a_place, who):
        """Cancel a booking or leave a waitlist; half the time give up a place that someone is waiting for."""
        state = self.after
        waited_for = {row[0] for row in state.bookings.values() if row[2] == BookingStatus.waitlisted}
        places = {bid for bid, row in state.bookings.items()
                  if row[0] in waited_for and row[2] in (BookingStatus.confirmed, BookingStatus.offered)}
        chosen = self.pick_booking(pick, PENDING, only=places if a_place else None)
        if chosen is None:
            return
        booking_id, (slot_id, recipient_id, status, *_) = chosen
        user = self.actor_for(self.member(recipient_id), who)
        closes = self.times[slot_id].cancellation_closes_at
        now = self.now
        refusal = self.act("cancel", lambda: engine.cancel(booking_id, by=user, now=now))
        if who == "other_family":
            assert isinstance(refusal, Forbidden), refusal
        elif status in (BookingStatus.waitlisted, BookingStatus.offered) or (
                status == BookingStatus.confirmed and now < closes):
            assert refusal is None, f"cancelling a {status.value} booking was refused: {refusal!r}"
            assert self.after.bookings[booking_id][2] == BookingStatus.cancelled
            self.expect_entry("booking.cancelled", "booking", booking_id, user)
        else:
            assert refusal is not None, f"a {status.value} booking was cancelled after its cutoff"

    def _offer(self, kind: str, rule_, pick: int, who: str) -> None:
        chosen = self.pick_booking(pick, {BookingStatus.offered})
        if chosen is None:
            return
        booking_id, (_slot_id, recipient_id, status, _order, expires, *_) = chosen
        user = self.actor_for(self.member(recipient_id), who)
        now = self.now
        refusal = self.act(kind, lambda: rule_(booking_id, by=user, now=now))
        live_offer = status == BookingStatus.offered and now < expires
        if who == "other_family":
            assert isinstance(refusal, Forbidden), refusal
        elif live_offer:
            assert refusal is None, f"{kind} of a live offer was refused: {refusal!r}"
            action = "booking.offer_accepted" if kind == "accept" else "booking.declined"
            self.expect_entry(action, "booking", booking_id, user)
        else:
            assert isinstance(refusal, (Conflict, RuleRefused)), f"{kind} of a {status.value} booking: {refusal!r}"

    @rule(pick=st.integers(0, 1000), who=st.sampled_from(["family", "family", "family", "other_family"]))
    def accept_offer(self, pick, who):
        self._offer("accept", engine.accept_offer, pick, who)

    @rule(pick=st.integers(0, 1000), who=st.sampled_from(["family", "family", "other_family"]))
    def decline_offer(self, pick, who):
        self._offer("decline", engine.decline_offer, pick, who)

    # --- time passes: the scheduler's jobs ---

    @rule(minutes=st.sampled_from([10, 20, 30, 60]))
    def time_passes_and_offers_expire(self, minutes):
        self.clock.advance(minutes=minutes)
        now = self.now
        expired = []
        self.act("expire_offers", lambda: expired.append(engine.expire_offers(now=now)))
        outcomes["offers expired"] += sum(expired)
        still = [bid for bid, row in self.after.bookings.items()
                 if row[2] == BookingStatus.offered and row[4] <= now]
        assert not still, f"offers past their expiry are still open: {still}"

    @rule()
    def scheduler_sweeps(self):
        now = self.now

        def sweeps():
            engine.fill_free_places(now=now)
            engine.close_waitlists(now=now)
            engine.mark_no_shows(now=now)
        self.act("sweeps", sweeps)

    # --- the partners: capacity, roster, attendance ---

    @rule(slot=st.integers(0, 2), change=st.integers(-1, 2), by_manager=st.sampled_from([True, True, True, False]))
    def change_capacity(self, slot, change, by_manager):
        """Set the capacity one below, at, or above the places held (below is refused while any are held)."""
        slot_id = self.slots[slot]
        capacity = max(self.after.held(slot_id) + change, 0)
        partner = self.slot_partner[slot_id]
        user = partner.manager if by_manager else partner.staff
        refusal = self.act("capacity", lambda: engine.set_capacity(slot_id, capacity, by=user, now=self.now))
        before = self.before
        if not by_manager:
            assert isinstance(refusal, Forbidden), refusal
        elif refusal is None:
            assert capacity >= before.held(slot_id)
            assert self.after.slots[slot_id][0] == capacity
            self.expect_entry("slot.capacity_changed", "slot", slot_id, user)
        elif capacity >= before.held(slot_id):
            assert False, f"capacity {capacity} (held {before.held(slot_id)}) refused: {refusal!r}"

    @rule(change=st.sampled_from(["on", "on", "off", "off", "hours"]), person=st.integers(0, 2),
          ends=st.sampled_from([time(12), time(18)]), by_manager=st.sampled_from([True, True, True, False]))
    def change_roster(self, change, person, ends, by_manager):
        """Put a carer on the class's shift, take one off, or move the shift's end: an all-day shift covers the
        class slot (11:30-15:30), one ending at noon does not. Staff (not the manager) are refused."""
        user = self.nursery.manager if by_manager else self.nursery_staff[1]
        staff_id = self.nursery_staff[person].id
        if change == "on":
            refusal = self.act("roster_on", lambda: shifts.assign(self.shift_id, user_id=staff_id, by=user,
                                                                  now=self.now))
        elif change == "off":
            assignment_id = next((a for _shift, who, a in self.after.roster if who == staff_id), 10**6)
            refusal = self.act("roster_off", lambda: shifts.unassign(self.shift_id, assignment_id, by=user,
                                                                     now=self.now))
        else:
            refusal = self.act("shift_hours", lambda: shifts.update_shift(self.shift_id, end_time=ends, by=user,
                                                                          now=self.now))
        self._check_roster(refusal, by_manager)

    def _check_roster(self, refusal, by_manager) -> None:
        if not by_manager:
            assert isinstance(refusal, Forbidden), refusal
            return
        after = self.after
        slot = after.slots[self.childcare_slot]
        if refusal is None and self.now < from_local(self.today, time(15, 30)):
            covering = len(after.roster) if after.shift_ends[self.shift_id] >= time(15, 30) else 0
            assert slot[1] == covering * CHILDREN_PER_STAFF, f"staffed places {slot[1]}, {covering} staff on"

    @rule(pick=st.integers(0, 1000), own_staff=st.sampled_from([True, True, True, False]))
    def check_in(self, pick, own_staff):
        chosen = self.pick_booking(pick, {BookingStatus.confirmed})
        if chosen is None:
            return
        booking_id, (slot_id, _recipient, status, *_) = chosen
        partner = self.slot_partner[slot_id]
        other = self.nursery if partner is self.care else self.care
        user = partner.staff if own_staff else other.staff
        times = self.times[slot_id]
        window = (times.starts_at - engine.CHECK_IN_OPENS_BEFORE, times.ends_at)
        now = self.now
        refusal = self.act("check_in", lambda: engine.check_in(booking_id, by=user, now=now))
        if not own_staff:
            assert isinstance(refusal, Forbidden), refusal
        elif status == BookingStatus.confirmed and window[0] <= now < window[1]:
            assert refusal is None, f"check-in in its window refused: {refusal!r}"
            self.expect_entry("booking.checked_in", "booking", booking_id, user)
        else:
            assert refusal is not None, f"a {status.value} booking was checked in at {now} (window {window})"

    @rule(pick=st.integers(0, 1000), right_adult=st.sampled_from([True, True, False]))
    def check_out(self, pick, right_adult):
        chosen = self.pick_booking(pick, {BookingStatus.checked_in})
        if chosen is None:
            return
        booking_id, (slot_id, recipient_id, status, *_) = chosen
        member = self.member(recipient_id)
        user = self.slot_partner[slot_id].staff
        collector = None
        if slot_id == self.childcare_slot:
            # The child's own adult, or another child's (who must be refused, and the attempt logged).
            others = [m.adult_id for m in self.members if m.adult_id and m.id != member.id]
            collector = member.adult_id if right_adult else others[pick % len(others)]
        refusal = self.act("check_out", lambda: engine.check_out(booking_id, by=user, now=self.now,
                                                                 collected_by_id=collector))
        if status != BookingStatus.checked_in:
            assert isinstance(refusal, Conflict), refusal
        elif slot_id == self.childcare_slot and not right_adult:
            assert isinstance(refusal, RuleRefused) and refusal.code == "not_authorised_collector", refusal
            self.expect_entry("booking.collection_refused", "booking", booking_id, user)
        else:
            assert refusal is None, f"check-out refused: {refusal!r}"
            self.expect_entry("booking.checked_out", "booking", booking_id, user)

    # --- invariants, after every step ---

    @invariant()
    def places_never_overbooked_and_tallies_agree(self):
        state, before = self.after, self.before
        for slot_id, (capacity, staffed, _status, booked, attended, no_show) in state.slots.items():
            rows = [row for row in state.bookings.values() if row[0] == slot_id]
            count = Counter(row[2] for row in rows)
            held = sum(count[status] for status in HOLDS_PLACE)
            assert count[BookingStatus.confirmed] + count[BookingStatus.offered] <= capacity, (slot_id, count)
            assert held <= capacity, f"slot {slot_id}: {held} places held, capacity {capacity}"
            # Fewer staff may leave more children booked than the roster allows (they keep their places);
            # but no place is ever given while the slot is over its places.
            if held > state.places(slot_id):
                assert held <= before.held(slot_id), f"slot {slot_id}: places given while over ({held}, {staffed})"
            expected = {column: sum(count[status] for status in statuses) for column, statuses in TALLIES.items()}
            assert {"booked_count": booked, "attended_count": attended, "no_show_count": no_show} == expected, \
                f"slot {slot_id}: tallies disagree with the bookings"

    @invariant()
    def no_place_idle_while_someone_waits(self):
        """While booking is open, a free place and a waiting person never coexist (it is handed on at once)."""
        state = self.after
        for slot_id in self.slots:
            closes = self.times[slot_id].booking_closes_at
            waiting = sum(1 for row in state.bookings.values()
                          if row[0] == slot_id and row[2] == BookingStatus.waitlisted)
            if state.slots[slot_id][2] == SlotStatus.open and self.now < closes and waiting:
                assert state.held(slot_id) >= state.places(slot_id), f"slot {slot_id}: a place idles, {waiting} wait"

    @invariant()
    def waitlist_is_in_arrival_order(self):
        state = self.after
        for slot_id in self.slots:
            rows = sorted((bid, row) for bid, row in state.bookings.items() if row[0] == slot_id)
            waiting = [row[3] for _, row in rows if row[2] == BookingStatus.waitlisted]
            # Arrival order is id order: the orders of those waiting rise strictly with it.
            assert all(a < b for a, b in zip(waiting, waiting[1:])), f"slot {slot_id}: waitlist {waiting}"
            # Nobody who came later was handed a place ahead of someone still waiting.
            promoted = [row[3] for _, row in rows if row[3] is not None and row[2] in HOLDS_PLACE]
            if waiting and promoted:
                assert max(promoted) < min(waiting), f"slot {slot_id}: promoted {promoted} ahead of {waiting}"
            orders = [row[3] for _, row in rows if row[3] is not None]
            assert len(orders) == len(set(orders)), f"slot {slot_id}: a waitlist number given twice"

    @invariant()
    def one_live_booking_per_person_and_slot(self):
        live = Counter((row[0], row[1]) for row in self.after.bookings.values() if row[2] != BookingStatus.cancelled)
        assert all(n == 1 for n in live.values()), [key for key, n in live.items() if n > 1]

    @invariant()
    def every_change_has_its_audit_entry(self):
        """The step's new audit entries replay exactly the changes in the tables, and nothing else."""
        before, after = self.before, self.after
        entries = entries_after(before.audit_top)
        chains: dict[int, list[AuditEntry]] = defaultdict(list)
        for entry in entries:
            if entry.object_type == "booking" and entry.action not in NO_STATUS_ACTIONS:
                chains[entry.object_id].append(entry)
        for booking_id in set(before.bookings) | set(after.bookings) | set(chains):
            assert booking_id in after.bookings, f"audit entries for booking {booking_id}, which does not exist"
            old = before.bookings[booking_id][2].value if booking_id in before.bookings else None
            new = after.bookings[booking_id][2].value
            status = old
            for entry in chains[booking_id]:
                was = (entry.before or {}).get("status")
                became = (entry.after or {}).get("status")
                assert was == status, f"{self.step_kind}: {entry.action} of booking {booking_id} starts from {was}, " \
                                      f"it was {status}"
                assert (was, became) in TRANSITIONS.get(entry.action, set()), (entry.action, was, became)
                outcomes[entry.action] += 1
                status = became
            assert status == new, f"{self.step_kind}: booking {booking_id} went {old} -> {new}, audited as -> {status}"
        for slot_id, row in after.slots.items():
            capacity_entries = [e for e in entries if (e.action, e.object_id) == ("slot.capacity_changed", slot_id)]
            old = before.slots.get(slot_id, (None, None))
            if row[0] != old[0] and slot_id in before.slots:
                assert [(e.before["capacity"], e.after["capacity"]) for e in capacity_entries] == [(old[0], row[0])]
            else:
                assert all(e.before["capacity"] == e.after["capacity"] == row[0] for e in capacity_entries)
            staffing = [e for e in entries if (e.action, e.object_id) == ("slot.restaffed", slot_id)]
            if slot_id in before.slots and row[1] != old[1]:
                assert staffing and staffing[0].before["staffed_places"] == old[1] \
                    and staffing[-1].after["staffed_places"] == row[1], f"slot {slot_id} restaffed unaudited"
            elif slot_id in before.slots:
                assert not staffing, f"slot {slot_id}: restaffed entry without a change"
        added = {a for _, _, a in after.roster - before.roster}
        removed = {a for _, _, a in before.roster - after.roster}
        assigned = {e.object_id for e in entries if e.action == "shift.assigned"}
        unassigned = {e.object_id for e in entries if e.action == "shift.unassigned"}
        assert added == assigned and removed == unassigned, (added, assigned, removed, unassigned)

    @invariant()
    def the_api_shows_the_counts_in_the_tables(self):
        state = self.after
        # What the API shows depends on the tables and the time only: when neither moved since the last check
        # (a refused step), that check stands.
        seen_at = (state.bookings, state.slots, self.now)
        if seen_at == self._api_checked:
            return
        response = self.client.get(f"{API}/slots", headers=self.family_headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        shown = {row["id"]: row for row in response.get_json()}
        for slot_id in self.slots:
            count = Counter(row[2] for row in state.bookings.values() if row[0] == slot_id)
            confirmed = sum(count[s] for s in BOOKED)
            if slot_id in shown:
                places = state.places(slot_id)
                expected = {"capacity": state.slots[slot_id][0], "confirmed": confirmed,
                            "offered": count[BookingStatus.offered], "waitlisted": count[BookingStatus.waitlisted],
                            "available": max(places - confirmed - count[BookingStatus.offered], 0)}
                assert {key: shown[slot_id][key] for key in expected} == expected, f"slot {slot_id} via the API"
            else:  # only slots that have started leave the list of upcoming slots
                assert self.times[slot_id].starts_at <= self.now, f"slot {slot_id} missing from the API"
        # Every booking as each partner's staff see it: its status and place in the queue.
        waiting = sorted((row[0], row[3], bid) for bid, row in state.bookings.items()
                         if row[2] == BookingStatus.waitlisted)
        position: dict[int, int] = {}
        ranks: Counter[int] = Counter()
        for slot_id, _order, booking_id in waiting:
            ranks[slot_id] += 1
            position[booking_id] = ranks[slot_id]
        for partner, headers in self.staff_headers.items():
            response = self.client.get(f"{API}/bookings", headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            seen = {row["id"]: (row["slot_id"], row["status"], row["waitlist_position"]) for row in response.get_json()}
            expected = {bid: (row[0], row[2].value, position.get(bid)) for bid, row in state.bookings.items()
                        if self.slot_partner[row[0]].partner.id == partner}
            assert seen == expected, f"the bookings {partner}'s staff see via the API differ from the tables"
        self._api_checked = seen_at


def test_booking_engine_keeps_its_invariants_under_random_use(app):
    outcomes.clear()
    BookingMachine.app = app
    run_state_machine_as_test(BookingMachine, settings=SETTINGS)
    print(sorted(outcomes.items()))
    # The examples really ran and changed things (which kinds of step succeed depends on the derandomized
    # draws; the walk-through below makes sure each kind does).
    assert outcomes["examples"] >= 30 and outcomes["steps"] >= 500, outcomes
    assert outcomes["book: confirmed"] and outcomes["book: waitlisted"] and outcomes["booking.offered"], outcomes


# Every kind of step, in an order that makes each one succeed (and some refused), with the invariants checked
# after each: the scene's members are elders [0, 1, 3, 5, 6, 8, 9] (5 is of ability level 3) and children
# [2, 4, 7, 10, 11] (11 is too old for the toddler class); booking picks index the members the slot serves.
WALK = [
    # At 09:00: 王奶奶 gives up her day-care place, which 李爷爷, waiting, gets at once (auto).
    ("cancel", {"pick": 0, "a_place": True, "who": "family"}),
    # Community staff cancel 小明's class place for his family: it is offered to 陈小妹, who accepts.
    ("cancel", {"pick": 0, "a_place": True, "who": "community_staff"}),
    ("accept_offer", {"pick": 0, "who": "other_family"}),
    ("accept_offer", {"pick": 0, "who": "family"}),
    # A second dinner place is offered to 李爷爷, who declines; 陈奶奶 takes it, 张奶奶 waits, and the third
    # place offered to her lapses. A second day-care place goes to 赵爷爷 at once.
    ("change_capacity", {"slot": 2, "change": 1, "by_manager": True}),
    ("decline_offer", {"pick": 0, "who": "family"}),
    ("book", {"pick": 4, "slot": 2, "served": True, "who": "family"}),
    ("book", {"pick": 2, "slot": 2, "served": True, "who": "family"}),
    ("book", {"pick": 5, "slot": 0, "served": True, "who": "community_staff"}),
    ("change_capacity", {"slot": 0, "change": 1, "by_manager": True}),
    ("change_capacity", {"slot": 2, "change": -1, "by_manager": True}),
    ("change_capacity", {"slot": 2, "change": 1, "by_manager": False}),
    ("change_capacity", {"slot": 2, "change": 1, "by_manager": True}),
    ("book", {"pick": 0, "slot": 2, "served": True, "who": "other_family"}),
    ("book", {"pick": 1, "slot": 0, "served": False, "who": "family"}),
    # The roster: the only carer leaves the class (its children keep their places, none can be added), two
    # come on, the shift is cut to noon (no longer covering the class) and put back.
    ("change_roster", {"change": "off", "person": 0, "ends": time(18), "by_manager": True}),
    ("book", {"pick": 3, "slot": 1, "served": True, "who": "family"}),
    ("change_roster", {"change": "on", "person": 1, "ends": time(18), "by_manager": False}),
    ("change_roster", {"change": "on", "person": 1, "ends": time(18), "by_manager": True}),
    ("change_roster", {"change": "on", "person": 2, "ends": time(18), "by_manager": True}),
    ("change_roster", {"change": "hours", "person": 0, "ends": time(12), "by_manager": True}),
    ("change_roster", {"change": "hours", "person": 0, "ends": time(18), "by_manager": True}),
    # Attendance from 09:30: day care and the class check in; a child is not handed to another child's adult.
    ("time_passes_and_offers_expire", {"minutes": 30}),
    ("check_in", {"pick": 0, "own_staff": False}),
    ("check_in", {"pick": 0, "own_staff": True}),
    ("check_in", {"pick": 1, "own_staff": True}),
    ("check_out", {"pick": 0, "right_adult": True}),
    ("check_in", {"pick": 1, "own_staff": True}),
    ("check_out", {"pick": 0, "right_adult": False}),
    ("check_out", {"pick": 0, "right_adult": True}),
    # 陈奶奶's dinner offer lapses at 11:30; the class slot has started; at 14:30 day care has ended.
    ("time_passes_and_offers_expire", {"minutes": 60}),
    ("time_passes_and_offers_expire", {"minutes": 60}),
    ("book", {"pick": 0, "slot": 1, "served": True, "who": "family"}),
    ("cancel", {"pick": 0, "a_place": False, "who": "family"}),
    ("time_passes_and_offers_expire", {"minutes": 60}),
    ("time_passes_and_offers_expire", {"minutes": 60}),
    ("time_passes_and_offers_expire", {"minutes": 60}),
    ("scheduler_sweeps", {}),
]


def test_a_walk_through_every_kind_of_step(app):
    """The same machine driven by hand through a sequence that makes every kind of step succeed."""
    BookingMachine.app = app
    machine = BookingMachine()
    before = Counter(outcomes)
    try:
        machine.build_scene(opening=[(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1)])
        for step, arguments in WALK:
            getattr(machine, step)(**arguments)
            machine.check_every_invariant()
    finally:
        machine.teardown()
    seen = Counter(outcomes)
    seen.subtract(before)
    for kind in ("book", "cancel", "accept", "decline", "capacity", "roster_on", "roster_off", "shift_hours",
                 "check_in", "check_out", "sweeps"):
        assert seen[f"{kind}: done"] > 0, f"no {kind} succeeded: {sorted(seen.items())}"
    for action in ("booking.promoted", "booking.offered", "booking.offer_accepted", "booking.declined",
                   "booking.offer_expired", "booking.checked_in", "booking.checked_out", "booking.no_show"):
        assert seen[action] > 0, f"no {action}: {sorted(seen.items())}"
    assert seen["offers expired"] > 0
    for refusal in ("book: refused Forbidden/forbidden", "capacity: refused Forbidden/forbidden",
                    "capacity: refused RuleRefused/capacity_below_bookings", "roster_on: refused Forbidden/forbidden",
                    "check_in: refused Forbidden/forbidden", "check_out: refused RuleRefused/not_authorised_collector",
                    "accept: refused Forbidden/forbidden"):
        assert seen[refusal] > 0, f"no {refusal}: {sorted(seen.items())}"
