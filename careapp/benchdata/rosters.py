"""The kitchens' menus and the partners' shifts for the generated days.

Every nursery class has its carers on a staff shift each day it runs (so its staffed places, carers x the
class's ratio, hold the whole class), from the first day of slots to two weeks past the last, so slots the
scheduler opens next still find staff. Kitchens that deliver have two volunteers on the lunch round each
day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Callable

from careapp.benchdata.bookings import menu
from careapp.benchdata.catalogue import CARER_SHIFT, DELIVERY_SHIFT
from careapp.benchdata.population import Population
from careapp.benchdata.writer import BulkWriter
from careapp.partners.models import ServiceKind

ROSTERED_PAST_LAST_DAY = 14
SHIFT_COLUMNS = ("id", "service_point_id", "service_id", "day", "start_time", "end_time", "role", "title",
                 "min_people", "max_people", "created_at")
ASSIGNMENT_COLUMNS = ("id", "shift_id", "user_id", "volunteer_id", "created_at")


def write_menus(population: Population, writer: BulkWriter) -> None:
    rows, next_id = [], 1
    for service in population.services:
        if service.kind != ServiceKind.meal or not service.partner.dishes:
            continue
        for day in population.window.dates:
            if day.weekday() in service.patterns:
                for dish in menu(service.partner.dishes, service.columns["meal"], day):
                    rows.append((next_id, service.id, writer.day(day), dish))
                    next_id += 1
    writer.write("menu_item", ("id", "service_id", "day", "dish_id"), rows)


def write_shifts(population: Population, writer: BulkWriter, local_moment: Callable[[date, time], datetime]) -> None:
    window = population.window
    days = [window.first + timedelta(days=n)
            for n in range((window.last - window.first).days + 1 + ROSTERED_PAST_LAST_DAY)]
    shifts, assignments = [], []

    def add(point: int, service_id: int | None, day: date, hours: tuple[time, time], role: str, title: str,
            people: list[tuple[int | None, int | None]], low: int, high: int) -> None:
        # Rostered three weeks ahead (never after now).
        created = max(min(local_moment(day - timedelta(days=21), time(10)), window.now - timedelta(hours=1)),
                      local_moment(window.first - timedelta(days=30), time(10)))
        shift_id = len(shifts) + 1
        shifts.append((shift_id, point, service_id, writer.day(day), writer.clock(hours[0]), writer.clock(hours[1]),
                       role, title, low, high, writer.moment(created)))
        for user, volunteer in people:
            assignments.append((len(assignments) + 1, shift_id, user, volunteer, writer.moment(created)))

    for partner in population.partners:
        for service in partner.services:
            if service.carers:
                for day in days:
                    if day.weekday() in service.patterns:
                        add(partner.point_id, service.id, day, CARER_SHIFT, "staff", f"{service.offer.name}保育",
                            [(carer, None) for carer in service.carers], len(service.carers), len(service.carers) + 1)
        delivers = [s for s in partner.services if s.kind == ServiceKind.meal and s.columns["meal"] == "lunch"
                    and s.columns["delivery_radius_m"] is not None]
        if delivers and len(partner.volunteers) >= 2:
            for n, day in enumerate(days):
                crew = [partner.volunteers[n % len(partner.volunteers)],
                        partner.volunteers[(n + 1) % len(partner.volunteers)]]
                add(partner.point_id, None, day, DELIVERY_SHIFT, "volunteer", "午餐送餐",
                    [(None, volunteer) for volunteer in crew], 2, 3)
    writer.write("shift", SHIFT_COLUMNS, shifts)
    writer.write("shift_assignment", ASSIGNMENT_COLUMNS, assignments)
