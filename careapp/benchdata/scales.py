"""How big each generated population is: the one table benchmarks read to know what they run against."""
from __future__ import annotations

from dataclasses import dataclass

from careapp.benchdata.catalogue import MIX

# Every generated account has this password (docs/bench-data.md); it is published, so generated data only
# ever goes into a database of its own.
BENCH_PASSWORD = "careapp-bench-2026"
# The city the district lies in: buildings spread around this point (芜湖, 镜湖区).
CENTRE = (31.33, 118.38)
PEOPLE_PER_HOUSEHOLD = 3


@dataclass(frozen=True)
class Scale:
    """A population to generate.

    ``residents`` live in ``residents / 3`` registered households, each with a family account; ``elders``
    (60-95) and ``children`` (0-6) are the household members care is booked for. ``days`` of slots end
    OPEN_DAYS_AHEAD days ahead (as the scheduler keeps them open), so most lie in the past.
    ``capacity_factor`` shrinks every service's places (only the tiny scale uses it).
    ``bookings`` is about how many bookings the scale makes (each run prints the exact count).
    """

    name: str
    residents: int
    elders: int
    children: int
    buildings: int
    communities: int
    grids: int
    partners: int
    days: int
    radius_km: float
    bookings: int
    capacity_factor: float = 1.0

    @property
    def households(self) -> int:
        return self.residents // PEOPLE_PER_HOUSEHOLD

    @property
    def services(self) -> int:
        return sum(len(MIX[n % len(MIX)].offers) for n in range(self.partners))


SCALES: dict[str, Scale] = {
    scale.name: scale for scale in (
        # For tests: one of each kind of partner, four weeks of slots, about 1,300 bookings.
        Scale("tiny", residents=150, elders=36, children=18, buildings=6, communities=1, grids=2, partners=5,
              days=28, radius_km=0.6, bookings=1_300, capacity_factor=0.15),
        # A sub-district (街道) like 赭麓街道.
        Scale("district", residents=30_000, elders=6_000, children=3_000, buildings=300, communities=5, grids=30,
              partners=10, days=365, radius_km=1.4, bookings=500_000),
        # Ten sub-districts.
        Scale("city", residents=300_000, elders=60_000, children=30_000, buildings=3_000, communities=50,
              grids=300, partners=100, days=365, radius_km=4.5, bookings=5_000_000),
    )
}


# Logins of the generated accounts, by the row they belong to (ids start at 1 in an empty database).
ADMIN_LOGIN = "admin@bench.example"


def community_staff_login(community_id: int) -> str:
    return f"community{community_id}@bench.example"


def partner_manager_login(partner_id: int) -> str:
    return f"partner{partner_id}.manager@bench.example"


def partner_staff_login(partner_id: int, number: int) -> str:
    return f"partner{partner_id}.staff{number}@bench.example"


def family_login(household_id: int) -> str:
    return f"family{household_id}@bench.example"
