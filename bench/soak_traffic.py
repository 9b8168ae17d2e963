"""The traffic of bench/soak.py: client threads, each acting as one role in a loop.

Every request goes through ``Client.call``, which times it and sorts its answer into one of three outcomes:

- ``ok``: the status the action expects (200 for a page or a read, 201 for a new booking, ...);
- ``refused``: a business rule said no (409 conflict, 422 rule refused: "already booked", "booking closed",
  "capacity cannot go below the places held"), which the script provokes on purpose and expects;
- ``error``: anything else: a 5xx, a connection error or timeout, a 401/403 where the role is allowed, any
  other status.

The world the roles act in (``World``) is chosen by bench/soak.py from the database before the server starts:
two partners that run day care, meals and activities, their managers and staff, families with a member
eligible for the partners' activity, community staff and the admin. Partner managers open new "live"
activity slots starting about half an hour ahead; families and community staff book them (they fill and
waitlists form); families cancel some; partner staff check the booked people in and out. Managers also open
"offer slots" of full-day day care two days ahead, whose freed places are offered to the waitlist rather than
given: families book them, cancel, and accept or decline the offers they receive.
"""
from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests

PASSWORD = "careapp-bench-2026"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REFUSALS = (409, 422)      # business rules saying no (careapp.core.errors: Conflict, RuleRefused)
LIVE_CAPACITY = 6          # small, so live slots fill and waitlists form
LIVE_SLOTS_KEPT = 6        # the newest live slots of a partner that are booked into
LIVE_EVERY_S = 20          # a manager opens a live slot at most this often per partner
LIVE_STARTS_AFTER = timedelta(minutes=30)
# Offer slots: a service that offers freed places (fill policy "offer", e.g. full-day day care) confirms nobody
# from its waitlist at once; a place freed in a full one (a family cancels, the manager adds places) is offered
# to the waitlist's head, who accepts or declines. They start two days ahead (booking closes 12 hours before).
OFFER_CAPACITY = 2
OFFER_EVERY_S = 60
OFFER_STARTS_AFTER = timedelta(days=2)
OFFER_SLOTS_KEPT = 3
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


# --- recording ---

class Tally:
    """Every request's role, kind, status, latency and outcome; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        # (at, role, kind, status, ms, outcome, write)
        self.rows: list[tuple[float, str, str, int, float, str, bool]] = []
        self.error_samples: list[str] = []
        self.refusal_codes: dict[tuple[str, int, str], int] = defaultdict(int)

    def add(self, role: str, kind: str, status: int, ms: float, outcome: str, detail: str = "",
            write: bool = False) -> None:
        with self.lock:
            self.rows.append((time.monotonic(), role, kind, status, ms, outcome, write))
            if outcome == "error" and len(self.error_samples) < 30:
                self.error_samples.append(f"{role} {kind}: {status} {detail}"[:400])

    def add_refusal(self, kind: str, status: int, code: str) -> None:
        with self.lock:
            self.refusal_codes[(kind, status, code)] += 1


class Client:
    """One logged-in account: the session cookie for pages, a bearer token for the API."""

    def __init__(self, base_url: str, login: str, role: str, tally: Tally):
        self.base_url, self.login, self.role, self.tally = base_url, login, role, tally
        self.http = requests.Session()
        self.token = ""

    def log_in(self) -> None:
        """The login form (a session for pages) and POST /api/v1/tokens (for the API); not counted."""
        form = self.http.get(f"{self.base_url}/login", timeout=60)
        token = CSRF.search(form.text)
        answer = self.http.post(f"{self.base_url}/login", data={
            "login": self.login, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}, timeout=60)
        if answer.status_code != 200 or "/login" in answer.url:
            raise SystemExit(f"cannot log in as {self.login}: {answer.status_code} at {answer.url}")
        answer = requests.post(f"{self.base_url}/api/v1/tokens", json={"login": self.login, "password": PASSWORD},
                               timeout=60)
        if answer.status_code != 201:
            raise SystemExit(f"no API token for {self.login}: {answer.status_code} {answer.text[:200]}")
        self.token = answer.json()["token"]

    def call(self, kind: str, method: str, path: str, *, ok: tuple[int, ...] = (200,), refusals: tuple[int, ...] = (),
             **options) -> requests.Response | None:
        """One request, timed and sorted; the response when it was ``ok`` (or refused), else None."""
        headers = {"Authorization": f"Bearer {self.token}"} if path.startswith("/api/") else {}
        write = method != "GET"
        started = time.perf_counter()
        try:
            answer = self.http.request(method, f"{self.base_url}{path}", headers=headers, timeout=60,
                                       allow_redirects=False, **options)
        except requests.RequestException as error:
            self.tally.add(self.role, kind, 0, (time.perf_counter() - started) * 1000, "error",
                           f"{method} {path}: {error!r}", write)
            return None
        ms = (time.perf_counter() - started) * 1000
        if answer.status_code in ok:
            self.tally.add(self.role, kind, answer.status_code, ms, "ok", write=write)
            return answer
        if answer.status_code in refusals:
            self.tally.add(self.role, kind, answer.status_code, ms, "refused", write=write)
            self.tally.add_refusal(kind, answer.status_code, _error_code(answer))
            return None
        self.tally.add(self.role, kind, answer.status_code, ms, "error",
                       f"{method} {path} -> {answer.text[:300]!r}", write)
        return None

    def json(self, kind: str, path: str, **options):
        answer = self.call(kind, "GET", path, **options)
        return answer.json() if answer is not None else None

    def page(self, kind: str, path: str) -> None:
        self.call(kind, "GET", path)


def _error_code(answer: requests.Response) -> str:
    try:
        return answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "?"


# --- what the roles act on ---

@dataclass
class PartnerPlan:
    partner_id: int
    manager: str                 # logins
    staff: str
    activity_service_id: int     # where live slots are opened
    point_id: int
    meal_slot_id: int            # the next meal slot (kitchen sheet)
    today_slot_ids: list[int]    # day care slots open for check-in now (people to check in and out)
    offer_service_id: int | None = None   # fill policy "offer"
    live: list[tuple[int, datetime]] = field(default_factory=list)  # (slot id, starts at), newest last
    offer_slots: list[tuple[int, int]] = field(default_factory=list)  # (slot id, places its enrolments hold)
    last_start: dict[int, datetime] = field(default_factory=dict)  # service id -> the newest slot's start
    last_opened: float = 0.0
    last_offer_opened: float = 0.0


@dataclass
class World:
    base_url: str
    partners: list[PartnerPlan]
    # (login, household id, recipient eligible for the activity, recipient eligible for the offer service or
    # None, partner index)
    families: list[tuple[str, int, int, int | None, int]]
    community_logins: list[str]
    admin_login: str
    member_ids: list[int]                        # any household members (community staff look them up)
    tally: Tally = field(default_factory=Tally)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bookable_live(self, partner: PartnerPlan) -> list[int]:
        """Live slots still open for booking (booking closes at the start; keep a margin)."""
        soon = datetime.now(timezone.utc) + timedelta(minutes=2)
        with self.lock:
            return [slot_id for slot_id, starts in partner.live[-LIVE_SLOTS_KEPT:] if starts > soon]

    def running_live(self, partner: PartnerPlan) -> list[int]:
        with self.lock:
            return [slot_id for slot_id, _ in partner.live[-3 * LIVE_SLOTS_KEPT:]]

    def offer_slots(self, partner: PartnerPlan) -> list[int]:
        with self.lock:
            return [slot_id for slot_id, _ in partner.offer_slots[-OFFER_SLOTS_KEPT:]]


def _pick(weights: dict) -> object:
    return random.choices(list(weights), weights=list(weights.values()))[0]


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- families ---

def family_step(world: World, client: Client, household_id: int, recipient_id: int, offer_recipient_id: int | None,
                partner: PartnerPlan) -> None:
    action = _pick({"home": 3, "finder": 2, "inbox": 2, "read_all": 1, "bookings": 2, "book_live": 5,
                    "book_offer_slot": 2, "cancel_live": 3, "rebook": 2, "meal_change": 1, "household": 1})
    if action == "home":
        client.page("page family home", "/family/")
    elif action == "finder":
        client.page("page slot finder", random.choice(["/booking/slots", "/booking/slots?kind=meal",
                                                       "/booking/slots?kind=activity"]))
    elif action == "inbox":
        client.page("page notifications inbox", "/notifications/")
    elif action == "read_all":
        client.call("api notifications read-all", "POST", "/api/v1/notifications/read-all")
    elif action == "household":
        client.page("page household", f"/family/households/{household_id}")
    elif action == "book_live":
        live = world.bookable_live(partner)
        if live:
            client.call("api book (live slot)", "POST", f"/api/v1/slots/{random.choice(live)}/bookings",
                        json={"recipient_id": recipient_id}, ok=(201,), refusals=REFUSALS)
    elif action == "book_offer_slot":
        slots = world.offer_slots(partner)
        if slots and offer_recipient_id:
            client.call("api book (offer slot)", "POST", f"/api/v1/slots/{random.choice(slots)}/bookings",
                        json={"recipient_id": offer_recipient_id}, ok=(201,), refusals=REFUSALS)
    else:
        bookings = client.json("api my bookings", "/api/v1/bookings")
        if bookings is not None:
            _family_write(world, client, action, bookings, partner)


def _family_write(world: World, client: Client, action: str, bookings: list[dict], partner: PartnerPlan) -> None:
    for offer in (b for b in bookings if b["status"] == "offered"):
        if random.random() < 0.75:
            client.call("api accept offer", "POST", f"/api/v1/bookings/{offer['id']}/accept", refusals=REFUSALS)
        else:
            client.call("api decline offer", "POST", f"/api/v1/bookings/{offer['id']}/decline", refusals=REFUSALS)
    live = set(world.running_live(partner)) | set(world.offer_slots(partner))
    later = _now() + timedelta(days=1)
    if action == "cancel_live":
        mine = [b for b in bookings if b["slot_id"] in live and b["status"] in ("confirmed", "waitlisted")]
        if mine:
            client.call("api cancel (live slot)", "POST", f"/api/v1/bookings/{random.choice(mine)['id']}/cancel",
                        refusals=REFUSALS)
    elif action == "rebook":
        # A coming booking made by hand: cancel it, then book the same place again (a meal through its order).
        coming = [b for b in bookings if b["status"] == "confirmed" and b["enrolment_id"] is None
                  and _utc(b["starts_at"]) > later and b["slot_id"] not in live]
        if coming:
            booking = random.choice(coming)
            if client.call("api cancel (coming)", "POST", f"/api/v1/bookings/{booking['id']}/cancel",
                           refusals=REFUSALS) is not None:
                path = f"/api/v1/slots/{booking['slot_id']}/" + ("meal-orders" if booking["kind"] == "meal"
                                                                else "bookings")
                client.call(f"api rebook {booking['kind']}", "POST", path,
                            json={"recipient_id": booking["recipient_id"]}, ok=(201,), refusals=REFUSALS)
    elif action == "meal_change":
        meals = [b for b in bookings if b["kind"] == "meal" and b["status"] in ("confirmed", "waitlisted")
                 and _utc(b["starts_at"]) > later]
        if meals:
            client.call("api change meal order", "PATCH", f"/api/v1/meal-orders/{random.choice(meals)['id']}",
                        json={"mode": random.choice(["dine_in", "pick_up"])}, refusals=REFUSALS)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- partner staff and managers ---

def staff_step(world: World, client: Client, partner: PartnerPlan) -> None:
    action = _pick({"roster_page": 2, "day_roster": 2, "kitchen": 2, "attendance": 5, "check_out_today": 1})
    if action == "roster_page":
        slots = world.running_live(partner) or partner.today_slot_ids or [partner.meal_slot_id]
        client.page("page slot roster", f"/partners/slots/{random.choice(slots)}")
    elif action == "day_roster":
        client.page("page day roster", f"/partners/points/{partner.point_id}/day")
    elif action == "kitchen":
        client.page("page kitchen sheet", f"/meals/slots/{partner.meal_slot_id}/kitchen")
    elif action == "attendance":
        live = world.running_live(partner)
        if live:
            _check_in_or_out(client, random.choice(live))
    elif partner.today_slot_ids:
        _check_in_or_out(client, random.choice(partner.today_slot_ids))


def _check_in_or_out(client: Client, slot_id: int) -> None:
    """Check in someone booked, or check out someone checked in, from the slot's roster."""
    roster = client.json("api slot roster", f"/api/v1/slots/{slot_id}/roster")
    if not roster:
        return
    waiting = [entry for entry in roster if entry["status"] == "confirmed"]
    inside = [entry for entry in roster if entry["status"] == "checked_in"]
    if inside and (not waiting or random.random() < 0.5):
        client.call("api check out", "POST", f"/api/v1/bookings/{random.choice(inside)['booking_id']}/check-out",
                    refusals=REFUSALS)
    elif waiting:
        client.call("api check in", "POST", f"/api/v1/bookings/{random.choice(waiting)['booking_id']}/check-in",
                    json={"temperature": 36.5}, refusals=REFUSALS)


def manager_step(world: World, client: Client, partner: PartnerPlan) -> None:
    if time.monotonic() - partner.last_opened >= LIVE_EVERY_S:
        partner.last_opened = time.monotonic()
        answer = _open_slot(client, partner, partner.activity_service_id, LIVE_STARTS_AFTER, LIVE_CAPACITY)
        if answer:
            with world.lock:
                partner.live.append((answer["id"], partner.last_start[partner.activity_service_id]))
        return
    if partner.offer_service_id and time.monotonic() - partner.last_offer_opened >= OFFER_EVERY_S:
        partner.last_offer_opened = time.monotonic()
        _open_offer_slot(world, client, partner)
        return
    action = _pick({"capacity": 3, "offer_capacity": 1, "templates": 2, "messages_page": 1, "dashboard": 1,
                    "slots": 1})
    if action == "capacity":
        live = world.running_live(partner)
        if live:
            client.call("api change capacity", "PATCH", f"/api/v1/slots/{random.choice(live)}",
                        json={"capacity": random.randint(LIVE_CAPACITY - 1, LIVE_CAPACITY + 3)}, refusals=REFUSALS)
    elif action == "offer_capacity":
        # More places in a full offer slot: offered to the head of its waitlist.
        with world.lock:
            slots = partner.offer_slots[-OFFER_SLOTS_KEPT:]
        if slots:
            slot_id, enrolled = random.choice(slots)
            client.call("api change capacity", "PATCH", f"/api/v1/slots/{slot_id}",
                        json={"capacity": enrolled + random.randint(OFFER_CAPACITY, OFFER_CAPACITY + 4)},
                        refusals=REFUSALS)
    elif action == "templates":
        _edit_template(client, partner)
    elif action == "messages_page":
        client.page("page message texts", f"/partners/{partner.partner_id}/messages")
    elif action == "dashboard":
        client.page("page partner dashboard", f"/partners/{partner.partner_id}")
    else:
        client.json("api partner slots", f"/api/v1/slots?partner_id={partner.partner_id}&kind=activity")


def _open_offer_slot(world: World, client: Client, partner: PartnerPlan) -> None:
    """An offer slot with room for every standing enrolment (they book it as it opens, ahead of anyone), then
    cut to OFFER_CAPACITY places more, so the families' bookings fill it and queue."""
    answer = _open_slot(client, partner, partner.offer_service_id, OFFER_STARTS_AFTER, 60, hours=8)
    if answer is None:
        return
    slot_id, enrolled = answer["id"], answer["confirmed"]
    if client.call("api change capacity", "PATCH", f"/api/v1/slots/{slot_id}",
                   json={"capacity": enrolled + OFFER_CAPACITY}, refusals=REFUSALS) is not None:
        with world.lock:
            partner.offer_slots.append((slot_id, enrolled))


def _open_slot(client: Client, partner: PartnerPlan, service_id: int, ahead: timedelta, capacity: int,
               hours: int = 1) -> dict | None:
    """A new slot of the service starting ``ahead`` from now, at a minute none of its slots starts."""
    starts = (_now() + ahead).replace(second=0, microsecond=0)
    last = partner.last_start.get(service_id)
    if last is not None and starts <= last:
        starts = last + timedelta(minutes=1)  # one slot per service and start time
    body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=hours)).isoformat(),
            "capacity": capacity}
    answer = client.call("api new slot", "POST", f"/api/v1/services/{service_id}/slots", json=body, ok=(201,),
                         refusals=REFUSALS)
    partner.last_start[service_id] = starts  # taken (by an earlier run, when refused): the next tries later
    return answer.json() if answer is not None else None


def _edit_template(client: Client, partner: PartnerPlan) -> None:
    """Save a partner's own wording of one message (careapp's, with a line added), or go back to careapp's."""
    path = f"/api/v1/partners/{partner.partner_id}/message-templates"
    wordings = client.json("api message templates", path)
    if not wordings:
        return
    wording = random.choice(wordings)
    key = {name: wording[name] for name in ("service_kind", "topic", "language")}
    if wording["own"]:
        client.call("api reset message template", "POST", f"{path}/reset", json=key, refusals=REFUSALS)
    else:
        client.call("api save message template", "POST", path, refusals=REFUSALS,
                    json={**key, "subject": wording["subject"], "body": wording["body"] + "\n(soak)"})


# --- community staff and the admin ---

def community_step(world: World, client: Client) -> None:
    action = _pick({"coverage": 1, "overview": 1, "search": 3, "member": 2, "book_for": 3})
    if action == "coverage":
        client.page("page coverage dashboard", "/community/coverage/")
    elif action == "overview":
        client.page("page community overview", "/community/")
    elif action == "search":
        client.page("page residents search", f"/community/residents?q={random.choice(SURNAMES)}")
    elif action == "member":
        client.page("page book for member", f"/community/residents/members/{random.choice(world.member_ids)}")
    else:
        _, _, recipient_id, _, index = random.choice(world.families)
        live = world.bookable_live(world.partners[index])
        if live:
            client.call("api book on behalf (live slot)", "POST", f"/api/v1/slots/{random.choice(live)}/bookings",
                        json={"recipient_id": recipient_id}, ok=(201,), refusals=REFUSALS)


def admin_step(world: World, client: Client) -> None:
    action = _pick({"scheduler": 2, "scheduler_api": 1, "audit": 2, "audit_filtered": 2})
    if action == "scheduler":
        client.page("page scheduler (admin)", "/admin/scheduler")
    elif action == "scheduler_api":
        client.json("api scheduler overview", "/api/v1/admin/scheduler")
    elif action == "audit":
        client.page("page audit log", "/admin/audit")
    else:
        client.page("page audit log filtered", random.choice(["/admin/audit?action=booking.",
                                                             "/admin/audit?action=slot.",
                                                             "/admin/audit?actor=partner1"]))


# --- the threads ---

ROLES = ("family", "partner staff", "partner manager", "community staff", "admin")


def make_actors(world: World, family_threads: int, families_per_thread: int) -> list[tuple[str, list]]:
    """(role, [(client, step arguments)]) for each client thread; nobody is logged in yet."""
    def client(login: str, role: str) -> Client:
        return Client(world.base_url, login, role, world.tally)

    actors = []
    for thread in range(family_threads):
        share = world.families[thread::family_threads][:families_per_thread]
        actors.append(("family", [(client(login, "family"), (household, recipient, offer, world.partners[index]))
                                  for login, household, recipient, offer, index in share]))
    actors.append(("partner staff", [(client(p.staff, "partner staff"), (p,)) for p in world.partners]))
    actors.append(("partner manager", [(client(p.manager, "partner manager"), (p,)) for p in world.partners]))
    actors.append(("community staff", [(client(login, "community staff"), ()) for login in world.community_logins]))
    actors.append(("admin", [(client(world.admin_login, "admin"), ())]))
    return actors


STEPS = {"family": family_step, "partner staff": staff_step, "partner manager": manager_step,
         "community staff": community_step, "admin": admin_step}


def run_actor(world: World, role: str, members: list, pause: float, stop: threading.Event) -> None:
    """Act as each member of the role in turn until ``stop``; a crash of the script counts as an error."""
    step = STEPS[role]
    turn = 0
    while not stop.is_set():
        client, arguments = members[turn % len(members)]
        turn += 1
        try:
            step(world, client, *arguments)
        except Exception as error:  # noqa: BLE001 - a broken answer (bad JSON, missing field) is an error too
            world.tally.add(role, "script", -1, 0.0, "error", repr(error))
        stop.wait(pause)
