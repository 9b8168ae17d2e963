"""Part 2 of bench/run.py: page times through HTTP against the gunicorn server of part 1.

Each page is fetched by a ``requests.Session`` logged in through the login form (session cookie), once to
warm up and then ``runs`` times one after another; p50 and p95 in milliseconds. Each page has a key (``home``,
``finder``, ``roster``, ``kitchen``, ``coverage``, ``coverage_community``) that names it whatever objects the
scale picked, so the figures of a district run and a city run can be put side by side: measured apart
(``bench/run.py --save`` / ``--compare-with``), or together (``--compare-live``: each page fetched from both
servers in turn).
"""
from __future__ import annotations

import re
import time
from datetime import datetime

import requests
import sqlalchemy as sa

from speed_common import percentile
from speed_burst import PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LIVE = "('confirmed', 'waitlisted', 'offered', 'checked_in')"


def log_in(base_url: str, login: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base_url}/login", timeout=60)
    token = CSRF.search(form.text)
    answer = session.post(f"{base_url}/login", data={"login": login, "password": PASSWORD,
                                                     "csrf_token": token.group(1) if token else ""}, timeout=60)
    if answer.status_code != 200 or "/login" in answer.url:
        raise SystemExit(f"cannot log in as {login}: {answer.status_code} at {answer.url}")
    return session


def choose(engine: sa.Engine, now: datetime, skip_slots: tuple[int, ...]) -> dict:
    """Realistic objects: the busiest coming slot (and meal slot), the family with the most coming bookings."""
    coming = ("FROM booking b JOIN slot s ON s.id = b.slot_id JOIN service v ON v.id = s.service_id "
              f"WHERE s.starts_at > :now AND b.status IN {LIVE} "
              f"AND s.id NOT IN ({','.join(map(str, skip_slots or (0,)))})")
    busiest = "GROUP BY s.id, v.partner_id ORDER BY count(*) DESC, s.id LIMIT 1"
    with engine.connect() as connection:
        slot = connection.execute(sa.text(f"SELECT s.id, v.partner_id, count(*) {coming} AND v.kind <> 'meal' "
                                          f"{busiest}"), {"now": now}).one()
        meal = connection.execute(sa.text(f"SELECT s.id, v.partner_id, count(*) {coming} AND v.kind = 'meal' "
                                          f"{busiest}"), {"now": now}).one()
        with_family = coming.replace("JOIN service", "JOIN care_recipient r ON r.id = b.recipient_id JOIN service")
        family = connection.execute(sa.text(
            f"SELECT r.household_id, count(*) {with_family} "
            "GROUP BY r.household_id ORDER BY count(*) DESC, r.household_id LIMIT 1"), {"now": now}).one()
        community = connection.scalar(sa.text("SELECT min(id) FROM community"))
    return {"slot": slot, "meal": meal, "family": family, "community": community}


def pages(engine: sa.Engine, now: datetime, skip_slots: tuple[int, ...]) -> list[tuple[str, str, str, str]]:
    """(key, label, login, path) of each page to time."""
    from careapp.benchdata import community_staff_login, family_login, partner_staff_login

    picked = choose(engine, now, skip_slots)
    slot, meal, family = picked["slot"], picked["meal"], picked["family"]
    return [
        ("home", f"family home (household {family[0]}, {family[1]} coming bookings)", family_login(family[0]),
         "/family/"),
        ("finder", "slot finder (same family)", family_login(family[0]), "/booking/slots"),
        ("roster", f"slot roster (slot {slot[0]}, {slot[2]} bookings)", partner_staff_login(slot[1], 1),
         f"/partners/slots/{slot[0]}"),
        ("kitchen", f"kitchen sheet (meal slot {meal[0]}, {meal[2]} orders)", partner_staff_login(meal[1], 1),
         f"/meals/slots/{meal[0]}/kitchen"),
        ("coverage", "coverage dashboard (community staff)", community_staff_login(picked["community"]),
         "/community/coverage/"),
        # The same dashboard for one community: the default above sums the whole area (at city scale, the city).
        ("coverage_community", f"coverage dashboard of community {picked['community']}",
         community_staff_login(picked["community"]), f"/community/coverage/?community_id={picked['community']}"),
    ]


def time_page(base_url: str, login: str, path: str, runs: int) -> dict:
    return time_side_by_side([(base_url, login, path)], runs)[0]


def time_side_by_side(targets: list[tuple[str, str, str]], runs: int) -> list[dict]:
    """Each (base_url, login, path) fetched ``runs`` times after a warm-up, the targets in turn (A, B, A, B...):
    pages compared with each other (city and district) are measured over the same moments, so a machine
    whose speed drifts (a shared virtual machine's does, by as much as twice) slows them alike."""
    sessions = [log_in(base_url, login) for base_url, login, _path in targets]
    times: list[list[float]] = [[] for _ in targets]
    sizes = [0] * len(targets)
    for run in range(runs + 1):
        for index, ((base_url, login, path), session) in enumerate(zip(targets, sessions)):
            started = time.perf_counter()
            answer = session.get(f"{base_url}{path}", timeout=120, allow_redirects=False)
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code != 200:
                raise SystemExit(f"GET {path} as {login}: {answer.status_code}")
            if run:  # the first is the warm-up
                times[index].append(elapsed)
            sizes[index] = len(answer.content)
    return [{"p50": percentile(each, 0.5), "p95": percentile(each, 0.95), "bytes": size}
            for each, size in zip(times, sizes)]


def run_pages(base_url: str, engine: sa.Engine, now: datetime, skip_slots: tuple[int, ...], runs: int) -> list:
    """[(key, label, path, {"p50", "p95", "bytes"})] for each page."""
    return [(key, label, path, time_page(base_url, login, path, runs))
            for key, label, login, path in pages(engine, now, skip_slots)]


def run_pages_side_by_side(sites: list[tuple[str, sa.Engine, tuple[int, ...]]], now: datetime, runs: int) -> list:
    """As :func:`run_pages` for several servers, each (base_url, engine, skip_slots), each page timed on all
    of them in turn (:func:`time_side_by_side`): [[(key, label, path, figures)] per server]."""
    chosen = [pages(engine, now, skip) for _url, engine, skip in sites]
    out: list[list] = [[] for _ in sites]
    for same_page in zip(*chosen):
        figures = time_side_by_side([(url, login, path) for (url, _e, _s), (_k, _l, login, path)
                                     in zip(sites, same_page)], runs)
        for index, ((key, label, _login, path), each) in enumerate(zip(same_page, figures)):
            out[index].append((key, label, path, each))
    return out
