"""Hostile input on every page route: never a 500, and never a half-written change.

The routes come from the app's URL map (all but /api/ and /static/), so a new page is swept as soon as it
exists: a POST route must have a valid form in VALID_FORMS (a test checks that), and is run as the roles
in ROLES_FOR (or a default set of every logged-in role). Each test sends every hostile variant of one
route as one role and reports all the failures at once:

- every answer is below 500 (an exception escaping the view counts as a 500);
- a POST answered with an error (4xx, or a redirect that flashes an error) changed no row of any table.
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from flask import Flask

from careapp.accounts.services import issue_token
from careapp.booking import engine
from careapp.booking.models import Booking
from careapp.core.db import db, write_transaction
from careapp.core.timefmt import local_date
from careapp.enrolments.services import enrol
from careapp.family.calendar import make_feed_link
from careapp.households.services import add_authorised_adult
from careapp.notifications import outbox
from careapp.notifications.models import Topic
from careapp.partners.admin_services import add_room
from careapp.partners.models import ShiftRole
from careapp.partners.shifts import assign, create_shift
from tests.factories import PASSWORD, make_slot
from tests.page_helpers import login

ANON, FAMILY, STAFF, MANAGER, COMMUNITY, ADMIN = ("anonymous", "family", "partner_staff", "partner_manager",
                                                  "community_staff", "admin")
DEFAULT_ROLES = (FAMILY, STAFF, MANAGER, COMMUNITY, ADMIN)
# The roles that get past each route's access check (a refused role would only ever see 403).
ROLES_FOR = {
    "accounts.login": (ANON,),
    "accounts.register": (ANON,),
    "accounts.start": (ANON, FAMILY),
    "accounts.logout": (FAMILY,),
    "accounts.text_size": (ANON, FAMILY),
    "accounts.language": (ANON, FAMILY),
    "accounts.revoke_one_token": (FAMILY,),
    "family.home": (FAMILY,),
    "family.household": (FAMILY,),
    "family.add_member": (FAMILY, COMMUNITY),
    "family.add_adult": (FAMILY,),
    "family.month_calendar": (FAMILY, COMMUNITY),
    "family.make_calendar_link": (FAMILY,),
    "family.stop_calendar_link": (FAMILY,),
    "calendar_feed.feed": (ANON,),
    "booking.find_slots": (FAMILY, STAFF, COMMUNITY),
    "booking.slot": (FAMILY, COMMUNITY),
    "booking.book": (FAMILY, COMMUNITY),
    "booking.confirm_cancel": (FAMILY,),
    "booking.confirm_decline": (FAMILY,),
    "booking.cancel": (FAMILY,),
    "booking.accept": (FAMILY,),
    "booking.decline": (FAMILY,),
    "partners.index": (MANAGER,),
    "partners.dashboard": (STAFF,),
    "partners.new_service": (MANAGER,),
    "partners.new_point": (MANAGER, COMMUNITY),
    "partners.new_slot": (MANAGER,),
    "partners.new_weekly": (MANAGER,),
    "partners.roster": (STAFF,),
    "partners.change_capacity": (MANAGER,),
    "partners.confirm_cancel_slot": (MANAGER,),
    "partners.cancel_slot": (MANAGER,),
    "partners.check_in": (STAFF,),
    "partners.check_out": (STAFF,),
    "partners.confirm_no_show": (STAFF,),
    "partners.no_show": (STAFF,),
    "rosters.day_roster": (STAFF, COMMUNITY),
    "rosters.day_roster_csv": (STAFF, COMMUNITY),
    "rosters.point_shifts": (MANAGER, STAFF),
    "rosters.edit_shift": (MANAGER,),
    "rosters.confirm_delete_shift": (MANAGER,),
    "rosters.delete_shift": (MANAGER,),
    "rosters.assign": (MANAGER,),
    "rosters.unassign": (MANAGER,),
    "rosters.volunteers": (MANAGER,),
    "childcare.staffing": (STAFF, COMMUNITY),
    "partners.new_account": (MANAGER, COMMUNITY),
    "community.overview": (COMMUNITY,),
    "community.partner_slots": (COMMUNITY,),
    "community.new_partner": (COMMUNITY,),
    "community.residents": (COMMUNITY,),
    "community.book_for_member": (COMMUNITY,),
    "community.district.import_ledger_page": (COMMUNITY,),
    "community.district.template_xlsx": (COMMUNITY,),
    "community.district.template_csv": (COMMUNITY,),
    "reports.monthly": (COMMUNITY, ADMIN),
    "coverage.dashboard": (COMMUNITY, ADMIN),
    "coverage.map_page": (COMMUNITY,),
    "coverage.grids_csv": (COMMUNITY,),
    "coverage.grids_xlsx": (COMMUNITY,),
    "reports.monthly_xlsx": (COMMUNITY,),
    "partner_admin.register": (ANON,),
    "partner_admin.pending": (COMMUNITY,),
    "partner_admin.review": (COMMUNITY,),
    "partner_admin.approve": (COMMUNITY,),
    "partner_admin.decline": (COMMUNITY,),
    "partner_admin.profile": (MANAGER, COMMUNITY),
    "partner_admin.new_room": (MANAGER,),
    "partner_admin.edit_room": (MANAGER,),
    "partner_admin.delete_room": (MANAGER,),
    "partner_admin.staff": (MANAGER,),
    "partner_admin.deactivate": (MANAGER,),
    "partner_admin.reactivate": (MANAGER,),
    "messages.index": (MANAGER,),
    "messages.edit": (MANAGER,),
    "messages.reset": (MANAGER,),
    "billing.household_index": (FAMILY, COMMUNITY),
    "billing.household_statement": (FAMILY, COMMUNITY),
    "billing.partner_index": (STAFF, COMMUNITY),
    "billing.partner_claim": (STAFF, COMMUNITY),
    "billing.partner_claim_xlsx": (STAFF,),
    "meals.dishes": (MANAGER,),
    "meals.edit_dish": (MANAGER,),
    "meals.menus": (MANAGER,),
    "meals.edit_menu": (MANAGER,),
    "meals.copy_menus": (MANAGER,),
    "meals.order": (FAMILY, COMMUNITY),
    "meals.meal_needs": (FAMILY, COMMUNITY),
    "meals.kitchen": (STAFF, COMMUNITY),
    "meals.kitchen_csv": (STAFF,),
    "meals.delivery": (STAFF, COMMUNITY),
    "meals.delivery_csv": (STAFF,),
    "enrolments.new": (FAMILY, COMMUNITY),
    "enrolments.pause_enrolment": (FAMILY,),
    "enrolments.resume_enrolment": (FAMILY,),
    "enrolments.confirm_end": (FAMILY,),
    "enrolments.end_enrolment": (FAMILY,),
    "daycare.transport": (STAFF, COMMUNITY),
    "daycare.transport_csv": (STAFF, COMMUNITY),
    "notifications.inbox": (FAMILY, STAFF, COMMUNITY),
    "notifications.mark_read": (FAMILY,),
    "notifications.mark_all_read": (FAMILY, STAFF),
    "notifications.choose_language": (FAMILY, STAFF),
    "scheduler_admin.overview": (ADMIN,),
    "audit_admin.audit_log": (ADMIN,),
    "family.export_data": (FAMILY, ADMIN),
    "family.delete_data": (FAMILY, ADMIN),
}

# A valid form for every POST route (built from the scene's ids); the sweep spoils one field at a time.
VALID_FORMS: dict[str, Callable[[dict], dict]] = {
    "accounts.login": lambda ids: {"login": ids["family_login"], "password": PASSWORD, "next": "/family/"},
    "accounts.logout": lambda ids: {},
    "accounts.text_size": lambda ids: {"size": "large", "next": "/family/"},
    "accounts.language": lambda ids: {"language": "en", "next": "/family/"},
    "accounts.revoke_one_token": lambda ids: {},
    "accounts.revoke_every_token": lambda ids: {},
    "accounts.register": lambda ids: {"name": "陈家", "login": "13912345678", "password": PASSWORD,
                                      "confirm": PASSWORD, "building_id": ids["building"], "unit": "301",
                                      "email": "chen@example.cn", "phone": "13912345678"},
    "family.add_member": lambda ids: {"kind": "elder", "name": "王爷爷", "birth_date": "1948-05-01",
                                      "ability_level": "1", "diet": "low-salt", "allergies": "peanuts",
                                      "mobility": "walking stick", "medication_notes": "aspirin",
                                      "emergency_contact_name": "王小红", "emergency_contact_phone": "13900000001"},
    "family.add_adult": lambda ids: {"name": "赵阿姨", "relation": "aunt", "phone": "13900000000"},
    "family.remove_adult": lambda ids: {},
    "family.make_calendar_link": lambda ids: {},
    "family.stop_calendar_link": lambda ids: {},
    "family.delete_data": lambda ids: {},
    "booking.book": lambda ids: {"recipient_id": ids["elder"], "next": "/family/"},
    "booking.cancel": lambda ids: {},
    "booking.accept": lambda ids: {},
    "booking.decline": lambda ids: {},
    "partners.new_service": lambda ids: {
        "kind": "daycare", "name": "半日日托", "capacity": "5", "service_point_id": ids["point"],
        "fill_policy": "auto", "offer_hours": "24", "booking_cutoff_minutes": "60", "cancel_cutoff_minutes": "60",
        "min_age_years": "60", "max_age_years": "120", "min_age_months": "", "max_age_months": "",
        "ability_levels": ["0", "1"], "session_length": "half_day", "lunch_included": "y", "transport": "y"},
    "partners.new_point": lambda ids: {"name": "二号服务点", "address": "赭麓街道2号", "latitude": "31.3",
                                       "longitude": "118.3"},
    "partners.new_slot": lambda ids: {"day": "2026-12-03", "start_time": "08:30", "end_time": "11:30",
                                      "capacity": "4"},
    "partners.new_weekly": lambda ids: {"weekdays": ["0", "2"], "start_time": "08:30", "end_time": "11:30",
                                        "capacity": "4", "valid_from": "2026-12-01", "valid_until": "2026-12-31"},
    "partners.change_capacity": lambda ids: {"capacity": "4"},
    "partners.cancel_slot": lambda ids: {},
    "partners.check_in": lambda ids: {"temperature": "36.6", "health_notes": "精神好"},
    "partners.check_out": lambda ids: {"collected_by": ""},
    "partners.no_show": lambda ids: {},
    "rosters.point_shifts": lambda ids: {"day": "2026-12-02", "start_time": "13:00", "end_time": "17:00",
                                         "role": "staff", "title": "午班", "min_people": "1", "max_people": "2",
                                         "service_id": ids["service_id"]},
    "rosters.edit_shift": lambda ids: {"day": "2026-12-02", "start_time": "08:00", "end_time": "12:30",
                                       "role": "staff", "title": "早班", "min_people": "1", "max_people": "3",
                                       "service_id": ""},
    "rosters.delete_shift": lambda ids: {},
    "rosters.assign": lambda ids: {"person": f"user:{ids['manager_user']}"},
    "rosters.unassign": lambda ids: {},
    "rosters.volunteers": lambda ids: {"name": "小孙", "phone": "13922223333"},
    "partners.new_account": lambda ids: {"role": "partner_staff", "name": "新护理员", "login": "13700000001",
                                         "password": PASSWORD, "email": "staff@example.cn", "phone": "137"},
    "community.new_partner": lambda ids: {"name": "新机构", "kind": "canteen", "phone": "0553-1234567"},
    "community.district.import_ledger_page": lambda ids: {"file": Upload("ledger.csv", LEDGER)},
    "partner_admin.register": lambda ids: {"name": "新希望助餐点", "kind": "canteen", "phone": "0553-1234567",
                                           "description": "午餐", "manager_name": "周主任", "login": "13955550001",
                                           "password": PASSWORD, "confirm": PASSWORD},
    "partner_admin.approve": lambda ids: {},
    "partner_admin.decline": lambda ids: {"reason": "请补充营业执照"},
    "partner_admin.profile": lambda ids: {"name": "普康养老服务中心", "phone": "0553-7654321", "description": "日托"},
    "partner_admin.new_room": lambda ids: {"name": "餐厅", "purpose": "dining area", "seats": "40"},
    "partner_admin.edit_room": lambda ids: {"name": "阅览室", "purpose": "reading area", "seats": "12"},
    "partner_admin.delete_room": lambda ids: {},
    "partner_admin.deactivate": lambda ids: {},
    "partner_admin.reactivate": lambda ids: {},
    "messages.edit": lambda ids: {"subject": "取消通知：{service} {date}", "body": "{member} 您好：{partner}取消了场次。"},
    "messages.reset": lambda ids: {},
    "meals.dishes": lambda ids: {"name": "番茄炒蛋", "diet_tags": ["vegetarian"], "allergens": "鸡蛋"},
    "meals.edit_dish": lambda ids: {"name": "番茄炒蛋", "diet_tags": ["vegetarian"], "allergens": "鸡蛋", "active": "y"},
    "meals.edit_menu": lambda ids: {"dish_ids": ["1"]},
    "meals.copy_menus": lambda ids: {"week": "2026-11-30"},
    "meals.order": lambda ids: {"recipient_id": ids["elder"], "mode": "dine_in"},
    "meals.meal_needs": lambda ids: {"diet_tags": ["low_salt"], "allergies": "花生", "diet": "soft rice",
                                     "special_group": "", "phone": "13912345678"},
    "enrolments.new": lambda ids: {"member": ids["elder"], "service": ids["service_id"], "weekdays": ["2"],
                                   "starts_on": "2026-12-02", "ends_on": "2026-12-31"},
    "enrolments.pause_enrolment": lambda ids: {"resumes_on": "2026-12-09"},
    "enrolments.resume_enrolment": lambda ids: {},
    "enrolments.end_enrolment": lambda ids: {},
    "notifications.mark_read": lambda ids: {},
    "notifications.mark_all_read": lambda ids: {},
    "notifications.choose_language": lambda ids: {"language": "en"},
}
# The query parameters each GET page reads; every GET page also gets a few it does not read.
QUERY_PARAMETERS = {
    "accounts.login": ("next",),
    "booking.find_slots": ("kind", "date_from", "date_to", "partner_id"),
    "booking.slot": ("household", "q"),
    "booking.confirm_cancel": ("next",),
    "community.residents": ("q",),
    "billing.household_index": ("month",),
    "family.month_calendar": ("month",),
    "billing.partner_index": ("month",),
    "reports.monthly": ("month",),
    "coverage.dashboard": ("community_id", "grid_id", "kind", "week"),
    "coverage.map_page": ("community_id", "grid_id", "kind", "week"),
    "coverage.grids_csv": ("community_id", "grid_id", "kind", "week"),
    "coverage.grids_xlsx": ("community_id", "grid_id", "kind", "week"),
    "reports.monthly_xlsx": ("month",),
    "rosters.day_roster": ("day",),
    "rosters.day_roster_csv": ("day",),
    "rosters.point_shifts": ("week",),
    "meals.edit_dish": ("dish",),
    "meals.menus": ("week",),
    "meals.edit_menu": ("day",),
    "meals.order": ("household", "q", "member"),
    "enrolments.new": ("member", "service"),
    "messages.edit": ("kind", "topic", "language"),
    "daycare.transport": ("day",),
    "daycare.transport_csv": ("day",),
    "notifications.inbox": ("before",),
    "audit_admin.audit_log": ("actor", "action", "object_type", "object_id", "date_from", "date_to", "page"),
}
UNREAD_PARAMETERS = ("next", "q", "id", "page")
# The query a page needs to be more than a 404 (QUERY_PARAMETERS then spoils it one name at a time).
PAGE_QUERIES = {
    "messages.edit": "?kind=daycare&topic=slot_cancelled&language=zh_CN",
    "messages.reset": "?kind=daycare&topic=slot_cancelled&language=zh_CN",
}

HOSTILE = {
    "empty": "",
    "blank": "   ",
    "long": "x" * 10_000,
    "long-digits": "9" * 10_000,
    "nul": "a\x00b",
    "controls": "a\x01\x08\x1b\x7fb",
    "unicode-oddities": "\ufffe\u202e\U0001f600",
    "text": "abc",
    "negative": "-1",
    "zero": "0",
    "2**31": str(2**31),
    "2**63": str(2**63),
    "10**30": str(10**30),
    "float": "1.5",
    "nan": "nan",
    "inf": "inf",
    "-inf": "-inf",
    "1e309": "1e309",
    "date-min": "0001-01-01",
    "date-max": "9999-12-31",
    "feb-30": "2026-02-30",
    "date-garbage": "2026-99-99T",
    "time-25": "25:00",
    "time-garbage": "8h30",
    "enum": "no_such_kind",
    "html": "<script>alert(1)</script>",
    "url": "//evil.example/\r\nSet-Cookie: x=1",
}
COMMON = ("empty", "blank", "long", "nul", "controls", "unicode-oddities", "text")
BY_SHAPE = {  # what else to try in a field, by the shape of its valid value
    "int": ("negative", "zero", "2**31", "2**63", "10**30", "float", "nan", "long-digits"),
    "date": ("date-min", "date-max", "feb-30", "date-garbage", "negative", "10**30"),
    "time": ("time-25", "time-garbage", "negative", "float"),
    "float": ("nan", "inf", "-inf", "1e309", "10**30", "negative"),
    "text": ("enum", "html", "url", "2**63"),
}
SHAPES = {"int": r"\d+", "date": r"\d{4}-\d\d-\d\d", "time": r"\d\d:\d\d", "float": r"-?\d+\.\d+"}


def hostile_for(value) -> dict[str, str]:
    """The hostile values worth sending instead of ``value`` (all of them for a field with no example)."""
    if isinstance(value, Upload):
        return {**{label: HOSTILE[label] for label in COMMON}, **HOSTILE_UPLOADS}
    if value in ("", None):
        return HOSTILE
    sample = value[0] if isinstance(value, list) else value
    shape = next((name for name, pattern in SHAPES.items() if re.fullmatch(pattern, str(sample))), "text")
    return {label: HOSTILE[label] for label in (*COMMON, *BY_SHAPE[shape])}


@dataclass(frozen=True)
class Upload:
    """A file in a form. Sent as a new file object with every request: the test client closes what it sends."""

    filename: str
    content: bytes


LEDGER = ("community,grid,building,address,latitude,longitude\n"
          "旭日天都社区,一组团网格,一组团1栋,九华中路旭日天都一组团1栋,31.3418,118.3792\n").encode()
# What else to send in place of a file: files no program wrote, with names no browser sends.
HOSTILE_UPLOADS = {
    "empty-file": Upload("ledger.csv", b""),
    "binary": Upload("ledger.csv", bytes(range(256)) * 64),
    "corrupt-xlsx": Upload("ledger.xlsx", b"PK\x03\x04" + b"\x00" * 200),
    "truncated-zip": Upload("ledger.xlsx", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
    "gb18030": Upload("ledger.csv", LEDGER.decode().encode("gb18030")),
    "formula": Upload("ledger.csv", LEDGER.replace(b"31.3418", b"=1+1")),
    "bad-rows": Upload("ledger.csv", LEDGER + "旭日天都社区,一组团网格,一组团1栋,,200,118\n".encode()),
    "wrong-extension": Upload("ledger.exe", b"MZ" + b"\x00" * 100),
    "no-extension": Upload("ledger", LEDGER),
    "no-filename": Upload("", LEDGER),
    "nul-filename": Upload("a\x00b.csv", LEDGER),
    "long-filename": Upload("x" * 10_000 + ".csv", LEDGER),
    "path-filename": Upload("../../../etc/passwd.csv", LEDGER),
}


def sendable(data: dict | None) -> dict | None:
    """The form with a fresh file object for every Upload in it."""
    def one(value):
        return (io.BytesIO(value.content), value.filename) if isinstance(value, Upload) else value

    if data is None:
        return None
    return {name: [one(item) for item in value] if isinstance(value, list) else one(value)
            for name, value in data.items()}


NO_SUCH_IDS = ("99999999999999999999", str(2**31), str(2**63), "0", "-1", "abc")


@pytest.fixture
def scene(world, clock):
    """The world plus a day-care slot with the family's elder booked into it, and a child."""
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=5)
    elder = world.family.add_elder(now)
    child = world.family.add_child(now)
    adult = add_authorised_adult(child_id=child.id, by=world.family.user, now=now, name="赵阿姨", relation="aunt")
    booking = engine.book(slot.id, elder.id, by=world.family.user, now=now).booking
    enrolment = enrol(elder.id, world.daycare.id, [0], starts_on=local_date(now), by=world.family.user,
                      now=now).enrolment
    shift = create_shift(point_id=world.daycare.service_point_id, day=local_date(now) + timedelta(days=1),
                         start_time=time(8), end_time=time(12), role=ShiftRole.staff, title="早班", max_people=2,
                         by=world.care_centre.manager, now=now)
    assignment = assign(shift.id, user_id=world.care_centre.staff.id, by=world.care_centre.manager, now=now)
    room = add_room(world.daycare.service_point_id, name="活动室", by=world.care_centre.manager, now=now)
    with write_transaction():
        notification = outbox.add_once(outbox.booking_notification(db.session.get(Booking, booking.id),
                                                                    Topic.reminder, "reminder:60m", now=now))
    users = {FAMILY: world.family.user, STAFF: world.care_centre.staff, MANAGER: world.care_centre.manager,
             COMMUNITY: world.community_staff, ADMIN: world.admin}
    ids = {"shift_id": shift.id, "assignment_id": assignment.id, "manager_user": world.care_centre.manager.id,
           "household_id": world.family.household.id, "member_id": child.id, "slot_id": slot.id,
           "booking_id": booking.id, "partner_id": world.care_centre.partner.id, "service_id": world.daycare.id,
           "elder": elder.id, "building": world.building.id, "point": world.daycare.service_point_id,
           "family_login": world.family.user.login, "enrolment_id": enrolment.id,
           "point_id": world.daycare.service_point_id}
    ids.update(room_id=room.id, user_id=world.care_centre.staff.id, month="2026-12", adult_id=adult.id)
    ids.update(notification_id=notification.id)
    ids.update(token_id=issue_token(world.family.user, now=now)[1].id)
    ids.update(token=make_feed_link(world.family.household.id, by=world.family.user, now=now))
    return users, ids


def page_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every page route."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/static/")):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return found


def _routes() -> list:
    from careapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "routes-only"})
    return [pytest.param(endpoint, method, rule, role, id=f"{method}-{endpoint}-{role}")
            for endpoint, method, rule in page_rules(app) for role in ROLES_FOR.get(endpoint, DEFAULT_ROLES)]


ROUTES = _routes()


def test_every_post_route_has_a_valid_form_here(app):
    assert {endpoint for endpoint, method, _ in page_rules(app) if method == "POST"} == set(VALID_FORMS)


def url_for_rule(rule: str, ids: dict, override: str | None = None) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: override if override is not None else str(ids[m.group(1)]), rule)


def variants(valid: dict, names: tuple[str, ...] = ()) -> Iterator[tuple[str, dict]]:
    """The valid form spoiled one field at a time, plus whole-form spoilers."""
    yield "valid", valid
    yield "nothing", {}
    yield "all-empty", {name: "" for name in valid}
    yield "junk-fields", {**valid, "is_admin": "1", "role": "admin", "\x00": "x", "x" * 1000: "y"}
    for name in (*valid, *names):
        good = valid.get(name, "1")
        rest = {key: value for key, value in valid.items() if key != name}
        if name in valid:
            yield f"{name}:missing", rest
        for label, value in hostile_for(valid.get(name)).items():
            yield f"{name}:{label}", {**rest, name: value}
        yield f"{name}:repeated", {**rest, name: [*(good if isinstance(good, list) else [good]), HOSTILE["text"]]}
        yield f"{name}:repeated-reversed", {**rest, name: [HOSTILE["2**63"], *(good if isinstance(good, list)
                                                                                  else [good])]}


def snapshot() -> dict[str, list]:
    """Every row of every table (the scene is small): catches inserts, deletes and updates."""
    db.session.rollback()
    with db.engine.connect() as conn:
        return {table.name: sorted(map(repr, conn.exec_driver_sql(f'SELECT * FROM "{table.name}"').all()))
                for table in db.metadata.sorted_tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def error_flashed(client) -> bool:
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    return any(category == "error" for category, _ in flashes)


class Sweep:
    def __init__(self, app, users, role):
        self.app, self.users, self.role = app, users, role
        self.client = None
        self.state = None  # the tables as the last POST left them
        self.failures: list[str] = []

    def fresh_client(self):
        self.client = self.app.test_client()
        self.state = None  # logging in may write (e.g. the last login time)
        if self.role != ANON:
            login(self.client, self.users[self.role])

    def send(self, label: str, method: str, url: str, data: dict | None = None, *, fresh: bool = False) -> None:
        if fresh or self.client is None:
            self.fresh_client()
        before = (self.state or snapshot()) if method == "POST" else None
        self.state = None
        try:
            response = self.client.open(url, method=method, data=sendable(data))
        except Exception as error:  # noqa: BLE001 -- an escaped exception is the 500 this test looks for
            db.session.rollback()
            self.failures.append(f"{label}: {method} {url[:120]} raised {type(error).__name__}: {str(error)[:200]}")
            self.client = None  # the session may be in any state now
            return
        if response.status_code >= 500:
            self.failures.append(f"{label}: {method} {url[:120]} answered {response.status_code}")
        if method == "POST":
            failed = response.status_code >= 400 or (response.status_code in (302, 303)
                                                     and error_flashed(self.client))
            self.state = snapshot()
            changed = changed_tables(before, self.state)
            if failed and changed:
                self.failures.append(f"{label}: {method} {url[:120]} answered {response.status_code} (an error) "
                                     f"but changed {changed}")


@pytest.mark.parametrize("endpoint, method, rule, role", ROUTES)
def test_hostile_input_never_500s_nor_half_writes(app, scene, endpoint, method, rule, role):
    users, ids = scene
    sweep = Sweep(app, users, role)
    # The login and logout forms change who is logged in: each of their requests starts from a fresh browser.
    fresh = endpoint in ("accounts.login", "accounts.logout")
    url = url_for_rule(rule, ids) + PAGE_QUERIES.get(endpoint, "")
    if method == "GET":
        sweep.send("plain", "GET", url, fresh=fresh)
        for label in ("long", "nul", "2**63", "date-max", "nan"):
            sweep.send(f"unread parameters {label}", "GET",
                       _with_query(url, {name: HOSTILE[label] for name in UNREAD_PARAMETERS}), fresh=fresh)
        sweep.send("unread parameters repeated", "GET",
                   _with_query(url, {name: ["1", "abc", "", "\x00"] for name in UNREAD_PARAMETERS}), fresh=fresh)
        for name in QUERY_PARAMETERS.get(endpoint, ()):
            for label, value in HOSTILE.items():
                sweep.send(f"?{name}={label}", "GET", _with_query(url, {name: value}), fresh=fresh)
            sweep.send(f"?{name} repeated", "GET", _with_query(url, {name: ["1", "abc", ""]}), fresh=fresh)
            sweep.send(f"?{name} bad utf-8", "GET", f"{url}?{name}=%FF%FE%00", fresh=fresh)
        if QUERY_PARAMETERS.get(endpoint):
            sweep.send("every parameter hostile", "GET",
                       _with_query(url, {name: HOSTILE["long"] for name in QUERY_PARAMETERS[endpoint]}), fresh=fresh)
    else:
        valid = VALID_FORMS[endpoint](ids)
        for label, data in variants(valid):
            sweep.send(label, "POST", url, data, fresh=fresh)
    if "<" in rule:
        for ident in NO_SUCH_IDS:
            data = VALID_FORMS[endpoint](ids) if method == "POST" else None
            sweep.send(f"id={ident}", method, url_for_rule(rule, ids, ident), data, fresh=fresh)
    assert not sweep.failures, "\n".join(sweep.failures[:40]) + f"\n({len(sweep.failures)} failures)"


def _with_query(url: str, params: dict) -> str:
    """``url`` with ``params`` added to its query (replacing any of the same name it has)."""
    from urllib.parse import parse_qsl, urlencode

    path, _, query = url.partition("?")
    return path + "?" + urlencode({**dict(parse_qsl(query)), **params}, doseq=True)
