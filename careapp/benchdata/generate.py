"""Generating a population into an empty database, in one transaction, with progress on stderr."""
from __future__ import annotations

import sys
import time as timer
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.pool import NullPool
from tqdm import tqdm

from careapp.accounts.services import hash_password
from careapp.benchdata.bookings import (BOOKING_COLUMNS, MEAL_ORDER_COLUMNS, MEAL_ORDER_DISH_COLUMNS, SLOT_COLUMNS,
                                        Counts, ServiceBookings)
from careapp.benchdata.enrolments import ENROLMENT_COLUMNS, EnrolmentMaker
from careapp.benchdata.pools import PoolBuilder
from careapp.benchdata.population import Population, PopulationBuilder, Window
from careapp.benchdata.rosters import write_menus, write_shifts
from careapp.benchdata.scales import BENCH_PASSWORD, Scale
from careapp.benchdata.writer import BulkWriter, Buffers
from careapp.core.db import db
from careapp.core.errors import Conflict
from careapp.core.timefmt import local_date, zone
from careapp.coverage.homes import refresh_point_homes
from careapp.coverage.snapshot import refresh_coming_weeks

# The tables the generator fills, in foreign-key order.
TABLES = ("community", "grid", "building", "household", "user", "partner_organisation", "care_recipient",
          "authorised_adult", "service_point", "room", "service", "slot_pattern", "dish", "volunteer", "menu_item",
          "shift", "shift_assignment", "enrolment", "slot", "booking", "meal_order", "meal_order_dish")
# The big ones: on PostgreSQL their indexes and foreign keys are made after loading them.
BULK_TABLES = ("slot", "booking", "meal_order", "meal_order_dish")
SQLITE_CACHE_KB = 128 * 1024
# Any row in these means the database holds data that generated data must never be mixed with.
GUARDED = TABLES + ("audit_entry", "notification", "api_token")
# Tables whose ids come from a sequence on PostgreSQL.
WITH_ID_SEQUENCE = tuple(t for t in TABLES if t not in ("meal_order", "meal_order_dish"))


class DatabaseNotEmpty(Conflict):
    def __init__(self, tables: list[str]):
        super().__init__(
            f"This database already holds data ({', '.join(tables)}). Generated data only goes into an empty "
            "database, never beside demo or real data: create a new database, run `careapp init-db` on it, then "
            "`careapp bench-data`.", code="not_empty", fields={"tables": ", ".join(tables)})


@dataclass
class Generated:
    """What one run made: rows per table, bookings per status, and how long it took."""

    scale: Scale
    seed: int
    now: datetime
    rows: dict[str, int]
    statuses: dict[str, int]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        width = max(len(table) for table in self.rows)
        lines = [f"  {table.ljust(width)}  {count:>10,}" for table, count in self.rows.items()]
        statuses = ", ".join(f"{status} {count:,}" for status, count in sorted(self.statuses.items()))
        return lines + [f"  bookings by status: {statuses}"]


def local_moments():
    """(local date, local time) -> naive UTC datetime, in the sub-district's zone."""
    place = zone()

    def local_moment(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=place).astimezone(timezone.utc).replace(tzinfo=None)
    return local_moment


def window_for(scale: Scale, now: datetime) -> Window:
    """``scale.days`` days of slots ending as far ahead as the scheduler keeps slots open."""
    today = local_date(now)
    last = today + timedelta(days=current_app.config["OPEN_DAYS_AHEAD"])
    return Window(now=now.astimezone(timezone.utc).replace(tzinfo=None), today=today,
                  first=last - timedelta(days=scale.days - 1), last=last)


def held_data(connection: sa.Connection) -> list[str]:
    return [table for table in GUARDED
            if connection.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None]


def generate(scale: Scale, *, seed: int, now: datetime, progress: bool = True) -> Generated:
    """Fill the app's (empty, migrated) database with the scale's population; refuses any other database."""
    started = timer.perf_counter()
    engine = sa.create_engine(db.engine.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Only this connection (it is closed after): a crash mid-run may lose the file, which holds
                # nothing else anyway; foreign keys are checked once at the end; a large page cache.
                for pragma in ("synchronous=OFF", "foreign_keys=OFF", f"cache_size=-{SQLITE_CACHE_KB}"):
                    connection.connection.driver_connection.execute(f"PRAGMA {pragma}")
            with connection.begin():
                held = held_data(connection)
                if held:
                    raise DatabaseNotEmpty(held)
                writer = BulkWriter(connection)
                statuses, phases = _fill(scale, seed, now, writer, progress)
                writer.check_foreign_keys()
                writer.move_sequences(WITH_ID_SEQUENCE)
                # Written around the session, so its listeners did not see the buildings and service points.
                refresh_point_homes(connection)
            _gather_statistics(connection)
    finally:
        engine.dispose()
    # What the scheduler would have done by the time anyone looks: the whole area's coverage snapshot.
    refresh_coming_weeks(now)
    rows = {table: writer.counts.get(table, 0) for table in TABLES}
    return Generated(scale=scale, seed=seed, now=now, rows=rows, statuses=statuses,
                     seconds=timer.perf_counter() - started, phases=phases)


def _gather_statistics(connection: sa.Connection) -> None:
    """What a database does on its own some time after a bulk load, done now so the first measurements see the
    database as production would: the planner's statistics, and on PostgreSQL the visibility map, without
    which an index-only scan reads the table anyway (a city measured straight after loading was 3-5x slower
    on some pages until autovacuum came by). VACUUM cannot run inside a transaction: autocommit."""
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    else:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def _fill(scale: Scale, seed: int, now: datetime, writer: BulkWriter, progress: bool) -> tuple[dict, dict]:
    config, local_moment = current_app.config, local_moments()
    window = window_for(scale, now)
    phases: dict[str, float] = {}
    mark = timer.perf_counter()
    with tqdm(total=4, desc="people and places", unit="step", file=sys.stderr, disable=not progress,
              leave=True) as bar:
        population = PopulationBuilder(scale, seed, window, writer, hash_password(BENCH_PASSWORD),
                                       local_moment).build()
        bar.update()
        pools = PoolBuilder(population, config, seed).build()
        bar.update()
        enrolments = _enrolments(population, pools, seed, writer, local_moment)
        bar.update()
        write_menus(population, writer)
        write_shifts(population, writer, local_moment)
        bar.update()
    phases["people and places"] = timer.perf_counter() - mark
    mark = timer.perf_counter()
    with writer.constraints_after(BULK_TABLES):
        statuses = _slots_and_bookings(population, pools, enrolments, config, seed, writer, local_moment, progress)
        phases["slots and bookings"] = timer.perf_counter() - mark
        mark = timer.perf_counter()
    phases["indexes and checks"] = timer.perf_counter() - mark
    return statuses, phases


def _enrolments(population: Population, pools, seed: int, writer: BulkWriter, local_moment) -> dict[int, list]:
    maker = EnrolmentMaker(population, seed, local_moment, writer, first_id=1)
    made, rows = {}, []
    for service in population.services:
        made[service.id], service_rows = maker.make(service, pools[service.id])
        rows += service_rows
    writer.write("enrolment", ENROLMENT_COLUMNS, rows)
    return made


def _slots_and_bookings(population: Population, pools, enrolments, config, seed: int, writer: BulkWriter,
                        local_moment, progress: bool) -> dict[str, int]:
    buffers = Buffers(writer, {"slot": SLOT_COLUMNS, "booking": BOOKING_COLUMNS, "meal_order": MEAL_ORDER_COLUMNS,
                               "meal_order_dish": MEAL_ORDER_DISH_COLUMNS})
    dates = population.window.dates
    total = sum(sum(day.weekday() in service.patterns for day in dates) for service in population.services)
    ids, counts = {"slot": 0, "booking": 0}, Counts()
    with tqdm(total=total, desc="slots and bookings", unit="slot", file=sys.stderr, disable=not progress,
              unit_scale=True, mininterval=0.2 if sys.stderr.isatty() else 5) as bar:
        for service in population.services:
            before = counts.slots
            ServiceBookings(service, pools[service.id], enrolments[service.id], population, config, seed, buffers,
                            ids, local_moment, counts).run()
            bar.update(counts.slots - before)
            bar.set_postfix(bookings=f"{counts.bookings:,}", refresh=False)
        buffers.flush()
    return dict(counts.by_status)
