"""The people and places: communities, grids and buildings around Wuhu; households with their elders and
children and the adults who may collect them; accounts; partners with their service points, rooms,
services, weekly patterns, dishes and volunteers.

Everything here is a few hundred thousand rows at most, built with numpy and plain loops and written as it
is made. What the bookings need later (who lives where, who may book what, which staff check people in)
is kept in a :class:`Population`.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from careapp.benchdata import words
from careapp.benchdata.catalogue import MIX, Offer, PartnerType
from careapp.benchdata.scales import (ADMIN_LOGIN, CENTRE, Scale, community_staff_login, family_login,
                                      partner_manager_login, partner_staff_login)
from careapp.benchdata.writer import BulkWriter
from careapp.childcare.policy import CLASS_RULES
from careapp.partners.models import ServiceKind

METRES_PER_DEGREE = 111_320.0
# Elders' age on the first day of slots, by five-year band from 60 (weights), and their ability levels
# (GB/T 42195-2022, 0-4) by age.
AGE_BANDS = (27, 24, 19, 13, 9, 5, 3)
LEVELS_BY_AGE = ((70, (0.80, 0.12, 0.05, 0.02, 0.01)), (80, (0.60, 0.20, 0.12, 0.05, 0.03)),
                 (200, (0.35, 0.25, 0.20, 0.12, 0.08)))
# The platform opened this many days before the first slot; households registered since then.
LAUNCH_DAYS = 120


@dataclass(frozen=True)
class Window:
    """The days that get slots (local dates) and the present, as naive UTC (how the generator keeps time)."""

    now: datetime
    today: date
    first: date
    last: date

    @property
    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass
class ServicePlan:
    """A generated service and what its slots and bookings need to know."""

    id: int
    partner: PartnerPlan
    offer: Offer
    capacity: int
    staffed_places: int | None
    columns: dict[str, Any]
    room_id: int
    patterns: dict[int, int] = field(default_factory=dict)  # weekday -> pattern id
    carers: list[int] = field(default_factory=list)         # staff rostered on the class every day
    popularity: float = 1.0

    @property
    def kind(self) -> ServiceKind:
        return self.offer.kind


@dataclass
class PartnerPlan:
    id: int
    type: PartnerType
    name: str
    point_id: int
    latitude: float
    longitude: float
    community: int
    manager: int = 0
    staff: list[int] = field(default_factory=list)
    volunteers: list[int] = field(default_factory=list)
    dishes: list[int] = field(default_factory=list)
    services: list[ServicePlan] = field(default_factory=list)


@dataclass
class Population:
    window: Window
    building_lat: np.ndarray
    building_lon: np.ndarray
    building_community: np.ndarray        # by building id - 1
    household_building: np.ndarray        # by household id - 1
    family_user: np.ndarray               # the household's family account, by household id - 1
    # Household members, by recipient id - 1.
    household: np.ndarray
    is_child: np.ndarray
    birth: list[date]
    level: np.ndarray                     # -1: none (children)
    special_group: list[str | None]
    registered: list[datetime]            # when each member was added (naive UTC)
    adults: dict[int, list[int]]          # child id -> authorised adult ids
    admin: int
    community_staff: list[int]            # by community id - 1
    partners: list[PartnerPlan] = field(default_factory=list)

    @property
    def services(self) -> list[ServicePlan]:
        return [service for partner in self.partners for service in partner.services]

    def recipient_lat(self) -> np.ndarray:
        return self.building_lat[self.household_building[self.household - 1] - 1]

    def recipient_lon(self) -> np.ndarray:
        return self.building_lon[self.household_building[self.household - 1] - 1]


class Ids:
    """Ids are given here, from 1 in each table (the database is empty), so rows can point at each other
    before anything is read back."""

    def __init__(self):
        self.last: dict[str, int] = {}

    def next(self, table: str) -> int:
        self.last[table] = self.last.get(table, 0) + 1
        return self.last[table]


class Namer:
    """Chinese names: surnames by how common they are, given names by generation."""

    def __init__(self, rand: random.Random):
        self.rand = rand
        self.surnames = [surname for surname, _ in words.SURNAMES]
        self.cumulative = list(itertools.accumulate(weight for _, weight in words.SURNAMES))

    def surname(self) -> str:
        return self.rand.choices(self.surnames, cum_weights=self.cumulative)[0]

    def given(self, names: tuple[str, ...]) -> str:
        return self.rand.choice(names)

    def mobile(self) -> str:
        return f"1{self.rand.choice('35789')}{self.rand.randrange(10 ** 9):09d}"


def unique_names(rng: np.random.Generator, count: int, suffix: str) -> list[str]:
    """Place names with a suffix, no two alike ("赭山社区", then "赭山东社区" once the places run out)."""
    names: list[str] = []
    for variant in ("", "东", "西", "南", "北", "新", "中", "上", "下"):
        names += [f"{place}{variant}{suffix}" for place in rng.permutation(words.PLACES)]
        if len(names) >= count:
            return names[:count]
    return [f"{suffix}{n + 1}" for n in range(count)]


def offset(lat: float, lon: float, east_m: np.ndarray | float, north_m: np.ndarray | float):
    return (lat + np.asarray(north_m) / METRES_PER_DEGREE,
            lon + np.asarray(east_m) / (METRES_PER_DEGREE * math.cos(math.radians(lat))))


def in_disc(rng: np.random.Generator, count: int, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in a disc: (east, north) metres."""
    distance = radius_m * np.sqrt(rng.random(count))
    angle = rng.random(count) * 2 * math.pi
    return distance * np.cos(angle), distance * np.sin(angle)


def split_evenly(total: int, parts: int) -> np.ndarray:
    """Which part each of ``total`` items falls in, as evenly as possible (part numbers from 0)."""
    return (np.arange(total) * parts) // max(total, 1)


# ---------------------------------------------------------------------------------------------------------
# Building it
# ---------------------------------------------------------------------------------------------------------

class PopulationBuilder:
    def __init__(self, scale: Scale, seed: int, window: Window, writer: BulkWriter, password_hash: str,
                 local_moment):
        self.scale = scale
        # numpy for whole arrays, Python's generator for one value at a time (much faster there).
        self.rng = np.random.default_rng([seed, 0])
        self.rand = random.Random(seed * 1_000_003)
        self.window = window
        self.writer = writer
        self.password_hash = password_hash
        self.local_moment = local_moment  # (local date, local time) -> naive UTC datetime
        self.ids = Ids()
        self.namer = Namer(self.rand)
        self.launch = local_moment(window.first - timedelta(days=LAUNCH_DAYS), time(9, 0))

    def build(self) -> Population:
        self._district()
        self._households()
        self._district_accounts()
        self._partners()
        self._partner_accounts()
        self._family_accounts()
        self._members()
        self._points_rooms_services()
        self._dishes_and_volunteers()
        return Population(
            window=self.window, building_lat=self.b_lat, building_lon=self.b_lon,
            building_community=self.b_community, household_building=self.h_building,
            family_user=self.family_user, household=self.r_household, is_child=self.r_child, birth=self.r_birth,
            level=self.r_level, special_group=self.r_special, registered=self.r_created, adults=self.adults,
            admin=self.admin, community_staff=self.community_staff, partners=self.partners)

    def at(self, moment: datetime) -> Any:
        return self.writer.moment(moment)

    def some_time_after(self, start: datetime, days: float) -> datetime:
        return start + timedelta(seconds=self.rand.randrange(int(days * 86_400) + 1))

    # --- communities, grids, buildings ---

    def _district(self) -> None:
        scale, rng = self.scale, self.rng
        radius = scale.radius_km * 1000
        names = unique_names(rng, scale.communities, "社区")
        self.writer.write("community", ("id", "name"), [(n + 1, name) for n, name in enumerate(names)])
        c_east, c_north = in_disc(rng, scale.communities, radius * 0.7)
        spread = radius / math.sqrt(scale.communities) * 0.6
        grid_community = split_evenly(scale.grids, scale.communities)
        g_east, g_north = in_disc(rng, scale.grids, spread)
        g_east, g_north = g_east + c_east[grid_community], g_north + c_north[grid_community]
        # Each grid is a compound (no two alike in a community), on a road.
        compounds = [f"{place}{kind}" for place in words.PLACES for kind in words.COMPOUND_KINDS]
        self.grid_compound = [""] * scale.grids
        for community in range(scale.communities):
            members = np.flatnonzero(grid_community == community)
            for grid, pick in zip(members, rng.choice(len(compounds), size=len(members), replace=False)):
                self.grid_compound[grid] = compounds[pick]
        self.grid_road = [self.rand.choice(words.ROADS) for _ in range(scale.grids)]
        self.writer.write("grid", ("id", "community_id", "name"),
                          [(grid + 1, int(grid_community[grid]) + 1, f"{self.grid_compound[grid]}网格")
                           for grid in range(scale.grids)])
        self.grid_community = grid_community + 1
        self.grid_lat, self.grid_lon = offset(*CENTRE, g_east, g_north)

        building_grid = split_evenly(scale.buildings, scale.grids)
        b_east, b_north = in_disc(rng, scale.buildings, 150.0)
        lat, lon = offset(*CENTRE, b_east + g_east[building_grid], b_north + g_north[building_grid])
        rows, number = [], np.zeros(scale.grids, dtype=int)
        for b in range(scale.buildings):
            grid = building_grid[b]
            number[grid] += 1
            compound, road = self.grid_compound[grid], self.grid_road[grid]
            rows.append((b + 1, int(grid) + 1, f"{number[grid]}栋", f"芜湖市镜湖区{road}{compound}{number[grid]}栋",
                         float(lat[b]), float(lon[b])))
        self.writer.write("building", ("id", "grid_id", "name", "address", "latitude", "longitude"), rows)
        self.b_lat, self.b_lon = lat, lon
        self.b_community = self.grid_community[building_grid]

    # --- households ---

    def _households(self) -> None:
        scale, rng = self.scale, self.rng
        count = scale.households
        self.h_building = rng.permutation(split_evenly(count, scale.buildings)) + 1
        self.h_surname = [self.namer.surname() for _ in range(count)]
        self.h_created = [self.some_time_after(self.launch, LAUNCH_DAYS - 1) for _ in range(count)]
        flat_in_building = np.zeros(scale.buildings + 1, dtype=int)
        rows = []
        for h in range(count):
            building = int(self.h_building[h])
            flat = flat_in_building[building]
            flat_in_building[building] += 1
            unit = f"{flat // 22 + 1}单元{(flat % 22) // 2 + 1}0{flat % 2 + 1}"
            rows.append((h + 1, f"{self.h_surname[h]}家", building, unit, self.at(self.h_created[h])))
        self.writer.write("household", ("id", "name", "building_id", "unit", "created_at"), rows)
        # The adult who registered: the family account's name and phone, the elders' emergency contact.
        self.h_head = [surname + self.namer.given(words.ADULT_MEN if self.rand.random() < 0.5 else words.ADULT_WOMEN)
                       for surname in self.h_surname]
        self.h_phone = [self.namer.mobile() for _ in range(count)]

    # --- accounts ---

    USER_COLUMNS = ("id", "login", "password_hash", "role", "name", "email", "phone", "partner_id", "household_id",
                    "active", "language", "created_at")

    def _user(self, login: str, role: str, name: str, created: datetime, *, phone: str | None = None,
              partner: int | None = None, household: int | None = None) -> tuple:
        return (self.ids.next("user"), login, self.password_hash, role, name, login, phone, partner, household,
                True, "zh_CN", self.at(created))

    def _district_accounts(self) -> None:
        created = self.launch - timedelta(days=30)
        rows = [self._user(ADMIN_LOGIN, "admin", "街道系统管理员", created)]
        for community in range(1, self.scale.communities + 1):
            rows.append(self._user(community_staff_login(community), "community_staff",
                                   f"{self.namer.surname()}{self.namer.given(words.ADULT_WOMEN)}(网格员)", created,
                                   phone=self.namer.mobile()))
        self.admin = rows[0][0]
        self.community_staff = [row[0] for row in rows[1:]]
        self.writer.write("user", self.USER_COLUMNS, rows)

    def _partner_accounts(self) -> None:
        rows = []
        for partner in self.partners:
            created = self.launch - timedelta(days=20)
            manager = self._user(partner_manager_login(partner.id), "partner_manager",
                                 f"{self.namer.surname()}主任", created, phone=self.namer.mobile(),
                                 partner=partner.id)
            partner.manager = manager[0]
            rows.append(manager)
            carers = sum(self._carers_needed(offer) for offer in partner.type.offers)
            for number in range(1, partner.type.staff + carers + 1):
                given = self.namer.given(words.ADULT_WOMEN)
                row = self._user(partner_staff_login(partner.id, number), "partner_staff",
                                 f"{self.namer.surname()}{given}", created, phone=self.namer.mobile(),
                                 partner=partner.id)
                partner.staff.append(row[0])
                rows.append(row)
        self.writer.write("user", self.USER_COLUMNS, rows)

    def _family_accounts(self) -> None:
        rows = [self._user(family_login(h + 1), "family", self.h_head[h], self.h_created[h], phone=self.h_phone[h],
                           household=h + 1) for h in range(self.scale.households)]
        self.family_user = np.array([row[0] for row in rows], dtype=np.int64)
        self.writer.write("user", self.USER_COLUMNS, rows)

    # --- household members ---

    def _member_households(self) -> tuple[list[int], list[int]]:
        """How many elders and children live in each household (a couple, three generations, siblings)."""
        scale, rng = self.scale, self.rng
        count = scale.households
        elder_homes = min(count, math.ceil(scale.elders / 1.4))
        order = rng.permutation(count)
        elders = [0] * count
        for n, h in enumerate(order[:elder_homes]):
            elders[h] = 1 + (n < scale.elders - elder_homes)
        child_homes = math.ceil(scale.children / 1.15)
        with_elders = order[:elder_homes][: int(child_homes * 0.3)]
        without = order[elder_homes:][: child_homes - len(with_elders)]
        chosen = list(with_elders) + list(without)
        chosen += list(order[:elder_homes][len(with_elders):][: child_homes - len(chosen)])
        children = [0] * count
        for n, h in enumerate(chosen):
            children[h] = 1 + (n < scale.children - len(chosen))
        return elders, children

    def _members(self) -> None:
        elders, children = self._member_households()
        self.r_household, self.r_child, self.r_birth, self.r_level, self.r_special = [], [], [], [], []
        self.r_created: list[datetime] = []
        self.adults: dict[int, list[int]] = {}
        rows, adult_rows = [], []
        for h in range(self.scale.households):
            for n in range(elders[h]):
                rows.append(self._elder(h, couple=elders[h] == 2, husband=n == 0))
            for _ in range(children[h]):
                rows.append(self._child(h))
                adult_rows += self._collectors(h, rows[-1][0])
        self.writer.write("care_recipient", (
            "id", "household_id", "kind", "name", "birth_date", "ability_level", "diet", "diet_tags",
            "special_group", "phone", "allergies", "mobility", "medication_notes", "emergency_contact_name",
            "emergency_contact_phone", "created_at"), rows)
        self.writer.write("authorised_adult", ("id", "child_id", "name", "relation", "phone", "active"), adult_rows)
        self.r_household = np.array(self.r_household, dtype=np.int64)
        self.r_child = np.array(self.r_child, dtype=bool)
        self.r_level = np.array(self.r_level, dtype=np.int8)

    def _elder(self, h: int, *, couple: bool, husband: bool) -> tuple:
        rand, window = self.rand, self.window
        band = rand.choices(range(len(AGE_BANDS)), weights=AGE_BANDS)[0]
        age = 60 + 5 * band + rand.randrange(5)
        born = window.first - timedelta(days=int(age * 365.25) + rand.randrange(1, 364))
        level = rand.choices(range(5), weights=next(p for limit, p in LEVELS_BY_AGE if age < limit))[0]
        man = husband if couple else rand.random() < 0.4
        surname = self.h_surname[h] if man or not couple else self.namer.surname()
        name = surname + self.namer.given(words.ELDER_MEN if man else words.ELDER_WOMEN)
        special = ("dibao" if rand.random() < 0.03 else "tekun" if rand.random() < 0.01
                   else "shineng" if level >= 3 and rand.random() < 0.6 else None)
        tags = [(tag, note) for tag, note, share in words.DIETS
                if rand.random() < share * (2.5 if tag == "soft" and level >= 2 else 1)]
        registered = self.h_created[h] + timedelta(minutes=5)
        self._remember(h, child=False, born=born, level=level, special=special, registered=registered)
        return (self.ids.next("care_recipient"), h + 1, "elder", name, self.writer.day(born), level,
                "、".join(note for _, note in tags) or None, ",".join(tag for tag, _ in tags) or None, special,
                self.namer.mobile() if rand.random() < 0.4 else None,
                rand.choice(words.ALLERGIES) if rand.random() < 0.06 else None,
                rand.choice(words.MOBILITY) if level >= 2 else None,
                rand.choice(words.MEDICATION) if rand.random() < 0.35 else None,
                self.h_head[h], self.h_phone[h], self.at(registered))

    def _child(self, h: int) -> tuple:
        rand, window = self.rand, self.window
        born = window.today - timedelta(days=rand.randrange(30, 6 * 365))
        registered = max(self.h_created[h], datetime.combine(born, time(2)) + timedelta(days=rand.randrange(20, 60)))
        registered = min(registered, window.now - timedelta(hours=1))
        self._remember(h, child=True, born=born, level=-1, special=None, registered=registered)
        allergy = rand.choice(words.ALLERGIES) if rand.random() < 0.05 else None
        return (self.ids.next("care_recipient"), h + 1, "child",
                self.h_surname[h] + self.namer.given(words.CHILDREN), self.writer.day(born), None, None, None, None,
                None, allergy, None, None, self.h_head[h], self.h_phone[h], self.at(registered))

    def _remember(self, h: int, *, child: bool, born: date, level: int, special: str | None,
                  registered: datetime) -> None:
        self.r_created.append(registered)
        self.r_household.append(h + 1)
        self.r_child.append(child)
        self.r_birth.append(born)
        self.r_level.append(level)
        self.r_special.append(special)

    def _collectors(self, h: int, child_id: int) -> list[tuple]:
        """The parents, and often a grandparent, may collect the child."""
        rand, surname = self.rand, self.h_surname[h]
        people = [(f"{surname}{self.namer.given(words.ADULT_MEN)}", "父亲"),
                  (f"{self.namer.surname()}{self.namer.given(words.ADULT_WOMEN)}", "母亲")]
        if rand.random() < 0.5:
            relation, man = rand.choice(words.GRANDPARENT_RELATIONS)
            family = surname if relation in ("爷爷", "奶奶") and man else self.namer.surname()
            people.append((family + self.namer.given(words.ELDER_MEN if man else words.ELDER_WOMEN), relation))
        rows = [(self.ids.next("authorised_adult"), child_id, name, relation, self.namer.mobile(), True)
                for name, relation in people]
        self.adults[child_id] = [row[0] for row in rows]
        return rows

    # --- partners ---

    def _partners(self) -> None:
        scale, rng = self.scale, self.rng
        types = [MIX[n % len(MIX)] for n in range(scale.partners)]
        names: dict[str, list[str]] = {}
        for kind in {t.suffix for t in types}:
            names[kind] = unique_names(rng, sum(t.suffix == kind for t in types), kind)
        grids = rng.choice(scale.grids, size=scale.partners, replace=scale.partners > scale.grids)
        east, north = in_disc(rng, scale.partners, 120.0)
        self.partners, rows = [], []
        created = self.launch - timedelta(days=30)
        for n, partner_type in enumerate(types):
            grid = int(grids[n])
            lat, lon = offset(float(self.grid_lat[grid]), float(self.grid_lon[grid]), east[n], north[n])
            partner = PartnerPlan(id=n + 1, type=partner_type, name=names[partner_type.suffix].pop(0), point_id=n + 1,
                                  latitude=float(lat), longitude=float(lon), community=int(self.grid_community[grid]))
            self.partners.append(partner)
            approver = self.community_staff[partner.community - 1]
            rows.append((partner.id, partner.name, partner_type.kind.value, True,
                         f"0553-{rng.integers(2_000_000, 9_999_999)}", None, self.at(created),
                         self.at(created + timedelta(days=1)), approver, None, None))
        self.partner_grid = grids
        self.writer.write("partner_organisation", (
            "id", "name", "kind", "approved", "phone", "description", "created_at", "approved_at", "approved_by_id",
            "declined_at", "decline_reason"), rows)

    def _carers_needed(self, offer: Offer) -> int:
        """Carers a nursery class needs on each day so that staffing allows the whole class (size / ratio)."""
        rule = CLASS_RULES.get(offer.settings.get("child_class"))
        if offer.kind != ServiceKind.childcare or rule is None:
            return 0
        return math.ceil(self._capacity(offer) / rule.children_per_staff)

    def _capacity(self, offer: Offer) -> int:
        capacity = max(1, round(offer.capacity * self.scale.capacity_factor))
        return capacity

    def _points_rooms_services(self) -> None:
        point_rows, room_rows, service_rows, pattern_rows = [], [], [], []
        valid_from = self.window.first - timedelta(days=7)
        for partner in self.partners:
            grid = int(self.partner_grid[partner.id - 1])
            point_rows.append((partner.point_id, partner.id, f"{partner.name}({self.grid_compound[grid]}站)",
                               f"芜湖市镜湖区{self.grid_road[grid]}{self.rng.integers(1, 300)}号",
                               partner.latitude, partner.longitude))
            rooms: dict[str, int] = {}
            for offer in partner.type.offers:
                if offer.room not in rooms:
                    rooms[offer.room] = self.ids.next("room")
                    seats = max(self._capacity(o) for o in partner.type.offers if o.room == offer.room)
                    room_rows.append((rooms[offer.room], partner.point_id, offer.room, offer.kind.value, seats))
            carers = iter(partner.staff[partner.type.staff:])
            for offer in partner.type.offers:
                service = self._service(partner, offer, rooms[offer.room])
                service.carers = [next(carers) for _ in range(self._carers_needed(offer))]
                if service.carers:
                    service.staffed_places = len(service.carers) * CLASS_RULES[offer.settings["child_class"]] \
                        .children_per_staff
                partner.services.append(service)
                service_rows.append(tuple(service.columns[column] for column in SERVICE_COLUMNS))
                for weekday in offer.weekdays:
                    service.patterns[weekday] = self.ids.next("slot_pattern")
                    pattern_rows.append((service.patterns[weekday], service.id, weekday, self.writer.clock(offer.start),
                                         self.writer.clock(offer.end), service.capacity, self.writer.day(valid_from),
                                         None))
        self.writer.write("service_point", ("id", "partner_id", "name", "address", "latitude", "longitude"), point_rows)
        self.writer.write("room", ("id", "service_point_id", "name", "purpose", "seats"), room_rows)
        self.writer.write("service", SERVICE_COLUMNS, service_rows)
        self.writer.write("slot_pattern", ("id", "service_id", "weekday", "start_time", "end_time", "capacity",
                                           "valid_from", "valid_until"), pattern_rows)

    def _service(self, partner: PartnerPlan, offer: Offer, room_id: int) -> ServicePlan:
        capacity = self._capacity(offer)
        if offer.kind != ServiceKind.childcare and capacity >= 20:
            capacity = int(round(capacity * self.rng.uniform(0.8, 1.25) / 5) * 5)
        settings = {key: value.value if hasattr(value, "value") else value for key, value in offer.settings.items()}
        columns = {column: None for column in SERVICE_COLUMNS}
        columns.update(fill_policy="auto", offer_hours=24, active=True, lunch_included=False, transport=False)
        columns.update(settings)
        columns.update(id=self.ids.next("service"), partner_id=partner.id, service_point_id=partner.point_id,
                       kind=offer.kind.value, name=offer.name, default_capacity=capacity, room_id=room_id)
        return ServicePlan(id=columns["id"], partner=partner, offer=offer, capacity=capacity, staffed_places=None,
                           columns=columns, room_id=room_id, popularity=float(self.rng.lognormal(0, 0.15)))

    def _dishes_and_volunteers(self) -> None:
        dish_rows, volunteer_rows = [], []
        for partner in self.partners:
            if any(offer.kind == ServiceKind.meal for offer in partner.type.offers):
                for name in self.rng.choice(list(words.DISHES), size=10, replace=False):
                    tags, allergens = words.DISHES[name]
                    partner.dishes.append(self.ids.next("dish"))
                    dish_rows.append((partner.dishes[-1], partner.id, str(name), ",".join(tags) or None,
                                      ",".join(allergens) or None, True))
            for _ in range(partner.type.volunteers):
                partner.volunteers.append(self.ids.next("volunteer"))
                volunteer_rows.append((partner.volunteers[-1], partner.id,
                                       f"志愿者 {self.namer.surname()}{self.namer.given(words.ADULT_WOMEN)}",
                                       self.namer.mobile(), True))
        self.writer.write("dish", ("id", "partner_id", "name", "diet_tags", "allergens", "active"), dish_rows)
        self.writer.write("volunteer", ("id", "partner_id", "name", "phone", "active"), volunteer_rows)


SERVICE_COLUMNS = (
    "id", "partner_id", "service_point_id", "kind", "name", "description", "default_capacity", "fill_policy",
    "offer_hours", "booking_cutoff_minutes", "cancel_cutoff_minutes", "min_age_years", "max_age_years",
    "min_age_months", "max_age_months", "ability_levels", "active", "room_id", "session_length", "lunch_included",
    "transport", "meal", "price_fen", "delivery_radius_m", "child_class", "class_size", "children_per_staff")

