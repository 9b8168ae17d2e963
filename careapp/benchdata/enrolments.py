"""Standing enrolments (this member, this service, these weekdays, from a day on) that book each new slot.

Each service gets enough to hold about ``Offer.enrolled`` of its places on every day of the window: a
member's enrolment takes a share of a place for the days it runs (its weekdays out of the service's), and
is made only where that keeps the day within the target. Children's enrolments in a class run while they
are of the class's age. Some enrolments have ended, a few are paused until a coming day.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from careapp.benchdata.pools import Pool
from careapp.benchdata.population import Population, ServicePlan
from careapp.partners.models import ServiceKind

ENDED_SHARE = 0.15
PAUSED_SHARE = 0.04
# Most families enrol for every day the service runs; the others for some of them.
EVERY_DAY_SHARE = 0.55
# Share of enrolments a grid worker makes for a family without a smartphone (代办), and for the frail.
ON_BEHALF_SHARE, ON_BEHALF_FRAIL_SHARE = 0.15, 0.5

ENROLMENT_COLUMNS = ("id", "recipient_id", "service_id", "weekdays", "start_time", "starts_on", "ends_on", "status",
                     "resumes_on", "needs_transport", "meal_mode", "created_by_id", "created_at", "updated_at")


@dataclass(slots=True)
class Standing:
    """What the bookings need of an enrolment."""

    id: int
    recipient: int
    weekdays: frozenset[int]
    starts_on: int              # ordinals
    ends_on: int | None
    created: datetime           # naive UTC
    # A pause: bookings of these days are not made, or cancelled when the pause was decided (``paused_at``).
    paused_from: int | None
    resumes_on: int | None
    paused_at: datetime | None
    needs_transport: bool
    meal_mode: str | None
    # Ended by the family (status ended) rather than given an end when made (a class the child grows out of).
    ended_by_family: bool = False

    def runs_on(self, ordinal: int, weekday: int) -> bool:
        return (weekday in self.weekdays and self.starts_on <= ordinal
                and (self.ends_on is None or ordinal <= self.ends_on))

    def paused_on(self, ordinal: int) -> bool:
        return self.paused_from is not None and self.paused_from <= ordinal < self.resumes_on


def meal_mode(rand: random.Random, delivers: bool, frail: bool) -> str:
    if delivers and rand.random() < (0.6 if frail else 0.2):
        return "delivery"
    return "dine_in" if rand.random() < 0.6 else "pick_up"


class EnrolmentMaker:
    def __init__(self, population: Population, seed: int, local_moment, writer, first_id: int):
        self.population = population
        self.seed = seed
        self.local_moment = local_moment
        self.writer = writer
        self.next_id = first_id

    def make(self, service: ServicePlan, pool: Pool) -> tuple[list[Standing], list[tuple]]:
        rand = random.Random(self.seed * 1_000_003 + service.id)
        rng = np.random.default_rng([self.seed, 2, service.id])
        window = self.population.window
        days = (window.last - window.first).days + 1
        places = service.capacity if service.staffed_places is None else min(service.capacity, service.staffed_places)
        target = places * service.offer.enrolled * service.popularity
        if target <= 0 or not len(pool):
            return [], []
        taken = np.zeros(days)
        order = np.argsort(rng.exponential(size=len(pool)) / pool.weight)  # keen members first
        made: list[Standing] = []
        rows: list[tuple] = []
        for tried, n in enumerate(order):
            # Stop once every day is at the target, or when the pool has little left to give.
            if taken.min() >= target - 0.5 or tried > 10 * target + 50:
                break
            standing = self._try(service, pool, int(n), rand, taken, target)
            if standing is not None:
                made.append(standing)
                rows.append(self._row(service, standing, rand))
        return made, rows

    def _try(self, service: ServicePlan, pool: Pool, n: int, rand: random.Random, taken: np.ndarray,
             target: float) -> Standing | None:
        window, first = self.population.window, self.population.window.first.toordinal()
        today = window.today.toordinal()
        days = self._weekdays(service.offer.weekdays, rand)
        share = len(days) / len(service.offer.weekdays)
        registered = self.population.registered[int(pool.ids[n]) - 1]
        earliest = max(int(pool.valid_from[n]), registered.date().toordinal() + 1, first - 60)
        starts_on = max(earliest, first - 60 + rand.randrange(max(1, today - first + 60)))
        child = bool(self.population.is_child[int(pool.ids[n]) - 1])
        if child:
            ends_on = int(pool.valid_until[n]) - 1  # the class's age band ends
        elif rand.random() < ENDED_SHARE:
            ends_on = starts_on + 28 + rand.randrange(max(1, today - starts_on - 28))
        else:
            ends_on = None
        if ends_on is not None and ends_on < starts_on + 14:
            return None
        low = max(starts_on - first, 0)
        high = len(taken) if ends_on is None else min(ends_on - first + 1, len(taken))
        if high <= low or taken[low:high].max() + share > target + 0.5:
            return None
        taken[low:high] += share
        standing = self._standing(service, pool, n, rand, days, starts_on, ends_on, registered)
        standing.ended_by_family = not child and ends_on is not None
        return standing

    @staticmethod
    def _weekdays(weekdays: tuple[int, ...], rand: random.Random) -> frozenset[int]:
        if len(weekdays) == 1 or rand.random() < EVERY_DAY_SHARE:
            return frozenset(weekdays)
        return frozenset(rand.sample(weekdays, rand.randint(1, len(weekdays) - 1)))

    def _standing(self, service: ServicePlan, pool: Pool, n: int, rand: random.Random, days: frozenset[int],
                  starts_on: int, ends_on: int | None, registered: datetime) -> Standing:
        window = self.population.window
        created = self.local_moment(date.fromordinal(starts_on - 1 - rand.randrange(7)),
                                    time(8 + rand.randrange(12), rand.randrange(60)))
        created = min(max(created, registered + timedelta(hours=1)), window.now - timedelta(hours=2))
        recipient = int(pool.ids[n])
        frail = self.population.level[recipient - 1] >= 2
        standing = Standing(id=self.next_id, recipient=recipient, weekdays=days, starts_on=starts_on, ends_on=ends_on,
                            created=created, paused_from=None, resumes_on=None, paused_at=None,
                            needs_transport=bool(service.columns["transport"]) and rand.random() < 0.6,
                            meal_mode=meal_mode(rand, bool(pool.delivers[n]), frail)
                            if service.kind == ServiceKind.meal else None)
        self.next_id += 1
        today = window.today.toordinal()
        if (ends_on is None or ends_on > today + 14) and rand.random() < PAUSED_SHARE:
            paused_at = window.now - timedelta(days=1 + rand.random() * 14)
            if paused_at > created + timedelta(days=1):
                standing.paused_at = paused_at
                # Two days on, so every booking it cancels could still be cancelled then.
                standing.paused_from = paused_at.date().toordinal() + 2
                standing.resumes_on = today + 3 + rand.randrange(28)
        return standing

    def _row(self, service: ServicePlan, standing: Standing, rand: random.Random) -> tuple:
        population, window, at = self.population, self.population.window, self.writer.moment
        today = window.today.toordinal()
        household = int(population.household[standing.recipient - 1])
        community = int(population.building_community[population.household_building[household - 1] - 1])
        frail = population.level[standing.recipient - 1] >= 3
        on_behalf = rand.random() < (ON_BEHALF_FRAIL_SHARE if frail else ON_BEHALF_SHARE)
        by = population.community_staff[community - 1] if on_behalf else int(population.family_user[household - 1])
        updated = standing.created
        if standing.ended_by_family and standing.ends_on < today:
            # Decided before any slot after the last day opened, so none of those was ever booked.
            status = "ended"
            decided = self.local_moment(date.fromordinal(standing.ends_on - 14 - rand.randrange(14)), time(10))
            updated = max(standing.created, decided)
        elif standing.paused_at is not None:
            status, updated = "paused", standing.paused_at
        else:
            status = "active"
        day = self.writer.day
        return (standing.id, standing.recipient, service.id, "".join(str(d) for d in sorted(standing.weekdays)), None,
                day(date.fromordinal(standing.starts_on)),
                None if standing.ends_on is None else day(date.fromordinal(standing.ends_on)), status,
                None if standing.resumes_on is None else day(date.fromordinal(standing.resumes_on)),
                standing.needs_transport, standing.meal_mode, by, at(standing.created), at(updated))

