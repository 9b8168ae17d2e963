"""A year of slots from the weekly patterns, and the bookings families made into them.

Each slot is lived through in time order, as the booking engine would have handled it:

- the scheduler opens it OPEN_DAYS_AHEAD days ahead and books the standing enrolments at once, in
  enrolment order; then families book one by one until booking closes (most in the last days);
- a booking is confirmed while a place is free, else it joins the waitlist (``waitlist_order`` in
  arrival order); a cancellation frees a place for the waitlist head (confirmed at once, or offered for
  the service's offer hours where the service offers places);
- a few slots are cancelled by the partner; when booking closes the waitlist is closed;
- after the start staff check people in and out (children to one of their authorised adults, with the
  morning temperature), and mark no-shows; meals are served without check-in.

Only what happened before "now" is kept, so future slots hold the bookings made so far. Each slot's
tallies (``booked_count``, ``attended_count``, ``no_show_count``) are counted from its bookings.
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable

import numpy as np

from careapp.benchdata.enrolments import Standing, meal_mode
from careapp.benchdata.pools import Pool
from careapp.benchdata.population import Population, ServicePlan
from careapp.benchdata.words import HEALTH_NOTES
from careapp.benchdata.writer import Buffers
from careapp.booking.models import TALLIES
from careapp.booking.policies import policy_for
from careapp.households.models import years_between
from careapp.meals.pricing import age_tier
from careapp.partners.models import MealTime, Service, ServiceKind, Slot

CONFIRMED, WAITLISTED, OFFERED, CANCELLED = "confirmed", "waitlisted", "offered", "cancelled"
CHECKED_IN, CHECKED_OUT, NO_SHOW = "checked_in", "checked_out", "no_show"
TALLY_SETS = {column: frozenset(status.value for status in statuses) for column, statuses in TALLIES.items()}

SLOT_CANCELLED_SHARE = 0.006
NO_SHOW_SHARE = 0.06
# Activities: some people are checked in and never checked out.
LEFT_CHECKED_IN_SHARE = 0.03
ON_BEHALF_SHARE = 0.05
DISHES_CHOSEN_SHARE = 0.15

SLOT_COLUMNS = ("id", "service_id", "pattern_id", "starts_at", "ends_at", "capacity", "staffed_places", "status",
                "created_at", "booked_count", "attended_count", "no_show_count")
BOOKING_COLUMNS = ("id", "slot_id", "recipient_id", "status", "waitlist_order", "offer_expires_at", "booked_by_id",
                   "created_at", "updated_at", "cancelled_at", "end_reason", "checked_in_at", "checked_in_by_id",
                   "checked_out_at", "checked_out_by_id", "enrolment_id", "needs_transport", "health_temperature",
                   "health_notes", "collected_by_id")
MEAL_ORDER_COLUMNS = ("booking_id", "mode", "price_fen", "subsidy_fen", "subsidy_tier", "special_group")
MEAL_ORDER_DISH_COLUMNS = ("booking_id", "dish_id")


def menu(partner_dishes: list[int], meal: str, day: date) -> list[int]:
    """The day's menu of a kitchen: three dishes at lunch, two at dinner, rotating through its dishes."""
    size = 3 if meal == "lunch" else 2
    start = (day.toordinal() * size + (0 if meal == "lunch" else 5)) % len(partner_dishes)
    return [partner_dishes[(start + n) % len(partner_dishes)] for n in range(size)]


@dataclass(slots=True)
class Booked:
    recipient: int
    created: datetime
    enrolment: Standing | None = None
    cancel_at: datetime | None = None
    status: str = ""
    order: int | None = None
    updated: datetime | None = None
    cancelled_at: datetime | None = None
    reason: str | None = None
    offer_expires: datetime | None = None
    checked_in: datetime | None = None
    checked_out: datetime | None = None


@dataclass
class SlotTimes:
    day: date
    starts: datetime
    ends: datetime
    opened: datetime
    closes: datetime
    cancel_closes: datetime
    cancelled_at: datetime | None = None


@dataclass
class Counts:
    slots: int = 0
    bookings: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class ServiceBookings:
    """Slots and bookings of one service (its own random streams, so the result does not depend on the
    order services are generated in)."""

    def __init__(self, service: ServicePlan, pool: Pool, enrolments: list[Standing], population: Population,
                 config: Mapping[str, Any], seed: int, buffers: Buffers, ids: dict[str, int],
                 local_moment: Callable[[date, time], datetime], counts: Counts):
        self.service, self.pool, self.population, self.config = service, pool, population, config
        self.buffers, self.ids, self.local_moment, self.counts = buffers, ids, local_moment, counts
        self.rand = random.Random(seed * 1_000_003 + service.id + 500_000)
        self.rng = np.random.default_rng([seed, 3, service.id])
        self.offer = service.offer
        self.kind = service.kind
        self.places = service.capacity if service.staffed_places is None else min(service.capacity,
                                                                                   service.staffed_places)
        self.by_weekday = {day: [e for e in enrolments if day in e.weekdays] for day in service.patterns}
        # Who checks people in: the class's carers, else the partner's manager and staff.
        self.staff = service.carers or [service.partner.manager] + service.partner.staff[: service.partner.type.staff]
        # The service as the policies see it, to ask them when booking and cancelling close.
        self.orm_service = Service(**service.columns)
        self.orm_service.kind = ServiceKind(service.columns["kind"])
        if service.columns["meal"] is not None:
            self.orm_service.meal = MealTime(service.columns["meal"])
        self.policy = policy_for(self.kind)
        self.now = population.window.now
        self.ahead = (population.window.last - population.window.today).days
        self.meal = service.columns["meal"]
        if self.kind == ServiceKind.meal:
            price = service.columns["price_fen"]
            self.price = int(config["MEAL_PRICE"]) if price is None else price
            self.tiers, self.extras = config["MEAL_SUBSIDY_TIERS"], config["MEAL_SPECIAL_SUBSIDY"]
            self.tier_of_age: dict[int, str | None] = {}

    # --- slots ---

    def run(self) -> None:
        for day in self.population.window.dates:
            if day.weekday() in self.service.patterns:
                self.slot(day)

    def _times(self, day: date) -> SlotTimes:
        offer = self.offer
        starts, ends = self.local_moment(day, offer.start), self.local_moment(day, offer.end)
        # The hourly job opens each slot OPEN_DAYS_AHEAD days ahead, soon after midnight.
        opened = self.local_moment(day - timedelta(days=self.ahead), time(0, self.rand.randrange(1, 40)))
        opened = max(opened, self.local_moment(self.population.window.first - timedelta(days=7), time(10)))
        opened = min(opened, self.now - timedelta(minutes=1))
        slot = Slot(service=self.orm_service, starts_at=starts.replace(tzinfo=timezone.utc),
                    ends_at=ends.replace(tzinfo=timezone.utc))
        closes = _naive(self.policy.booking_closes_at(slot))
        cancel_closes = _naive(self.policy.cancellation_closes_at(slot))
        times = SlotTimes(day, starts, ends, opened, closes, min(cancel_closes, closes))
        if self.rand.random() < SLOT_CANCELLED_SHARE and opened < min(starts, self.now):
            times.cancelled_at = opened + (min(starts, self.now) - opened) * self.rand.uniform(0.3, 0.99)
        return times

    def slot(self, day: date) -> None:
        times = self._times(day)
        self.ids["slot"] += 1
        slot_id = self.ids["slot"]
        booked = self._arrivals(times)
        self._live_through(booked, times)
        self._finish(booked, times)
        tallies = {column: 0 for column in TALLY_SETS}
        for booking in booked:
            for column, statuses in TALLY_SETS.items():
                tallies[column] += booking.status in statuses
        at = self.buffers.writer.moment
        self.buffers.add("slot", (
            slot_id, self.service.id, self.service.patterns[day.weekday()], at(times.starts), at(times.ends),
            self.service.capacity, self.service.staffed_places, "cancelled" if times.cancelled_at else "open",
            at(times.opened), tallies["booked_count"], tallies["attended_count"], tallies["no_show_count"]))
        for booking in booked:
            self._write(slot_id, booking, times)
        self.counts.slots += 1
        self.counts.bookings += len(booked)
        if self.buffers.full():
            self.buffers.flush()

    # --- who books, and when ---

    def _horizon(self, times: SlotTimes) -> datetime:
        """Nothing more happens in the slot's booking after this."""
        end = min(times.closes, self.now)
        return min(end, times.cancelled_at) if times.cancelled_at else end

    def _arrivals(self, times: SlotTimes) -> list[Booked]:
        horizon = self._horizon(times)
        ordinal, weekday = times.day.toordinal(), times.day.weekday()
        booked: list[Booked] = []
        enrolled: list[int] = []
        for n, standing in enumerate(self.by_weekday[weekday]):
            if not standing.runs_on(ordinal, weekday):
                continue
            created = max(times.opened, standing.created) + timedelta(milliseconds=20 * n)
            if created >= horizon or created >= times.starts:
                continue
            cancel_at = None
            if standing.paused_on(ordinal):
                if standing.paused_at <= created:
                    continue  # paused before the slot opened: never booked
                cancel_at = standing.paused_at
            booked.append(Booked(standing.recipient, created, enrolment=standing, cancel_at=cancel_at))
            enrolled.append(standing.recipient)
        booked += self._families(times, horizon, enrolled)
        for booking in booked:
            if booking.cancel_at is None and self.rand.random() < self.offer.cancel:
                limit = min(times.cancel_closes, horizon)
                if limit > booking.created + timedelta(minutes=2):
                    booking.cancel_at = booking.created + (limit - booking.created) * self.rand.uniform(0.05, 1)
            if booking.cancel_at is not None and booking.cancel_at > horizon:
                booking.cancel_at = None
        booked.sort(key=lambda b: b.created)
        return booked

    def _families(self, times: SlotTimes, horizon: datetime, enrolled: list[int]) -> list[Booked]:
        """Bookings by hand: how many wanted a place that day, drawn from the members who may book it."""
        pool = self.pool
        wanted = self.places * self.offer.fill * self.service.popularity * self.rng.lognormal(0, 0.2)
        count = int(self.rng.poisson(max(0.0, wanted - len(enrolled))))
        if count == 0 or not len(pool):
            return []
        valid = pool.valid_on(times.day.toordinal())
        for recipient in enrolled:
            position = pool.position.get(recipient)
            if position is not None:
                valid[position] = False
        candidates = np.flatnonzero(valid)
        count = min(count, len(candidates))
        if count == 0:
            return []
        keys = self.rng.exponential(size=len(candidates)) / pool.weight[candidates]
        chosen = candidates[np.argpartition(keys, count - 1)[:count]] if count < len(candidates) else candidates
        span = (times.closes - times.opened).total_seconds()
        leads = self.rng.exponential(self.offer.lead_days * 86_400, size=count)
        booked = []
        for position, lead in zip(chosen.tolist(), leads.tolist()):
            created = times.closes - timedelta(seconds=min(lead, span * self.rand.uniform(0.5, 0.999)))
            if created < horizon:
                booked.append(Booked(int(pool.ids[position]), created))
        return booked

    # --- the engine's rules, in time order ---

    def _live_through(self, booked: list[Booked], times: SlotTimes) -> None:
        events = [(b.created, 0, n) for n, b in enumerate(booked)]
        events += [(b.cancel_at, 1, n) for n, b in enumerate(booked) if b.cancel_at is not None]
        events.sort()
        held, order, queue = 0, 0, deque()
        for moment, cancelling, n in events:
            booking = booked[n]
            if not cancelling:
                booking.updated = moment
                if held < self.places:
                    booking.status, held = CONFIRMED, held + 1
                else:
                    order += 1
                    booking.status, booking.order = WAITLISTED, order
                    queue.append(booking)
                continue
            was = booking.status
            if was not in (CONFIRMED, WAITLISTED, OFFERED):
                continue
            booking.status, booking.updated, booking.cancelled_at = CANCELLED, moment, moment
            booking.reason = "declined" if was == OFFERED else "cancelled"
            booking.offer_expires = None
            if was != WAITLISTED:
                held -= 1
                held += self._promote(queue, moment, times)

    def _promote(self, queue: deque, moment: datetime, times: SlotTimes) -> int:
        """The freed place goes to the waitlist head: confirmed at once, or offered and (mostly) accepted."""
        while queue and queue[0].status != WAITLISTED:
            queue.popleft()
        if not queue or moment >= times.closes:
            return 0
        head = queue.popleft()
        head.updated = moment
        if self.service.columns["fill_policy"] == "auto":
            head.status = CONFIRMED
            return 1
        expires = min(moment + timedelta(hours=self.service.columns["offer_hours"]), times.closes)
        accepted = moment + (expires - moment) * self.rand.uniform(0.02, 0.9)
        if accepted <= self.now:
            head.status, head.updated = CONFIRMED, accepted
        else:
            head.status, head.offer_expires = OFFERED, expires
        return 1

    def _finish(self, booked: list[Booked], times: SlotTimes) -> None:
        if times.cancelled_at is not None:
            for booking in booked:
                if booking.status in (CONFIRMED, WAITLISTED, OFFERED):
                    self._end(booking, "slot_cancelled", times.cancelled_at)
            return
        if times.closes <= self.now:
            closed = min(times.closes + timedelta(seconds=self.rand.randrange(5, 60)), self.now)
            for booking in booked:
                if booking.status == WAITLISTED:
                    self._end(booking, "waitlist_closed", closed)
        if times.starts <= self.now and self.policy.marks_no_shows:
            for booking in booked:
                if booking.status == CONFIRMED:
                    self._attend(booking, times)

    @staticmethod
    def _end(booking: Booked, reason: str, moment: datetime) -> None:
        booking.status, booking.reason = CANCELLED, reason
        booking.updated = booking.cancelled_at = moment
        booking.offer_expires = None

    def _attend(self, booking: Booked, times: SlotTimes) -> None:
        rand, now = self.rand, self.now
        arrived = min(times.starts - timedelta(minutes=rand.uniform(0, 25)), now)
        if times.ends > now:  # under way: most are in already
            if rand.random() < 0.85:
                booking.status, booking.checked_in, booking.updated = CHECKED_IN, arrived, arrived
            return
        chance = rand.random()
        if chance < NO_SHOW_SHARE:
            booking.status = NO_SHOW
            booking.updated = min(times.ends + timedelta(minutes=rand.uniform(1, 15)), now)
            return
        booking.status, booking.checked_in, booking.updated = CHECKED_IN, arrived, arrived
        if self.kind == ServiceKind.activity and chance > 1 - LEFT_CHECKED_IN_SHARE:
            return
        left = min(max(times.ends + timedelta(minutes=rand.uniform(-30, 15)), arrived + timedelta(minutes=10)), now)
        if left > arrived:
            booking.status, booking.checked_out, booking.updated = CHECKED_OUT, left, left

    # --- rows ---

    def _write(self, slot_id: int, booking: Booked, times: SlotTimes) -> None:
        rand, population, at = self.rand, self.population, self.buffers.writer.moment
        self.ids["booking"] += 1
        booking_id = self.ids["booking"]
        recipient = booking.recipient
        household = int(population.household[recipient - 1])
        standing = booking.enrolment
        by = None if standing is not None else self._booker(household, recipient)
        staff = self.staff
        checked_in_by = staff[rand.randrange(len(staff))] if booking.checked_in else None
        checked_out_by = staff[rand.randrange(len(staff))] if booking.checked_out else None
        temperature, notes, collected_by = None, None, None
        if booking.checked_in and (self.kind == ServiceKind.childcare or
                                   (self.kind == ServiceKind.daycare and rand.random() < 0.3)):
            temperature = round(rand.uniform(36.0, 37.3), 1)
            if self.kind == ServiceKind.childcare and rand.random() < 0.02:
                notes = HEALTH_NOTES[rand.randrange(len(HEALTH_NOTES))]
        if booking.checked_out and self.kind == ServiceKind.childcare:
            adults = population.adults[recipient]
            collected_by = adults[rand.randrange(len(adults))]
        transport = bool(self.service.columns["transport"]) and (
            standing.needs_transport if standing is not None else rand.random() < 0.6)
        self.buffers.add("booking", (
            booking_id, slot_id, recipient, booking.status, booking.order, at(booking.offer_expires), by,
            at(booking.created), at(booking.updated), at(booking.cancelled_at), booking.reason,
            at(booking.checked_in), checked_in_by, at(booking.checked_out), checked_out_by,
            standing.id if standing is not None else None, transport, temperature, notes, collected_by))
        self.counts.by_status[booking.status] = self.counts.by_status.get(booking.status, 0) + 1
        if self.kind == ServiceKind.meal:
            self._meal_order(booking_id, booking, times)

    def _booker(self, household: int, recipient: int) -> int:
        population = self.population
        frail = population.level[recipient - 1] >= 3
        if self.rand.random() < (ON_BEHALF_SHARE * 6 if frail else ON_BEHALF_SHARE):
            community = int(population.building_community[population.household_building[household - 1] - 1])
            return population.community_staff[community - 1]
        return int(population.family_user[household - 1])

    def _meal_order(self, booking_id: int, booking: Booked, times: SlotTimes) -> None:
        """The order as careapp.meals.policy records it: mode, and price and subsidy fixed on the meal's day."""
        rand, recipient = self.rand, booking.recipient
        if booking.enrolment is not None:
            mode = booking.enrolment.meal_mode
        else:
            position = self.pool.position.get(recipient)
            delivers = position is not None and bool(self.pool.delivers[position])
            mode = meal_mode(rand, delivers, self.population.level[recipient - 1] >= 2)
        age = years_between(self.population.birth[recipient - 1], times.day)
        if age not in self.tier_of_age:
            self.tier_of_age[age] = age_tier(age, self.tiers)
        tier = self.tier_of_age[age]
        amount = self.tiers[tier] if tier is not None else 0
        group = self.population.special_group[recipient - 1]
        if group is not None and group in self.extras:
            amount += self.extras[group]
        else:
            group = None
        self.buffers.add("meal_order", (booking_id, mode, self.price, min(amount, self.price), tier, group))
        if booking.enrolment is None and rand.random() < DISHES_CHOSEN_SHARE:
            dishes = menu(self.service.partner.dishes, self.meal, times.day)
            for dish in sorted(rand.sample(dishes, rand.randint(1, 2))):
                self.buffers.add("meal_order_dish", (booking_id, dish))


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
