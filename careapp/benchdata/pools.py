"""Who books each service: a pool of household members, each with the days on which the service's rules
take them.

Day care, lunch, dinner and nursery classes are used near home: each member gets a home partner (the
nearest that runs the kind) and books only there, so nobody has two lunches or two day centres on one day.
Activities draw on the members living nearest to the service point. The days each member may book follow
the same rules the booking engine checks (careapp.booking.policies): the kind of member, the ability
levels the service takes, age limits in years or months, and a nursery class's age band, which children
grow into and out of during the year.
"""
from __future__ import annotations

import calendar
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from careapp.benchdata.population import METRES_PER_DEGREE, Population, ServicePlan
from careapp.childcare.policy import CLASS_RULES
from careapp.core.geo import distance_m
from careapp.households.models import months_between
from careapp.partners.models import ChildClass, ServiceKind

# Members an activity draws on, per place it offers.
ACTIVITY_POOL_PER_PLACE = 8
# Share of children whose family chose the mixed class where the nursery has one.
MIXED_CLASS_SHARE = 0.3
FAR = np.iinfo(np.int32).max


@dataclass
class Pool:
    """The members who may book a service: ids, the days they may (ordinals, from inclusive, until exclusive),
    how keen each is (a weight), and for meals whether the canteen delivers to their home."""

    ids: np.ndarray
    valid_from: np.ndarray
    valid_until: np.ndarray
    weight: np.ndarray
    delivers: np.ndarray

    def __post_init__(self):
        self.position = {int(rid): n for n, rid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def valid_on(self, ordinal: int) -> np.ndarray:
        return (self.valid_from <= ordinal) & (ordinal < self.valid_until)


def first_day_aged(born: date, months: int) -> date:
    """The first day on which someone born on ``born`` is ``months`` months old (as the care rules count)."""
    year, month = divmod(born.year * 12 + born.month - 1 + months, 12)
    day = date(year, month + 1, min(born.day, calendar.monthrange(year, month + 1)[1]))
    while months_between(born, day) < months:
        day = date.fromordinal(day.toordinal() + 1)
    return day


class Eligibility:
    """The span of days on which each member may book a service, by its age, level and kind rules."""

    def __init__(self, population: Population, config: Mapping[str, Any]):
        self.population = population
        self.config = config
        self.aged: dict[tuple[int, int], int] = {}

    def _aged(self, index: int, months: int) -> int:
        key = (index, months)
        if key not in self.aged:
            self.aged[key] = first_day_aged(self.population.birth[index], months).toordinal()
        return self.aged[key]

    def static_mask(self, service: ServicePlan) -> np.ndarray:
        """Members the service's kind and ability levels take at all (ages aside)."""
        population, kind = self.population, service.kind
        mask = np.ones(len(population.household), dtype=bool)
        if kind in (ServiceKind.daycare, ServiceKind.meal):
            mask &= ~population.is_child
        elif kind == ServiceKind.childcare:
            mask &= population.is_child
        levels = service.columns["ability_levels"]
        if levels is not None:
            mask &= np.isin(population.level, [int(level) for level in levels])
        return mask

    def limits(self, service: ServicePlan) -> tuple[int | None, int | None]:
        """(from, below) in months of age: the service's own limits, else its kind's and class's."""
        columns = service.columns
        low, high = [], []
        min_years = columns["min_age_years"]
        if min_years is None and service.kind == ServiceKind.daycare:
            min_years = self.config["DAYCARE_MIN_AGE"]
        if min_years is not None:
            low.append(12 * min_years)
        if columns["max_age_years"] is not None:
            high.append(12 * (columns["max_age_years"] + 1))
        if columns["min_age_months"] is not None:
            low.append(columns["min_age_months"])
        if columns["max_age_months"] is not None:
            high.append(columns["max_age_months"] + 1)
        rule = CLASS_RULES.get(ChildClass(columns["child_class"])) if columns["child_class"] else None
        if rule is not None:
            if columns["min_age_months"] is None and rule.from_months is not None:
                low.append(rule.from_months)
            if columns["max_age_months"] is None and rule.below_months is not None:
                high.append(rule.below_months)
        return (max(low) if low else None), (min(high) if high else None)

    def spans(self, service: ServicePlan, indexes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(from, until) day ordinals for members (by index); until <= from: never within the window."""
        low, below = self.limits(service)
        start = np.full(len(indexes), self.population.window.first.toordinal(), dtype=np.int64)
        until = np.full(len(indexes), self.population.window.last.toordinal() + 1, dtype=np.int64)
        for n, index in enumerate(indexes):
            if low is not None:
                start[n] = max(start[n], self._aged(int(index), low))
            if below is not None:
                until[n] = min(until[n], self._aged(int(index), below))
        return start, until


def _distances(lat: np.ndarray, lon: np.ndarray, to_lat: float, to_lon: float) -> np.ndarray:
    """Metres, flat-earth: for ranking who lives nearest (exact distances use careapp.core.geo)."""
    north = (lat - to_lat) * METRES_PER_DEGREE
    east = (lon - to_lon) * METRES_PER_DEGREE * np.cos(np.radians(to_lat))
    return np.hypot(north, east)


def home_family(service: ServicePlan) -> str | None:
    """Services of one family are used near home, one per member; None: an activity open to all nearby."""
    if service.kind == ServiceKind.daycare:
        return "daycare"
    if service.kind == ServiceKind.meal:
        return f"meal:{service.columns['meal']}"
    if service.kind == ServiceKind.childcare and service.columns["child_class"]:
        return "class"
    return None


class PoolBuilder:
    def __init__(self, population: Population, config: Mapping[str, Any], seed: int):
        self.population = population
        self.config = config
        self.rng = np.random.default_rng([seed, 1])
        self.rand = random.Random(seed * 1_000_003 + 1)
        self.eligibility = Eligibility(population, config)
        self.lat, self.lon = population.recipient_lat(), population.recipient_lon()

    def build(self) -> dict[int, Pool]:
        chosen: dict[int, list[int]] = defaultdict(list)  # service id -> member indexes
        families: dict[str, list[ServicePlan]] = defaultdict(list)
        for service in self.population.services:
            family = home_family(service)
            if family is None:
                chosen[service.id] = list(self._nearest(service))
            else:
                families[family].append(service)
        for family, services in sorted(families.items()):
            for service_id, members in self._at_home(family, services).items():
                chosen[service_id] = members
        return {service.id: self._pool(service, np.array(sorted(chosen[service.id]), dtype=np.int64))
                for service in self.population.services}

    def _at_home(self, family: str, services: list[ServicePlan]) -> dict[int, list[int]]:
        """Each member the family's services take goes to the nearest partner running them, and there to one
        service (day care: one the member's level fits, by its size; classes: the mixed class or the
        standard classes, which the child moves through with age)."""
        partners = sorted({service.partner.id for service in services})
        points = {service.partner.id: service.partner for service in services}
        mask = np.zeros(len(self.lat), dtype=bool)
        for service in services:
            mask |= self.eligibility.static_mask(service)
        members = np.flatnonzero(mask)
        distance = np.stack([_distances(self.lat[members], self.lon[members], points[p].latitude,
                                        points[p].longitude) for p in partners])
        home = np.array(partners)[np.argmin(distance, axis=0)]
        chosen: dict[int, list[int]] = defaultdict(list)
        for partner_id in partners:
            offered = [service for service in services if service.partner.id == partner_id]
            takes = {service.id: self.eligibility.static_mask(service) for service in offered}
            for member in members[home == partner_id]:
                for service in self._choose(family, [s for s in offered if takes[s.id][member]]):
                    chosen[service.id].append(int(member))
        return chosen

    def _choose(self, family: str, services: list[ServicePlan]) -> list[ServicePlan]:
        if not services:
            return []
        if family == "class":
            mixed = [s for s in services if s.columns["child_class"] == ChildClass.mixed.value]
            standard = [s for s in services if s not in mixed]
            if mixed and (not standard or self.rand.random() < MIXED_CLASS_SHARE):
                return mixed
            return standard
        if len(services) == 1:
            return services
        return self.rand.choices(services, weights=[service.capacity for service in services])

    def _nearest(self, service: ServicePlan) -> np.ndarray:
        """The members living nearest the point whom the service takes on some day of the window."""
        wanted = max(service.capacity * ACTIVITY_POOL_PER_PLACE, 20)
        members = np.flatnonzero(self.eligibility.static_mask(service))
        partner = service.partner
        distance = _distances(self.lat[members], self.lon[members], partner.latitude, partner.longitude)
        if len(members) > wanted * 3:
            nearest = np.argpartition(distance, wanted * 3)[: wanted * 3]
            members, distance = members[nearest], distance[nearest]
        members = members[np.lexsort((members, distance))]
        start, until = self.eligibility.spans(service, members)
        return members[until > start][:wanted]

    def _pool(self, service: ServicePlan, members: np.ndarray) -> Pool:
        start, until = self.eligibility.spans(service, members)
        keep = until > start
        members, start, until = members[keep], start[keep], until[keep]
        return Pool(ids=members + 1, valid_from=start, valid_until=until,
                    weight=self.rng.gamma(0.8, size=len(members)) + 0.05,
                    delivers=self._delivers(service, members))

    def _delivers(self, service: ServicePlan, members: np.ndarray) -> np.ndarray:
        if service.kind != ServiceKind.meal:
            return np.zeros(len(members), dtype=bool)
        radius = service.columns["delivery_radius_m"]
        radius = int(self.config["MEAL_DELIVERY_RADIUS"]) if radius is None else radius
        partner = service.partner
        # As careapp.meals.policy.check_delivery decides it: the rounded distance within the radius.
        return np.array([round(distance_m(float(self.lat[m]), float(self.lon[m]), partner.latitude,
                                          partner.longitude)) <= radius for m in members], dtype=bool)
