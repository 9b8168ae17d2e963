"""The scene of the authorisation matrix (tests/test_authorisation_matrix.py): two "sides" with one object of
every kind each, built once through the app's own rules, then saved row by row so that a test that changed
something gets the same scene back in milliseconds instead of rebuilding it.

Side A: household A (an elder, a child and an adult who may collect the child) booked into partner P's day care
and lunch, enrolled weekly, with P's staff and manager, P's room, shift, dish and menu; side B: the same for
household B and partner Q. Community staff and admins are district-wide: each side has one only so that "another
user's own data" (an API token) exists for every role.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from careapp.accounts.models import Role, User
from careapp.accounts.services import issue_token
from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import from_local, local_date
from careapp.district.models import Building
from careapp.enrolments.services import enrol
from careapp.family.calendar import make_feed_link
from careapp.households.services import add_authorised_adult
from careapp.meals.notices import sheet_facts
from careapp.meals.queries import kitchen_sheet
from careapp.meals.services import create_dish, set_menu
from careapp.notifications import outbox
from careapp.notifications.models import Notification, Topic
from careapp.partners.admin_services import add_room
from careapp.partners.models import MealTime, PartnerKind, ServiceKind, ShiftRole
from careapp.partners.services import add_weekly_pattern, create_service, create_slot
from careapp.partners.shifts import assign, create_shift
from tests.conftest import empty_tables
from tests.factories import make_family, make_neighbourhood, make_partner, make_slot, make_user

# An id no row has (the routes' int converter accepts it, so it reaches the view).
NONE_ID = 999_999
NONE_LINK = "no-such-calendar-link"
ROLES = ("family", "partner_staff", "partner_manager", "community_staff", "admin")


@dataclass
class Side:
    """One side's objects by id (and its users' API tokens and calendar link, which are secrets, not ids)."""

    name: str
    users: dict[str, int]                 # role -> user id
    bearer: dict[str, str]                # role -> a live API token of that user
    token_ids: dict[str, int]             # role -> that token's id (the object of /account/tokens/<id>/revoke)
    ids: dict[str, int] = field(default_factory=dict)
    feed: str = ""
    logins: dict[str, str] = field(default_factory=dict)  # role -> the user's login (password: factories.PASSWORD)

    def objects(self, role: str) -> dict[str, object]:
        """The side's objects as ``role`` would name them: a token or a notification is the role's own kind."""
        own = dict(self.ids, token=self.token_ids[role], feed=self.feed, account=self.users["partner_staff"],
                   login=self.logins[role])
        if role in ("partner_staff", "partner_manager"):
            own["notification"] = self.ids["partner_notification"]
        return own


def nothing() -> dict[str, object]:
    """The "none" case: every object named by an id that does not exist."""
    return _Missing()


class _Missing(dict):
    def __missing__(self, key: str) -> object:
        return NONE_LINK if key == "feed" else NONE_ID


@dataclass
class Scene:
    now: datetime
    tomorrow: date
    a: Side
    b: Side
    rows: list[tuple[sa.Table, list[dict]]] = field(default_factory=list)
    sequences: list[tuple[str, int, bool]] = field(default_factory=list)
    dirty: bool = False

    def save(self) -> None:
        """Keep every row (and PostgreSQL's id sequences) as they are now."""
        db.session.rollback()
        with db.engine.connect() as conn:
            self.rows = [(table, [dict(row) for row in conn.execute(sa.select(table)).mappings()])
                         for table in db.metadata.sorted_tables]
            if conn.dialect.name == "postgresql":
                found = conn.execute(sa.text("SELECT schemaname, sequencename, last_value FROM pg_sequences "
                                             "WHERE schemaname = current_schema()"))
                self.sequences = [(f"{schema}.{name}", last or 1, last is not None) for schema, name, last in found]

    def restore(self) -> None:
        """Back to the saved rows: everything a test's requests changed is gone."""
        db.session.remove()
        empty_tables()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Rows that refer to each other (a partner's approver, a user's partner) go in in any order.
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            else:
                conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for table, rows in self.rows:
                if rows:
                    conn.execute(table.insert(), rows)
            for name, value, called in self.sequences:
                conn.execute(sa.text("SELECT setval(:name, :value, :called)"),
                             {"name": name, "value": value, "called": called})
        self.dirty = False


def _side(name: str, building: Building, admin, now: datetime, tomorrow: date) -> Side:
    family = make_family(building, now, f"{name}家")
    setup = make_partner(f"{name}养老服务中心", PartnerKind.elderly_care_centre, admin, now, {
        "日间照料": (ServiceKind.daycare, 5, {"ability_levels": "012", "transport": True}),
    })
    partner, manager = setup.partner, setup.manager
    point_id = setup.services["日间照料"].service_point_id
    daycare = setup.services["日间照料"]
    lunch = create_service(partner_id=partner.id, kind=ServiceKind.meal, name="长者午餐", capacity=20,
                           service_point_id=point_id, meal=MealTime.lunch, by=manager, now=now)
    community_staff = make_user(Role.community_staff, now, name=f"{name}网格员")
    other_admin = admin if name == "A" else make_user(Role.admin, now, name=f"{name}管理员")
    users = {"family": family.user.id, "partner_staff": setup.staff.id, "partner_manager": manager.id,
             "community_staff": community_staff.id, "admin": other_admin.id}

    elder = family.add_elder(now, name=f"{name}奶奶")
    child = family.add_child(now, name=f"{name}小明")
    adult = add_authorised_adult(child_id=child.id, by=family.user, now=now, name=f"{name}外婆", relation="grandmother",
                                 phone="13900003333")
    room = add_room(point_id, name="活动室", by=manager, now=now, seats=10)

    # A one-off afternoon slot with the elder booked, and a weekly morning session the elder is enrolled in.
    slot = make_slot(daycare, manager, now, start=time(14, 0), capacity=5)
    booking = engine.book(slot.id, elder.id, by=family.user, now=now).booking
    add_weekly_pattern(service_id=daycare.id, weekdays=[tomorrow.weekday()], start_time=time(8, 30),
                       end_time=time(11, 30), valid_from=tomorrow, by=manager, now=now, open_days=2)
    enrolment = enrol(elder.id, daycare.id, [tomorrow.weekday()], starts_on=tomorrow, by=family.user, now=now).enrolment

    dish = create_dish(partner_id=partner.id, name="清蒸鱼", diet_tags=["low_salt"], by=manager, now=now)
    set_menu(service_id=lunch.id, day=tomorrow, dish_ids=[dish.id], by=manager, now=now)
    starts = from_local(tomorrow, time(11, 30))
    meal_slot = create_slot(service_id=lunch.id, starts_at=starts, ends_at=starts + timedelta(minutes=90),
                            capacity=None, by=manager, now=now)
    meal_booking = engine.book(meal_slot.id, elder.id, by=family.user, now=now,
                               options={"mode": "dine_in", "dish_ids": [dish.id]}).booking

    shift = create_shift(point_id=point_id, day=tomorrow, start_time=time(8), end_time=time(12), role=ShiftRole.staff,
                         title="早班", max_people=2, by=manager, now=now)
    assignment = assign(shift.id, by=manager, now=now, user_id=setup.staff.id)

    with write_transaction():
        notice = outbox.add_once(outbox.booking_notification(db.session.get(type(booking), booking.id),
                                                             Topic.reminder, "reminder:60m", now=now))
        meal = db.session.get(type(meal_slot), meal_slot.id)
        partner_notice = Notification(topic=Topic.kitchen_sheet, kind=Topic.kitchen_sheet.value, slot_id=meal.id,
                                      service_id=meal.service_id, partner_id=partner.id, created_at=now,
                                      params={**outbox.slot_facts(meal), "sheet": sheet_facts(kitchen_sheet(meal.id))})
        db.session.add(partner_notice)
    feed = make_feed_link(family.household.id, by=family.user, now=now)

    side = Side(name, users, bearer={}, token_ids={})
    side.ids = {"household": family.household.id, "elder": elder.id, "child": child.id, "adult": adult.id,
                "partner": partner.id, "point": point_id, "room": room.id, "daycare": daycare.id, "meal": lunch.id,
                "slot": slot.id, "booking": booking.id, "meal_slot": meal_slot.id, "meal_booking": meal_booking.id,
                "enrolment": enrolment.id, "dish": dish.id, "shift": shift.id, "assignment": assignment.id,
                "notification": notice.id, "partner_notification": partner_notice.id,
                "building": building.id}
    side.feed = feed
    return side


def _tokens(side: Side, now: datetime) -> None:
    for role, user_id in side.users.items():
        user = db.session.get(User, user_id)
        token, row = issue_token(user, now=now)
        side.logins[role] = user.login
        side.bearer[role], side.token_ids[role] = token, row.id


def build_scene(now: datetime) -> Scene:
    _community, _grid, building_a, building_b = make_neighbourhood()
    admin = make_user(Role.admin, now, name="A管理员")
    tomorrow = local_date(now) + timedelta(days=1)
    a = _side("A", building_a, admin, now, tomorrow)
    b = _side("B", building_b, admin, now, tomorrow)
    for side in (a, b):
        _tokens(side, now)
    scene = Scene(now, tomorrow, a, b)
    scene.save()
    return scene
