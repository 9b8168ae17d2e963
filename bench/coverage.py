"""Benchmark: the coverage dashboard for a city of 100,000 buildings and 2,000 service points.

    python bench/coverage.py                      # SQLite, in a temporary folder
    python bench/coverage.py --database postgresql://root@127.0.0.1/coverage_bench   # an EMPTY database
    python bench/coverage.py --buildings 20000 --points 500 --runs 5

It builds the city with bulk inserts (not through the app's rules: this measures reading, not writing),
then times, for the whole city, one community and one grid:
  - ``coverage()``, the read model (SQL + the k-d tree + numpy);
  - the dashboard page and the API answer, through the Flask test client as community staff;
and prints p50 / p95 / max in milliseconds. The target (issue 5) is the dashboard under one second.
Not part of the test suite: speed is proven here, never by a timed unit test.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from careapp import create_app  # noqa: E402
from careapp.accounts.models import Role  # noqa: E402
from careapp.accounts.services import create_user, issue_token  # noqa: E402
from careapp.booking.models import Booking, BookingStatus  # noqa: E402
from careapp.config import database_url  # noqa: E402
from careapp.core.clock import FrozenClock  # noqa: E402
from careapp.core.db import db  # noqa: E402
from careapp.coverage.dashboard import coverage, week_start  # noqa: E402
from careapp.district.models import Building, Community, Grid  # noqa: E402
from careapp.households.models import CareRecipient, Household  # noqa: E402
from careapp.partners.models import PartnerKind, PartnerOrganisation, Service, ServiceKind, ServicePoint, Slot  # noqa: E402

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
CENTRE = (31.33, 118.38)  # Wuhu
KINDS = [ServiceKind.daycare, ServiceKind.meal, ServiceKind.childcare, ServiceKind.activity]


def insert(table, rows: list[dict], batch: int = 20_000) -> None:
    for start in range(0, len(rows), batch):
        db.session.execute(sa.insert(table), rows[start:start + batch])


def build_city(buildings: int, points: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    communities, grids_per = max(buildings // 1000, 1), 20
    insert(Community.__table__, [{"id": c + 1, "name": f"社区{c + 1}"} for c in range(communities)])
    insert(Grid.__table__, [{"id": c * grids_per + g + 1, "community_id": c + 1, "name": f"网格{c + 1}-{g + 1}"}
                            for c in range(communities) for g in range(grids_per)])
    # Each grid is a compound: its buildings within ~400 m of the grid's centre; grids spread over ~30 km.
    grid_count = communities * grids_per
    grid_centres = np.column_stack((CENTRE[0] + (rng.random(grid_count) - 0.5) * 0.27,
                                    CENTRE[1] + (rng.random(grid_count) - 0.5) * 0.31))
    grid_of = rng.integers(0, grid_count, buildings)
    lat = grid_centres[grid_of, 0] + (rng.random(buildings) - 0.5) * 0.007
    lon = grid_centres[grid_of, 1] + (rng.random(buildings) - 0.5) * 0.008
    insert(Building.__table__, [{"id": b + 1, "grid_id": int(grid_of[b]) + 1, "name": f"{b + 1}栋", "address": "",
                                 "latitude": float(lat[b]), "longitude": float(lon[b])} for b in range(buildings)])
    insert(Household.__table__, [{"id": b + 1, "name": "家", "building_id": b + 1, "created_at": NOW}
                                 for b in range(buildings)])
    # About one and a half people in care per household: elders 60-95, children 0-8.
    people = []
    for b in range(buildings):
        for _ in range(int(rng.integers(0, 3))):
            people.append({"household_id": b + 1, "kind": "elder", "name": "老人", "created_at": NOW,
                           "birth_date": date(1931, 1, 1) + timedelta(days=int(rng.integers(0, 35 * 365)))})
        if rng.random() < 0.5:
            people.append({"household_id": b + 1, "kind": "child", "name": "孩子", "created_at": NOW,
                           "birth_date": date(2018, 1, 1) + timedelta(days=int(rng.integers(0, 8 * 365)))})
    insert(CareRecipient.__table__, people)
    insert(PartnerOrganisation.__table__, [{"id": 1, "name": "全市服务商", "kind": PartnerKind.elderly_care_centre,
                                            "approved": True, "created_at": NOW}])
    point_lat = CENTRE[0] + (rng.random(points) - 0.5) * 0.27
    point_lon = CENTRE[1] + (rng.random(points) - 0.5) * 0.31
    insert(ServicePoint.__table__, [{"id": p + 1, "partner_id": 1, "name": f"服务点{p + 1}", "address": "",
                                     "latitude": float(point_lat[p]), "longitude": float(point_lon[p])}
                                    for p in range(points)])
    insert(Service.__table__, [{"id": p + 1, "partner_id": 1, "service_point_id": p + 1, "kind": KINDS[p % 4],
                                "name": f"服务{p + 1}", "default_capacity": 10} for p in range(points)])
    # Each service: a slot on each weekday of the last 8 weeks, 10 places, a few booked and waitlisted.
    monday = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    slots, bookings, slot_id = [], [], 0
    recipients = len(people)
    for p in range(points):
        for week in range(8):
            for day in range(5):
                slot_id += 1
                starts = monday - timedelta(weeks=week) + timedelta(days=day)
                wanted = int(rng.integers(0, 13))
                booked = min(wanted, 10)  # the tallies the booking engine would keep
                slots.append({"id": slot_id, "service_id": p + 1, "starts_at": starts,
                              "ends_at": starts + timedelta(hours=3), "capacity": 10, "status": "open",
                              "created_at": NOW, "booked_count": booked, "attended_count": booked if week else 0,
                              "no_show_count": 0})
                for order, who in enumerate(rng.choice(recipients, wanted, replace=False)):
                    bookings.append({"slot_id": slot_id, "recipient_id": int(who) + 1, "created_at": NOW,
                                     "updated_at": NOW, "waitlist_order": order + 1 if order >= 10 else None,
                                     "status": (BookingStatus.waitlisted if order >= 10 else
                                                BookingStatus.checked_out if week else BookingStatus.confirmed)})
    insert(Slot.__table__, slots)
    insert(Booking.__table__, bookings)
    db.session.commit()
    print(f"city: {buildings:,} buildings in {grid_count:,} grids, {recipients:,} elders and children, "
          f"{points:,} service points, {len(slots):,} slots, {len(bookings):,} bookings")


def timed(action, runs: int) -> list[float]:
    action()  # warm up (imports, caches, the database's pages)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="an empty database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="careapp-bench-")
    url = database_url(args.database) if args.database else f"sqlite:///{folder}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "CLOCK": FrozenClock(NOW)}, instance_path=folder)
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        build_city(args.buildings, args.points, args.seed)
        print(f"built in {time.perf_counter() - started:.0f} s on {db.engine.dialect.name}")
        staff = create_user(by=None, now=NOW, role=Role.community_staff, login="13900000000", name="网格员",
                            password="bench-password-1")
        token, _ = issue_token(staff, now=NOW)
        db.session.commit()
        config = app.config
        week = week_start(date(2026, 11, 30))

        def read(**scope):
            return lambda: coverage(week=week, today=date(2026, 12, 1), zone=__import__("zoneinfo").ZoneInfo(
                config["TIMEZONE"]), radius_m=config["COVERAGE_RADIUS_M"], sub_district="city", **scope)

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(staff.id)
            session["_fresh"] = True

        def get(path, **headers):
            def fetch():
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.status_code
            return fetch

        rows = [
            ("coverage(), whole city", read()),
            ("coverage(), one community", read(community_id=1)),
            ("coverage(), one grid", read(grid_id=1)),
            ("dashboard page, whole city", get("/community/coverage/")),
            ("dashboard page, one community", get("/community/coverage/?community_id=1")),
            ("dashboard page, one grid", get("/community/coverage/?grid_id=1")),
            ("API /coverage, whole city", get("/api/v1/coverage", Authorization=f"Bearer {token}")),
        ]
        print(f"\n{'what':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   ({args.runs} runs each)")
        for label, action in rows:
            times = sorted(timed(action, args.runs))
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            print(f"{label:34} {statistics.median(times):8.0f} {p95:8.0f} {times[-1]:8.0f}")
        db.session.remove()
        if args.database:
            db.drop_all()


if __name__ == "__main__":
    os.environ.setdefault("CAREAPP_RATE_LIMITS", "off")
    main()
