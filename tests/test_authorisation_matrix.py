"""The authorisation matrix, generated from the app's URL map: every route (rule x HTTP method, pages and
/api/v1) x every role x (own object, another household's or partner's object, none), allowed or refused.

Who may use each route is declared once, in ROUTES below, by a small vocabulary of rules; a route the URL map
has and ROUTES does not fails ``test_every_route_has_a_rule`` (so a new route must say who may use it), and
so does an entry for a route that no longer exists.

"Allowed" means the request got past the access check: not 401/403, not sent to log in, and for an object
that exists not 404 (the rule itself may still say no: 400, 409, 422 or a redirect with its words all count as
allowed). "Refused" is 403 with the app's error page (pages) or error body (API), or 404 where a route hides that
another's object exists. For an object that does not exist, a role allowed for any such object gets 404; any other
role gets 403 or 404 (never success).

The acting user is always side A's (tests/authz_scene.py): "own" is side A's object, "other" side B's, "none"
an id no row has. Community staff and admins are district-wide: where they are allowed, both sides are theirs.
Each test is one route and one role; cases run other -> none -> own, so an allowed change (a cancel, an erasure)
comes last. Every test that sends anything but GET gets the scene back as it was built before the next test.

The lists every role may call (bookings, notifications, slots, partners) are checked for their rows too, at the end.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

import pytest
from flask.testing import FlaskClient

from careapp.core.db import db
from careapp.extensions import limiter
from tests.authz_scene import NONE_ID, ROLES, Scene, build_scene, nothing
from tests.conftest import IsolatedClient, START, empty_tables, shared_app
from tests.factories import PASSWORD

ANONYMOUS = "anonymous"
OWN, OTHER, NONE, NO_OBJECT = "own", "other", "none", "-"
API = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}

# --- the vocabulary: for each role, which objects it may use ---

ANY = "any"      # any object (or the route has none)
MINE = "mine"    # only its own side's (its household's, its partner's, its own token or message)


@dataclass(frozen=True)
class Rule:
    name: str
    grants: dict[str, str]
    public: bool = False  # anonymous visitors too (they are refused otherwise: sent to log in, or 401)

    def grant(self, role: str) -> str | None:
        if role == ANONYMOUS:
            return ANY if self.public else None
        return self.grants.get(role)


def rule(name: str, public: bool = False, **grants: str) -> Rule:
    return Rule(name, grants, public)


EVERYONE = dict(family=ANY, partner_staff=ANY, partner_manager=ANY, community_staff=ANY, admin=ANY)
DISTRICT_ROLES = dict(community_staff=ANY, admin=ANY)

PUBLIC = rule("PUBLIC", public=True, **EVERYONE)
ANY_USER = rule("ANY_USER", **EVERYONE)
# Each user's own data (API tokens): only the user's own, whatever the role.
OWN_DATA = rule("OWN_DATA", **{role: MINE for role in ROLES})
# A household's members, bookings, enrolments: the family itself, or district staff acting for it.
HOUSEHOLD = rule("HOUSEHOLD", family=MINE, **DISTRICT_ROLES)
# A household's copy of its data and its deletion: the household itself, or an administrator (docs/privacy.md).
HOUSEHOLD_ITSELF = rule("HOUSEHOLD_ITSELF", family=MINE, admin=ANY)
# Families and district staff book and order, in any partner's slots (which household: see HOUSEHOLD).
BOOKERS = rule("BOOKERS", family=ANY, **DISTRICT_ROLES)
# A slot's page: those who book, and the partner's own staff.
SLOT_PAGE = rule("SLOT_PAGE", family=ANY, partner_staff=MINE, partner_manager=MINE, **DISTRICT_ROLES)
# A partner as the partner list shows it: families every approved one, partner staff their own, district all.
PARTNER_SEEN = rule("PARTNER_SEEN", family=ANY, partner_staff=MINE, partner_manager=MINE, **DISTRICT_ROLES)
# Rosters, sheets, claims, lists: the partner's staff and manager, and district staff.
PARTNER_READ = rule("PARTNER_READ", partner_staff=MINE, partner_manager=MINE, **DISTRICT_ROLES)
# Attendance (check-in, check-out, no-show): the partner's own staff and manager only.
PARTNER_STAFF = rule("PARTNER_STAFF", partner_staff=MINE, partner_manager=MINE)
# Services, slots, capacity, shifts, dishes, menus, message texts, volunteers: the partner's manager, admins.
PARTNER_MANAGE = rule("PARTNER_MANAGE", partner_manager=MINE, admin=ANY)
# Profile, service points, rooms, staff accounts: the partner's manager and district staff.
PARTNER_SETUP = rule("PARTNER_SETUP", partner_manager=MINE, **DISTRICT_ROLES)
# Partner staff pages that have no object (the partner index): partner staff and district staff.
STAFF = rule("STAFF", partner_staff=ANY, partner_manager=ANY, **DISTRICT_ROLES)
# The inbox's messages: a family's household's, a partner's staff's partner's; district staff have none.
INBOX = rule("INBOX", family=MINE, partner_staff=MINE, partner_manager=MINE)
DISTRICT = rule("DISTRICT", **DISTRICT_ROLES)
ADMIN = rule("ADMIN", admin=ANY)
# The calendar feed: the private link is the only key, whoever holds it (a phone, logged in or not).
SECRET_LINK = rule("SECRET_LINK", public=True, **EVERYONE)


@dataclass(frozen=True)
class Route:
    """How to call one route: its rule, which scene object each URL argument is (by default the one the
    argument names), and a query string and body valid enough to reach the access check."""

    rule: Rule
    args: dict[str, str] = field(default_factory=dict)
    query: Callable[[dict], dict] | None = None
    body: Callable[[dict], dict] | None = None
    # The object is named in the body or query string only (the URL has none).
    object_in_body: bool = False
    # Refused for another's object with 404, as if it did not exist (it is not theirs to know of).
    hides: bool = False


def route(rule_: Rule, *, hides: bool = False, object_in_body: bool = False, query=None, body=None,
          **args: str) -> Route:
    return Route(rule_, args, query, body, object_in_body, hides)


# The scene object a URL argument names unless a route says otherwise.
DEFAULT_OBJECTS = {
    "adult_id": "adult", "assignment_id": "assignment", "booking_id": "booking", "dish_id": "dish",
    "enrolment_id": "enrolment", "household_id": "household", "member_id": "elder", "notification_id": "notification",
    "partner_id": "partner", "point_id": "point", "service_point_id": "point", "recipient_id": "elder",
    "room_id": "room", "service_id": "daycare", "shift_id": "shift", "slot_id": "slot", "token": "feed",
    "token_id": "token", "user_id": "account",
}
# URL arguments that are not objects, with the value every case uses.
FIXED_ARGUMENTS = {"month": "2026-12"}

TOMORROW_DAY = (START + timedelta(days=1)).date()  # the scene's slots, menu, shift and weekly session
TOMORROW = TOMORROW_DAY.isoformat()
LATER = (START + timedelta(days=8)).date().isoformat()
MESSAGE = dict(kind="daycare", topic="reminder", language="zh_CN")
MESSAGE_KEY = dict(service_kind="daycare", topic="reminder", language="zh_CN")


def tomorrow_at(hour: int) -> str:
    return f"{TOMORROW}T{hour:02d}:00:00+08:00"


ROUTES: dict[tuple[str, str], Route] = {
    # --- accounts ---
    ("GET", "/"): route(PUBLIC),  # the start page: to log in, or to the user's own start page
    ("GET", "/login"): route(PUBLIC),
    ("POST", "/login"): route(PUBLIC, body=lambda o: {"login": o["login"], "password": PASSWORD}),
    ("POST", "/logout"): route(ANY_USER),
    ("GET", "/register"): route(PUBLIC),
    ("POST", "/register"): route(PUBLIC, body=lambda o: {}),
    ("POST", "/language"): route(PUBLIC, body=lambda o: {"language": "en"}),
    ("POST", "/text-size"): route(PUBLIC, body=lambda o: {"size": "large"}),
    ("GET", "/account/tokens"): route(ANY_USER),
    ("POST", "/account/tokens/<int:token_id>/revoke"): route(OWN_DATA, hides=True),
    ("POST", "/account/tokens/revoke-all"): route(ANY_USER),
    ("GET", "/admin/audit"): route(ADMIN),
    ("GET", "/admin/scheduler"): route(ADMIN),
    # --- a household's own pages ---
    ("GET", "/family/"): route(ANY_USER),  # staff are sent on to their own start page
    ("GET", "/family/households/<int:household_id>"): route(HOUSEHOLD),
    ("GET", "/family/households/<int:household_id>/calendar"): route(HOUSEHOLD),
    ("POST", "/family/households/<int:household_id>/calendar-link"): route(HOUSEHOLD),
    ("POST", "/family/households/<int:household_id>/calendar-link/stop"): route(HOUSEHOLD),
    ("GET", "/family/households/<int:household_id>/members/new"): route(HOUSEHOLD),
    ("POST", "/family/households/<int:household_id>/members/new"): route(HOUSEHOLD, body=lambda o: {}),
    ("GET", "/family/members/<int:member_id>/adults/new"): route(HOUSEHOLD, member_id="child"),
    ("POST", "/family/members/<int:member_id>/adults/new"): route(HOUSEHOLD, member_id="child", body=lambda o: {}),
    ("POST", "/family/adults/<int:adult_id>/remove"): route(HOUSEHOLD),
    ("GET", "/family/households/<int:household_id>/data.json"): route(HOUSEHOLD_ITSELF),
    ("GET", "/family/households/<int:household_id>/delete"): route(HOUSEHOLD_ITSELF),
    ("POST", "/family/households/<int:household_id>/delete"): route(HOUSEHOLD_ITSELF),
    ("GET", "/calendar/<token>.ics"): route(SECRET_LINK),
    ("GET", "/billing/households/<int:household_id>"): route(HOUSEHOLD),
    ("GET", "/billing/households/<int:household_id>/<month>"): route(HOUSEHOLD),
    ("GET", "/enrolments/households/<int:household_id>/new"): route(HOUSEHOLD),
    ("POST", "/enrolments/households/<int:household_id>/new"): route(HOUSEHOLD, body=lambda o: {}),
    ("GET", "/enrolments/<int:enrolment_id>/end"): route(HOUSEHOLD),
    ("POST", "/enrolments/<int:enrolment_id>/end"): route(HOUSEHOLD),
    ("POST", "/enrolments/<int:enrolment_id>/pause"): route(HOUSEHOLD, body=lambda o: {"resumes_on": LATER}),
    ("POST", "/enrolments/<int:enrolment_id>/resume"): route(HOUSEHOLD),
    ("GET", "/meals/members/<int:member_id>/needs"): route(HOUSEHOLD),
    ("POST", "/meals/members/<int:member_id>/needs"): route(HOUSEHOLD, body=lambda o: {"diet": "少盐"}),
    # --- booking ---
    ("GET", "/booking/slots"): route(ANY_USER),
    ("GET", "/booking/slots/<int:slot_id>"): route(SLOT_PAGE),
    # The household is the recipient's: family A may book into partner Q's slot, but not for household B.
    ("POST", "/booking/slots/<int:slot_id>/book"): route(HOUSEHOLD, body=lambda o: {"recipient_id": o["elder"]}),
    ("GET", "/booking/bookings/<int:booking_id>/cancel"): route(HOUSEHOLD),
    ("POST", "/booking/bookings/<int:booking_id>/cancel"): route(HOUSEHOLD),
    ("POST", "/booking/bookings/<int:booking_id>/accept"): route(HOUSEHOLD),
    ("GET", "/booking/bookings/<int:booking_id>/decline"): route(HOUSEHOLD),
    ("POST", "/booking/bookings/<int:booking_id>/decline"): route(HOUSEHOLD),
    ("GET", "/meals/slots/<int:slot_id>/order"): route(BOOKERS, slot_id="meal_slot"),
    ("POST", "/meals/slots/<int:slot_id>/order"): route(
        HOUSEHOLD, slot_id="meal_slot", body=lambda o: {"recipient_id": o["elder"], "mode": "dine_in"}),
    # --- notifications ---
    ("GET", "/notifications/"): route(ANY_USER),
    ("POST", "/notifications/<int:notification_id>/read"): route(INBOX),
    ("POST", "/notifications/read-all"): route(ANY_USER),
    ("POST", "/notifications/language"): route(ANY_USER, body=lambda o: {"language": "en"}),
    # --- a partner's pages ---
    ("GET", "/partners/"): route(STAFF),
    ("GET", "/partners/<int:partner_id>"): route(PARTNER_READ),
    ("GET", "/partners/<int:partner_id>/services/new"): route(PARTNER_MANAGE),
    ("POST", "/partners/<int:partner_id>/services/new"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("GET", "/partners/<int:partner_id>/points/new"): route(PARTNER_SETUP),
    ("POST", "/partners/<int:partner_id>/points/new"): route(PARTNER_SETUP, body=lambda o: {}),
    ("GET", "/partners/<int:partner_id>/accounts/new"): route(PARTNER_SETUP),
    ("POST", "/partners/<int:partner_id>/accounts/new"): route(PARTNER_SETUP, body=lambda o: {}),
    ("GET", "/partners/<int:partner_id>/profile"): route(PARTNER_SETUP),
    ("POST", "/partners/<int:partner_id>/profile"): route(PARTNER_SETUP, body=lambda o: {}),
    ("GET", "/partners/<int:partner_id>/staff"): route(PARTNER_SETUP),
    ("POST", "/partners/accounts/<int:user_id>/deactivate"): route(PARTNER_SETUP),
    ("POST", "/partners/accounts/<int:user_id>/reactivate"): route(PARTNER_SETUP),
    ("GET", "/partners/<int:partner_id>/volunteers"): route(PARTNER_MANAGE),
    ("POST", "/partners/<int:partner_id>/volunteers"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("GET", "/partners/<int:partner_id>/messages"): route(PARTNER_MANAGE),
    ("GET", "/partners/<int:partner_id>/messages/edit"): route(PARTNER_MANAGE, query=lambda o: MESSAGE),
    ("POST", "/partners/<int:partner_id>/messages/edit"): route(PARTNER_MANAGE, query=lambda o: MESSAGE,
                                                                body=lambda o: {}),
    ("POST", "/partners/<int:partner_id>/messages/reset"): route(PARTNER_MANAGE, query=lambda o: MESSAGE),
    ("GET", "/partners/pending"): route(DISTRICT),
    ("GET", "/partners/<int:partner_id>/review"): route(DISTRICT),
    ("POST", "/partners/<int:partner_id>/approve"): route(DISTRICT),
    ("POST", "/partners/<int:partner_id>/decline"): route(DISTRICT, body=lambda o: {}),
    ("GET", "/partners/register"): route(PUBLIC),
    ("POST", "/partners/register"): route(PUBLIC, body=lambda o: {}),
    ("GET", "/partners/points/<int:point_id>/rooms/new"): route(PARTNER_SETUP),
    ("POST", "/partners/points/<int:point_id>/rooms/new"): route(PARTNER_SETUP, body=lambda o: {}),
    ("GET", "/partners/rooms/<int:room_id>"): route(PARTNER_SETUP),
    ("POST", "/partners/rooms/<int:room_id>"): route(PARTNER_SETUP, body=lambda o: {}),
    ("POST", "/partners/rooms/<int:room_id>/remove"): route(PARTNER_SETUP),
    ("GET", "/partners/services/<int:service_id>/slots/new"): route(PARTNER_MANAGE),
    ("POST", "/partners/services/<int:service_id>/slots/new"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("GET", "/partners/services/<int:service_id>/weekly/new"): route(PARTNER_MANAGE),
    ("POST", "/partners/services/<int:service_id>/weekly/new"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("GET", "/partners/slots/<int:slot_id>"): route(PARTNER_READ),
    ("POST", "/partners/slots/<int:slot_id>/capacity"): route(PARTNER_MANAGE, body=lambda o: {"capacity": 6}),
    ("GET", "/partners/slots/<int:slot_id>/cancel"): route(PARTNER_MANAGE),
    ("POST", "/partners/slots/<int:slot_id>/cancel"): route(PARTNER_MANAGE),
    ("POST", "/partners/bookings/<int:booking_id>/check-in"): route(PARTNER_STAFF),
    ("POST", "/partners/bookings/<int:booking_id>/check-out"): route(PARTNER_STAFF),
    ("GET", "/partners/bookings/<int:booking_id>/no-show"): route(PARTNER_STAFF),
    ("POST", "/partners/bookings/<int:booking_id>/no-show"): route(PARTNER_STAFF),
    ("GET", "/partners/points/<int:point_id>/day"): route(PARTNER_READ),
    ("GET", "/partners/points/<int:point_id>/day.csv"): route(PARTNER_READ),
    ("GET", "/partners/points/<int:point_id>/shifts"): route(PARTNER_READ),
    ("POST", "/partners/points/<int:point_id>/shifts"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("GET", "/partners/shifts/<int:shift_id>/edit"): route(PARTNER_MANAGE),
    ("POST", "/partners/shifts/<int:shift_id>/edit"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("GET", "/partners/shifts/<int:shift_id>/delete"): route(PARTNER_MANAGE),
    ("POST", "/partners/shifts/<int:shift_id>/delete"): route(PARTNER_MANAGE),
    ("POST", "/partners/shifts/<int:shift_id>/assign"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("POST", "/partners/shifts/<int:shift_id>/people/<int:assignment_id>/remove"): route(PARTNER_MANAGE),
    ("GET", "/childcare/<int:partner_id>/staffing"): route(PARTNER_READ),
    ("GET", "/daycare/points/<int:point_id>/transport"): route(PARTNER_READ),
    ("GET", "/daycare/points/<int:point_id>/transport.csv"): route(PARTNER_READ),
    ("GET", "/billing/partners/<int:partner_id>"): route(PARTNER_READ),
    ("GET", "/billing/partners/<int:partner_id>/<month>"): route(PARTNER_READ),
    ("GET", "/billing/partners/<int:partner_id>/<month>/claim.xlsx"): route(PARTNER_READ),
    # --- meals: dishes and menus (the manager), kitchen and delivery sheets (partner staff, district staff) ---
    ("GET", "/meals/partners/<int:partner_id>/dishes"): route(PARTNER_MANAGE),
    ("POST", "/meals/partners/<int:partner_id>/dishes"): route(PARTNER_MANAGE, body=lambda o: {}),
    ("GET", "/meals/partners/<int:partner_id>/dishes/edit"): route(PARTNER_MANAGE, query=lambda o: {"dish": o["dish"]}),
    ("POST", "/meals/partners/<int:partner_id>/dishes/edit"): route(
        PARTNER_MANAGE, query=lambda o: {"dish": o["dish"]}, body=lambda o: {}),
    ("GET", "/meals/partners/<int:partner_id>/menus"): route(PARTNER_MANAGE),
    ("GET", "/meals/services/<int:service_id>/menu"): route(PARTNER_MANAGE, service_id="meal",
                                                            query=lambda o: {"day": TOMORROW}),
    ("POST", "/meals/services/<int:service_id>/menu"): route(PARTNER_MANAGE, service_id="meal",
                                                             query=lambda o: {"day": TOMORROW}, body=lambda o: {}),
    ("POST", "/meals/services/<int:service_id>/menus/copy-week"): route(PARTNER_MANAGE, service_id="meal",
                                                                        body=lambda o: {}),
    ("GET", "/meals/slots/<int:slot_id>/kitchen"): route(PARTNER_READ, slot_id="meal_slot"),
    ("GET", "/meals/slots/<int:slot_id>/kitchen.csv"): route(PARTNER_READ, slot_id="meal_slot"),
    ("GET", "/meals/slots/<int:slot_id>/delivery"): route(PARTNER_READ, slot_id="meal_slot"),
    ("GET", "/meals/slots/<int:slot_id>/delivery.csv"): route(PARTNER_READ, slot_id="meal_slot"),
    # --- community staff's pages (every one behind the blueprint's district check) ---
    ("GET", "/community/"): route(DISTRICT),
    ("GET", "/community/partners/<int:partner_id>"): route(DISTRICT),
    ("GET", "/community/partners/new"): route(DISTRICT),
    ("POST", "/community/partners/new"): route(DISTRICT, body=lambda o: {}),
    ("GET", "/community/residents"): route(DISTRICT),
    ("GET", "/community/residents/members/<int:member_id>"): route(DISTRICT),
    ("GET", "/community/district/import"): route(DISTRICT),
    ("POST", "/community/district/import"): route(DISTRICT, body=lambda o: {}),
    ("GET", "/community/district/template.csv"): route(DISTRICT),
    ("GET", "/community/district/template.xlsx"): route(DISTRICT),
    ("GET", "/community/coverage/"): route(DISTRICT),
    ("GET", "/community/coverage/map"): route(DISTRICT),
    ("GET", "/community/coverage/grids.csv"): route(DISTRICT),
    ("GET", "/community/coverage/grids.xlsx"): route(DISTRICT),
    ("GET", "/community/reports/monthly"): route(DISTRICT),
    ("GET", "/community/reports/monthly.xlsx"): route(DISTRICT),

    # === the JSON API ===
    ("GET", "/api/v1/openapi.json"): route(PUBLIC),
    ("GET", "/api/v1/buildings"): route(PUBLIC),
    ("POST", "/api/v1/tokens"): route(PUBLIC, body=lambda o: {"login": o["login"], "password": PASSWORD}),
    ("POST", "/api/v1/families"): route(PUBLIC, body=lambda o: {"login": "13000000001", "password": "correct-horse-9",
                                                                "name": "新家", "building_id": o["building"]}),
    ("POST", "/api/v1/partner-registrations"): route(PUBLIC, body=lambda o: {
        "name": "新的服务中心", "kind": "canteen", "phone": "0553-1234567", "manager_name": "新主任",
        "login": "13000000002", "password": "correct-horse-9"}),
    ("DELETE", "/api/v1/tokens/current"): route(ANY_USER),
    ("GET", "/api/v1/me"): route(ANY_USER),
    ("POST", "/api/v1/me/language"): route(ANY_USER, body=lambda o: {"language": "en"}),
    ("GET", "/api/v1/admin/scheduler"): route(ADMIN),
    ("GET", "/api/v1/coverage"): route(DISTRICT),
    # households and their members
    ("GET", "/api/v1/recipients"): route(HOUSEHOLD, object_in_body=True,
                                         query=lambda o: {"household_id": o["household"]}),
    ("POST", "/api/v1/recipients"): route(HOUSEHOLD, object_in_body=True, body=lambda o: {
        "household_id": o["household"], "name": "新成员", "kind": "elder", "birth_date": "1950-01-01"}),
    ("PATCH", "/api/v1/recipients/<int:recipient_id>/meal-needs"): route(HOUSEHOLD, body=lambda o: {"diet": "少盐"}),
    ("GET", "/api/v1/recipients/<int:recipient_id>/authorised-adults"): route(HOUSEHOLD, recipient_id="child"),
    ("POST", "/api/v1/recipients/<int:recipient_id>/authorised-adults"): route(
        HOUSEHOLD, recipient_id="child", body=lambda o: {"name": "舅舅", "relation": "uncle"}),
    ("POST", "/api/v1/authorised-adults/<int:adult_id>/remove"): route(HOUSEHOLD),
    ("GET", "/api/v1/households/<int:household_id>/export"): route(HOUSEHOLD_ITSELF),
    ("POST", "/api/v1/households/<int:household_id>/erase"): route(HOUSEHOLD_ITSELF),
    ("GET", "/api/v1/households/<int:household_id>/statement"): route(HOUSEHOLD),
    ("GET", "/api/v1/enrolments"): route(HOUSEHOLD, object_in_body=True,
                                         query=lambda o: {"household_id": o["household"]}),
    ("POST", "/api/v1/enrolments"): route(HOUSEHOLD, object_in_body=True, body=lambda o: {
        "recipient_id": o["elder"], "service_id": o["daycare"], "weekdays": [TOMORROW_DAY.weekday()], "starts_on": TOMORROW}),
    ("GET", "/api/v1/enrolments/<int:enrolment_id>"): route(HOUSEHOLD),
    ("POST", "/api/v1/enrolments/<int:enrolment_id>/pause"): route(HOUSEHOLD, body=lambda o: {"resumes_on": LATER}),
    ("POST", "/api/v1/enrolments/<int:enrolment_id>/resume"): route(HOUSEHOLD),
    ("POST", "/api/v1/enrolments/<int:enrolment_id>/end"): route(HOUSEHOLD, body=lambda o: {"ends_on": LATER}),
    # booking
    ("GET", "/api/v1/slots"): route(ANY_USER),
    ("GET", "/api/v1/bookings"): route(ANY_USER),  # a list of what the caller may see, never a refusal
    ("POST", "/api/v1/slots/<int:slot_id>/bookings"): route(HOUSEHOLD, body=lambda o: {"recipient_id": o["elder"]}),
    ("POST", "/api/v1/bookings/<int:booking_id>/cancel"): route(HOUSEHOLD),
    ("POST", "/api/v1/bookings/<int:booking_id>/accept"): route(HOUSEHOLD),
    ("POST", "/api/v1/bookings/<int:booking_id>/decline"): route(HOUSEHOLD),
    ("POST", "/api/v1/bookings/<int:booking_id>/check-in"): route(PARTNER_STAFF),
    ("POST", "/api/v1/bookings/<int:booking_id>/check-out"): route(PARTNER_STAFF),
    ("POST", "/api/v1/bookings/<int:booking_id>/no-show"): route(PARTNER_STAFF),
    ("GET", "/api/v1/slots/<int:slot_id>/roster"): route(PARTNER_READ),
    ("POST", "/api/v1/slots/<int:slot_id>/meal-orders"): route(
        HOUSEHOLD, slot_id="meal_slot", body=lambda o: {"recipient_id": o["elder"], "mode": "dine_in"}),
    ("PATCH", "/api/v1/meal-orders/<int:booking_id>"): route(HOUSEHOLD, booking_id="meal_booking",
                                                            body=lambda o: {"mode": "pick_up"}),
    ("GET", "/api/v1/notifications"): route(ANY_USER),
    ("POST", "/api/v1/notifications/<int:notification_id>/read"): route(INBOX),
    ("POST", "/api/v1/notifications/read-all"): route(ANY_USER),
    # partners
    ("GET", "/api/v1/partners"): route(ANY_USER),
    ("POST", "/api/v1/partners"): route(DISTRICT, body=lambda o: {"name": "新的食堂", "kind": "canteen"}),
    ("GET", "/api/v1/partners/pending"): route(DISTRICT),
    ("POST", "/api/v1/partners/<int:partner_id>/approve"): route(DISTRICT),
    ("POST", "/api/v1/partners/<int:partner_id>/decline"): route(DISTRICT, body=lambda o: {"reason": "资料不全"}),
    ("GET", "/api/v1/partners/<int:partner_id>/profile"): route(PARTNER_SEEN),
    ("PATCH", "/api/v1/partners/<int:partner_id>/profile"): route(PARTNER_SETUP,
                                                                 body=lambda o: {"description": "新的介绍"}),
    ("POST", "/api/v1/partners/<int:partner_id>/service-points"): route(PARTNER_SETUP, body=lambda o: {
        "name": "新服务点", "address": "赭麓街道1号", "latitude": 31.33, "longitude": 118.37}),
    ("POST", "/api/v1/partners/<int:partner_id>/services"): route(PARTNER_MANAGE, body=lambda o: {
        "kind": "activity", "name": "书法班", "capacity": 10, "service_point_id": o["point"]}),
    ("GET", "/api/v1/partners/<int:partner_id>/staff"): route(PARTNER_SETUP),
    ("POST", "/api/v1/users/<int:user_id>/deactivate"): route(PARTNER_SETUP),
    ("POST", "/api/v1/users/<int:user_id>/reactivate"): route(PARTNER_SETUP),
    ("GET", "/api/v1/partners/<int:partner_id>/subsidy-claim"): route(PARTNER_READ),
    ("GET", "/api/v1/partners/<int:partner_id>/childcare-staffing"): route(PARTNER_READ),
    ("GET", "/api/v1/partners/<int:partner_id>/volunteers"): route(PARTNER_MANAGE),
    ("POST", "/api/v1/partners/<int:partner_id>/volunteers"): route(PARTNER_MANAGE, body=lambda o: {"name": "小赵"}),
    ("GET", "/api/v1/partners/<int:partner_id>/message-templates"): route(PARTNER_MANAGE),
    ("POST", "/api/v1/partners/<int:partner_id>/message-templates"): route(PARTNER_MANAGE, body=lambda o: {
        **MESSAGE_KEY, "subject": "提醒", "body": "{member}明天{start}到{place}。"}),
    ("POST", "/api/v1/partners/<int:partner_id>/message-templates/reset"): route(PARTNER_MANAGE,
                                                                                body=lambda o: MESSAGE_KEY),
    ("GET", "/api/v1/service-points/<int:service_point_id>/rooms"): route(PARTNER_SEEN),
    ("POST", "/api/v1/service-points/<int:service_point_id>/rooms"): route(PARTNER_SETUP,
                                                                          body=lambda o: {"name": "阅览室"}),
    ("PATCH", "/api/v1/rooms/<int:room_id>"): route(PARTNER_SETUP, body=lambda o: {"seats": 12}),
    ("DELETE", "/api/v1/rooms/<int:room_id>"): route(PARTNER_SETUP),
    ("POST", "/api/v1/services/<int:service_id>/slots"): route(PARTNER_MANAGE, body=lambda o: {
        "starts_at": tomorrow_at(18), "ends_at": tomorrow_at(20)}),
    ("PATCH", "/api/v1/slots/<int:slot_id>"): route(PARTNER_MANAGE, body=lambda o: {"capacity": 6}),
    ("POST", "/api/v1/slots/<int:slot_id>/cancel"): route(PARTNER_MANAGE),
    ("GET", "/api/v1/service-points/<int:point_id>/transport"): route(PARTNER_READ),
    ("GET", "/api/v1/service-points/<int:point_id>/day-roster"): route(PARTNER_READ),
    ("GET", "/api/v1/service-points/<int:point_id>/shifts"): route(PARTNER_READ),
    ("POST", "/api/v1/service-points/<int:point_id>/shifts"): route(PARTNER_MANAGE, body=lambda o: {
        "day": TOMORROW, "start_time": "13:00", "end_time": "17:00", "role": "staff", "title": "午班"}),
    ("PATCH", "/api/v1/shifts/<int:shift_id>"): route(PARTNER_MANAGE, body=lambda o: {"title": "早班（改）"}),
    ("DELETE", "/api/v1/shifts/<int:shift_id>"): route(PARTNER_MANAGE),
    ("POST", "/api/v1/shifts/<int:shift_id>/assignments"): route(PARTNER_MANAGE,
                                                                body=lambda o: {"user_id": o["account"]}),
    ("DELETE", "/api/v1/shifts/<int:shift_id>/assignments/<int:assignment_id>"): route(PARTNER_MANAGE),
    # meals
    ("GET", "/api/v1/partners/<int:partner_id>/dishes"): route(PARTNER_READ),
    ("POST", "/api/v1/partners/<int:partner_id>/dishes"): route(PARTNER_MANAGE, body=lambda o: {"name": "红烧肉"}),
    ("PATCH", "/api/v1/dishes/<int:dish_id>"): route(PARTNER_MANAGE, body=lambda o: {"active": False}),
    # A day's menu is no secret: every logged-in user may read any meal service's.
    ("GET", "/api/v1/services/<int:service_id>/menu"): route(ANY_USER, service_id="meal",
                                                            query=lambda o: {"day": TOMORROW}),
    ("PUT", "/api/v1/services/<int:service_id>/menu"): route(PARTNER_MANAGE, service_id="meal", body=lambda o: {
        "day": TOMORROW, "dish_ids": [o["dish"]]}),
    ("GET", "/api/v1/slots/<int:slot_id>/kitchen-sheet"): route(PARTNER_READ, slot_id="meal_slot"),
    ("GET", "/api/v1/slots/<int:slot_id>/delivery-sheet"): route(PARTNER_READ, slot_id="meal_slot"),
}


# --- the URL map ---

def url_map_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods - IGNORED_METHODS}


def is_api(rule: str) -> bool:
    return rule.startswith(API + "/")


def path_of(rule: str, objects: dict, route_: Route) -> str:
    """The rule with each argument replaced by the scene object it names."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in FIXED_ARGUMENTS:
            return FIXED_ARGUMENTS[name]
        return str(objects[route_.args.get(name, DEFAULT_OBJECTS[name])])

    return re.sub(r"<(?:\w+:)?(\w+)>", value, rule)


def has_object(rule: str, route_: Route) -> bool:
    return route_.object_in_body or any(name not in FIXED_ARGUMENTS for name in re.findall(r"<(?:\w+:)?(\w+)>", rule))


# --- what each case should answer ---

ALLOWED, REFUSED, SENT_TO_LOG_IN, UNAUTHENTICATED, NOT_FOUND, REFUSED_OR_NOT_FOUND = (
    "allowed", "refused", "sent to log in", "401", "404", "403 or 404")


def expected(route_: Route, api: bool, role: str, whose: str) -> str:
    grant = route_.rule.grant(role)
    if role == ANONYMOUS and grant is None:
        return UNAUTHENTICATED if api else SENT_TO_LOG_IN
    if whose == NONE:
        if grant == ANY:
            return NOT_FOUND
        return REFUSED_OR_NOT_FOUND
    if grant == ANY or (grant == MINE and whose in (OWN, NO_OBJECT)):
        return ALLOWED
    return REFUSED


def outcome(response, api: bool) -> str:
    """The answer as one of the words above, or what it was when it is none of them."""
    status, location = response.status_code, response.headers.get("Location", "")
    if status == 302 and location.startswith("/login?next="):
        return SENT_TO_LOG_IN
    if status == 401:
        return UNAUTHENTICATED
    if status == 403:
        return REFUSED if _error_shaped(response, api) else "403 without the app's error page or body"
    if status == 404:
        return NOT_FOUND
    if status >= 500 or status == 405:
        return f"{status}: {response.get_data(as_text=True)[:300]}"
    return ALLOWED


def _error_shaped(response, api: bool) -> bool:
    """The app's own refusal: the JSON error with its code on the API, the error page ("Sorry") on pages."""
    if api:
        return response.is_json and response.get_json()["error"]["code"] == "forbidden"
    return "Sorry" in response.get_data(as_text=True)


def matches(expect: str, got: str, route_: Route) -> bool:
    if expect == REFUSED:
        return got == (NOT_FOUND if route_.hides else REFUSED)
    if expect == REFUSED_OR_NOT_FOUND:
        return got in (REFUSED, NOT_FOUND)
    return got == expect


# --- the scene, built once for the module and put back after any test that may have changed it ---

@pytest.fixture(scope="module")
def matrix(database, tmp_path_factory):
    app = shared_app(database, {}, str(tmp_path_factory.getbasetemp() / "instance"))
    app.extensions["careapp.clock"].set(START)
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    app.test_client_class = IsolatedClient
    with app.app_context():
        try:
            yield app, build_scene(START)
        finally:
            db.session.remove()
            empty_tables()


@pytest.fixture
def scene(matrix) -> tuple[Any, Scene]:
    app, scene_ = matrix
    app.extensions["careapp.clock"].set(START)
    if scene_.dirty:
        scene_.restore()
    return app, scene_


def logged_in(app, scene_: Scene, role: str) -> tuple[FlaskClient, dict[str, str]]:
    """A client for the page routes (its session is side A's user of ``role``) and bearer headers for the API."""
    client = app.test_client()
    if role == ANONYMOUS:
        return client, {}
    with client.session_transaction() as session:
        session["_user_id"] = str(scene_.a.users[role])
        session["_fresh"] = True
    return client, {"Authorization": f"Bearer {scene_.a.bearer[role]}"}


def send(client: FlaskClient, headers: dict, method: str, rule: str, route_: Route, objects: dict):
    path = path_of(rule, objects, route_)
    query = route_.query(objects) if route_.query else None
    body = route_.body(objects) if route_.body else None
    if is_api(rule):
        return client.open(path, method=method, headers=headers, query_string=query,
                           **({"json": body} if body is not None else {}))
    return client.open(path, method=method, query_string=query, data=body)


def cases():
    for (method, rule), route_ in sorted(ROUTES.items(), key=lambda item: (item[0][1], item[0][0])):
        for role in (ANONYMOUS, *ROLES):
            yield pytest.param(method, rule, role, id=f"{method} {rule} {role}")


@pytest.mark.parametrize("method, rule, role", list(cases()))
def test_who_may_use_each_route(scene, method, rule, role):
    app, scene_ = scene
    route_ = ROUTES[(method, rule)]
    api = is_api(rule)
    client, headers = logged_in(app, scene_, role)
    if role == ANONYMOUS or not has_object(rule, route_):
        # Anonymous visitors are refused (or let in) whatever the object; a route without one has one case.
        whose_cases = [(OWN if has_object(rule, route_) else NO_OBJECT, scene_.a)]
    else:
        # Another's first and one's own last: an allowed change to one's own (a cancel, an erasure) comes last.
        whose_cases = [(OTHER, scene_.b), (NONE, None), (OWN, scene_.a)]
    wrong = []
    for whose, side in whose_cases:
        objects = side.objects(role if role != ANONYMOUS else "family") if side else nothing()
        if method != "GET":
            scene_.dirty = True
        response = send(client, headers, method, rule, route_, objects)
        expect, got = expected(route_, api, role, whose), outcome(response, api)
        if not matches(expect, got, route_):
            hidden = " (as 404)" if expect == REFUSED and route_.hides else ""
            wrong.append(f"{whose} object: expected {expect}{hidden}, got {got} "
                         f"({response.status_code} {response.headers.get('Location', '')})")
    assert not wrong, f"{method} {rule} as {role} ({route_.rule.name}):\n  " + "\n  ".join(wrong)


def test_every_route_has_a_rule(matrix):
    """Every route of the URL map (rule x method, pages and API) says who may use it, here; and every entry here
    is a route that still exists. A new route fails this test until its access rule is declared in ROUTES."""
    routes = url_map_routes(matrix[0])
    missing = sorted(routes - set(ROUTES), key=lambda r: (r[1], r[0]))
    stale = sorted(set(ROUTES) - routes, key=lambda r: (r[1], r[0]))
    assert not missing, ("routes with no access rule in tests/test_authorisation_matrix.py ROUTES (declare who may "
                         "use each):\n  " + "\n  ".join(f"{m} {r}" for m, r in missing))
    assert not stale, "entries in ROUTES for routes that no longer exist:\n  " + "\n  ".join(
        f"{m} {r}" for m, r in stale)


def test_every_url_argument_names_a_scene_object(matrix):
    """So that a new route's argument gets a real object, not a guess: each is an object kind or a fixed value."""
    unknown = {name for _, rule in url_map_routes(matrix[0]) for name in re.findall(r"<(?:\w+:)?(\w+)>", rule)
               if name not in DEFAULT_OBJECTS and name not in FIXED_ARGUMENTS}
    assert not unknown, f"URL arguments with no scene object in DEFAULT_OBJECTS: {sorted(unknown)}"


def test_the_scene_gives_each_role_its_own_objects(scene):
    """The matrix means something only if side A's users really are logged in and B's objects really are another's."""
    app, scene_ = scene
    family, headers = logged_in(app, scene_, "family")
    assert family.get("/family/").status_code == 200
    assert family.get(f"/family/households/{scene_.a.ids['household']}").status_code == 200
    assert family.get(f"/family/households/{scene_.b.ids['household']}").status_code == 403
    me = family.get(API + "/me", headers=headers).get_json()
    assert (me["role"], me["household_id"]) == ("family", scene_.a.ids["household"])
    manager, _ = logged_in(app, scene_, "partner_manager")
    assert manager.get(f"/partners/{scene_.a.ids['partner']}").status_code == 200
    assert scene_.a.ids["partner"] != scene_.b.ids["partner"] and NONE_ID not in scene_.a.ids.values()


# --- the lists: a route every role may call must still show each role only what is its own ---

BOTH, A_ONLY, NEITHER = (True, True), (True, False), (False, False)
FAMILY_OWN = dict(family=A_ONLY, partner_staff=A_ONLY, partner_manager=A_ONLY, community_staff=BOTH, admin=BOTH)
# (list route, the scene object each row may be, which sides' objects each role sees)
LISTS = [
    ("/bookings", "booking", FAMILY_OWN),
    ("/bookings", "meal_booking", FAMILY_OWN),
    # District staff read no messages; partner staff their partner's (the kitchen sheet), families their household's.
    ("/notifications", "notification", dict(FAMILY_OWN, community_staff=NEITHER, admin=NEITHER)),
    ("/recipients", "elder", dict(family=A_ONLY)),  # the others must name a household (see ROUTES)
    ("/slots", "slot", dict(FAMILY_OWN, family=BOTH)),
    ("/partners", "partner", dict(FAMILY_OWN, family=BOTH)),
]


LIST_CASES = [pytest.param(path, kind, role, seen[role], id=f"{path} {kind} {role}")
              for path, kind, seen in LISTS for role in seen]


@pytest.mark.parametrize("path, kind, role, sees", LIST_CASES)
def test_lists_show_each_role_only_its_own(scene, path, kind, role, sees):
    app, scene_ = scene
    client, headers = logged_in(app, scene_, role)
    response = client.get(API + path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    listed = {row["id"] for row in response.get_json()}
    assert (scene_.a.objects(role)[kind] in listed, scene_.b.objects(role)[kind] in listed) == sees
