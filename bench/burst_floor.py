"""The HTTP floor of the burst (bench/speed_burst.py): the best any Python web app could do on this machine.

A bare WSGI app (no framework) served by gunicorn with careapp's settings (sync workers, as many) does the
booking as bare SQL over psycopg: the bearer token's lookup (its hash, live, its user active), then in one
transaction lock the slot, count, insert the booking confirmed or waitlisted, add to ``booked_count``,
commit; it answers the booking's id, status and waitlist position as JSON. The same load generator drives
it (families logged in through careapp's ``POST /api/v1/tokens``). careapp / floor says how much of the
gap to the raw SQL loop is careapp's own, and floor / raw how much any Python HTTP server must lose here.

The framework floor (``flask_application``) is the same booking, the same SQL, as a plain Flask app over
SQLAlchemy Core (no ORM, no careapp: no checks, no audit, no notification, no i18n), under the same gunicorn
settings: the most any app built on careapp's stack (Flask, SQLAlchemy) could do here. Framework floor / raw
is the ceiling of careapp / raw. The app floor (``careapp_core_application``, part ``appfloor``) is careapp's
own app answering the booking with the same SQL through its session's connection: what careapp's request
layer leaves before any of its booking rules.

    python bench/burst_floor.py --database postgresql://root@127.0.0.1/bench_d --repeat 3

measures careapp, the floor and raw SQL back to back on a database filled by ``careapp bench-data`` (each
run on new slots), with the CPU milliseconds per booking of each process group (``--parts`` adds
``flask``, the framework floor). bench/run.py adds both floors' lines to its burst table. PostgreSQL only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from speed_common import GunicornProcess  # noqa: E402

# --- the bare WSGI app (each gunicorn worker imports this module and opens one connection) ---

_connection = None

TOKEN_SQL = ('SELECT t.user_id FROM api_token t JOIN "user" u ON u.id = t.user_id WHERE t.token_hash = %s'
             " AND t.revoked_at IS NULL AND t.expires_at > %s AND u.active")
COUNT_SQL = ("SELECT count(*) FILTER (WHERE status = 'confirmed'), count(*) FILTER (WHERE status = 'waitlisted')"
             " FROM booking WHERE slot_id = %s")
INSERT_SQL = ("INSERT INTO booking (slot_id, recipient_id, status, waitlist_order, booked_by_id, created_at,"
              " updated_at, needs_transport) VALUES (%s, %s, %s, %s, %s, %s, %s, false) RETURNING id")


def _database():
    global _connection
    if _connection is None:
        import psycopg

        parts = urlsplit(os.environ["BURST_FLOOR_DATABASE_URL"])
        _connection = psycopg.connect(f"postgresql://{parts.netloc}{parts.path}", autocommit=True)
    return _connection


if os.environ.get("BURST_FLOOR_DATABASE_URL"):
    _database()  # at the worker's start, as careapp's pool has its connection before the burst


def application(environ, start_response):
    parts = environ["PATH_INFO"].split("/")  # /api/v1/slots/<id>/bookings
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if environ["REQUEST_METHOD"] != "POST" or len(parts) != 6 or parts[5] != "bookings" \
            or not authorization.startswith("Bearer "):
        return _answer(start_response, "404 Not Found", {"error": "not_found"})
    slot_id = int(parts[4])
    recipient_id = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))["recipient_id"]
    now = datetime.now(timezone.utc)
    connection = _database()
    token = hashlib.sha256(authorization[7:].encode()).hexdigest()
    user = connection.execute(TOKEN_SQL, (token, now)).fetchone()
    if user is None:
        return _answer(start_response, "401 Unauthorized", {"error": "bad_token"})
    with connection.transaction():
        capacity = connection.execute("SELECT capacity FROM slot WHERE id = %s FOR UPDATE", (slot_id,)).fetchone()[0]
        confirmed, waiting = connection.execute(COUNT_SQL, (slot_id,)).fetchone()
        status, order = ("confirmed", None) if confirmed < capacity else ("waitlisted", waiting + 1)
        booking_id = connection.execute(INSERT_SQL, (slot_id, recipient_id, status, order, user[0], now,
                                                     now)).fetchone()[0]
        if status == "confirmed":
            connection.execute("UPDATE slot SET booked_count = booked_count + 1 WHERE id = %s", (slot_id,))
    return _answer(start_response, "201 Created", {"id": booking_id, "slot_id": slot_id, "recipient_id": recipient_id,
                                                   "status": status, "waitlist_position": order})


def flask_application():
    """The framework floor: the same booking as :func:`application`, the same SQL, in a plain Flask app over
    SQLAlchemy Core (gunicorn ``burst_floor:flask_application()``). Every statement is built once."""
    import sqlalchemy as sa
    from flask import Flask, jsonify

    parts = urlsplit(os.environ["BURST_FLOOR_DATABASE_URL"])
    engine = sa.create_engine(f"postgresql+psycopg://{parts.netloc}{parts.path}", pool_size=1)
    app = Flask(__name__)

    @app.post("/api/v1/slots/<int:slot_id>/bookings")
    def book(slot_id: int):
        with engine.begin() as connection:
            answer, status = _core_booking(connection, slot_id)
        return jsonify(answer), status

    with engine.connect():
        pass  # the worker's connection is open before the burst, as careapp's is
    return app


def careapp_core_application():
    """The app floor: careapp's own app (its settings, session, sign-in, language and headers on every request)
    with the framework floor's booking, the same SQL through its session's connection, answering the booking
    requests (gunicorn ``burst_floor:careapp_core_application()``). The gap from the framework floor is
    careapp's request layer; the gap from here to careapp is its booking: the ORM, the rules, the audit."""
    from flask import jsonify

    from careapp import create_app
    from careapp.core.db import db
    from careapp.extensions import csrf

    app = create_app()

    @csrf.exempt
    def book(slot_id: int):
        answer, status = _core_booking(db.session.connection(), slot_id)
        db.session.commit()
        return jsonify(answer), status

    app.add_url_rule("/bench-floor/slots/<int:slot_id>/bookings", "bench_floor_book", book, methods=["POST"])
    careapp_wsgi = app.wsgi_app

    def routed(environ, start_response):
        # careapp's booking URL, answered by the floor's view: the load generator's requests are unchanged.
        parts = environ["PATH_INFO"].split("/")  # /api/v1/slots/<id>/bookings
        if environ["REQUEST_METHOD"] == "POST" and len(parts) == 6 and parts[5] == "bookings":
            environ["PATH_INFO"] = f"/bench-floor/slots/{parts[4]}/bookings"
        return careapp_wsgi(environ, start_response)

    app.wsgi_app = routed
    with app.app_context():
        db.session.connection()  # the worker's connection is open before the burst, as careapp's is
        db.session.remove()
    return app


def _core_booking(connection, slot_id: int) -> tuple[dict, int]:
    """The booking of :func:`application` in SQLAlchemy Core on ``connection`` (in a transaction the caller
    commits), for the Flask request in hand: (the answer, its HTTP status)."""
    from flask import request

    token_sql, lock_sql, count_sql, insert_sql, tally_sql = _core_statements()
    recipient_id = request.get_json()["recipient_id"]
    now = datetime.now(timezone.utc)
    token = hashlib.sha256(request.headers.get("Authorization", "")[7:].encode()).hexdigest()
    user_id = connection.execute(token_sql, {"token": token, "now": now}).scalar()
    if user_id is None:
        return {"error": "bad_token"}, 401
    capacity = connection.execute(lock_sql, {"slot": slot_id}).scalar_one()
    confirmed, waiting = connection.execute(count_sql, {"slot": slot_id}).one()
    status, order = ("confirmed", None) if confirmed < capacity else ("waitlisted", waiting + 1)
    booking_id = connection.execute(insert_sql, {"slot": slot_id, "recipient": recipient_id, "status": status,
                                                 "order": order, "user": user_id, "now": now}).scalar_one()
    if status == "confirmed":
        connection.execute(tally_sql, {"slot": slot_id})
    return {"id": booking_id, "slot_id": slot_id, "recipient_id": recipient_id, "status": status,
            "waitlist_position": order}, 201


@cache
def _core_statements() -> tuple:
    """The floor's statements as SQLAlchemy text, built once: token, lock, count, insert, tally."""
    import sqlalchemy as sa

    return (sa.text(_named(TOKEN_SQL)), sa.text("SELECT capacity FROM slot WHERE id = :slot FOR UPDATE"),
            sa.text(_named(COUNT_SQL)), sa.text(_named(INSERT_SQL)),
            sa.text("UPDATE slot SET booked_count = booked_count + 1 WHERE id = :slot"))


def _named(sql: str) -> str:
    """A statement above in SQLAlchemy's ``:name`` parameters (for the Core floors)."""
    names = iter(_PARAMETERS[sql])
    return re.sub(r"%s", lambda _: f":{next(names)}", sql)


_PARAMETERS = {TOKEN_SQL: ("token", "now"), COUNT_SQL: ("slot",),
               INSERT_SQL: ("slot", "recipient", "status", "order", "user", "now", "now")}


def _answer(start_response, status: str, body: dict):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


# --- serving it and firing the burst at it ---

# What gunicorn serves for each floor: the bare WSGI app, or the plain Flask app over SQLAlchemy Core.
FLOOR_APPS = {"bare": "burst_floor:application", "flask": "burst_floor:flask_application()",
              "careapp-core": "burst_floor:careapp_core_application()"}


class FloorServer(GunicornProcess):
    """gunicorn serving a floor's app (``FLOOR_APPS``) with careapp serve's settings (sync workers, ``workers``
    of them)."""

    # The bare and framework floors answer 404 to anything but a booking: that they answer at all is the sign.
    # The app floor is careapp's app: its sign-in page.
    name, ready_status, ready_timeout = "the floor's gunicorn", 404, 30.0

    def __init__(self, url: str, workers: int, log_path: str, app: str = "bare"):
        self.app = FLOOR_APPS[app]
        if app == "careapp-core":
            self.ready_path, self.ready_status = "/login", 200
        super().__init__(workers, log_path, {**os.environ, "BURST_FLOOR_DATABASE_URL": url})

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers",
                str(self.workers), "--chdir", str(HERE), "--name", "burst-floor", self.app]


def floor_burst(url: str, login_url: str, plan, slot_id: int, workers: int, folder: str, engine,
                tokens: list[str] | None = None, generator: str = "threads", app: str = "bare") -> dict:
    """The burst of ``plan``'s families on ``slot_id`` through a floor's app (``FLOOR_APPS``: the bare WSGI
    app, or the framework floor); its figures (as ``fire``)."""
    from dataclasses import replace

    from speed_burst import fire

    server = FloorServer(url, workers, f"{folder}/floor-{app}.log", app)
    try:
        return fire(server.url, replace(plan, slot_id=slot_id), login_url=login_url,
                    server_pids=server.worker_pids(), engine=engine, tokens=tokens, generator=generator)
    finally:
        server.stop()


def new_slot(plan, *, now: datetime) -> int:
    """Another fresh slot of the plan's service, at a time it has no slot yet (in the app's context)."""
    import random

    from sqlalchemy.exc import IntegrityError

    from careapp.core.db import db
    from careapp.partners.models import Slot
    from speed_burst import _new_slot

    while True:
        try:
            slot_id = _new_slot(db.session.get(Slot, plan.slot_id).service, minutes=random.randint(-1400, 1400),
                                now=now).id
            db.session.commit()
            return slot_id
        except IntegrityError:  # that time is taken (by an earlier run)
            db.session.rollback()


def fresh_plan(now: datetime):
    """``prepare`` at a time of its own (earlier runs on the same database left their slots)."""
    import random

    from sqlalchemy.exc import IntegrityError

    from careapp.core.db import db
    from speed_burst import prepare

    while True:
        try:
            return prepare(now, minutes=random.randint(-1400, 1400))
        except IntegrityError:
            db.session.rollback()


# --- standalone: careapp, the floor and raw SQL back to back ---

def _profiler(folder: str | None, pid: int, name: str):
    """An ``on_ready`` for ``fire`` that samples ``pid`` and its children with py-spy (collapsed stacks)."""
    if folder is None:
        return None

    def start():
        import signal
        import time

        spy = subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil",
                                "--rate", "200", "--format", "raw", "--output", f"{folder}/{name}.txt"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attaches

        def stop():
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)

        return stop

    return start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a PostgreSQL database filled by careapp bench-data")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2 * len(os.sched_getaffinity(0)))
    parser.add_argument("--parts", default="careapp,floor,raw",
                        help="comma-separated: careapp, floor (bare WSGI), flask (the framework floor), appfloor "
                             "(careapp's app, the same SQL), raw; with "
                             "-lean (careapp-lean...): the lean generator")
    parser.add_argument("--base", metavar="DIR", help="a second careapp server importing careapp from DIR (another "
                                                       "version of it, to compare back to back): parts base, base-lean")
    parser.add_argument("--profile", metavar="FOLDER", help="py-spy the web workers during each burst into FOLDER")
    args = parser.parse_args()
    parts = args.parts.split(",")

    from dataclasses import replace

    from speed_burst import check, fire, raw_burst
    from speed_common import Server, careapp_env, child_pids

    folder = tempfile.mkdtemp(prefix="careapp-floor-")
    env = careapp_env(args.database, folder)
    os.environ.update(env)
    from careapp import create_app
    from careapp.core.db import db

    app = create_app()
    now = datetime.now(timezone.utc)
    with app.app_context():
        plan = fresh_plan(now)
        engine = db.engine
        servers = {"careapp": Server(env, args.workers, f"{folder}/serve.log")}
        if args.base:
            servers["base"] = Server({**env, "PYTHONPATH": args.base}, args.workers, f"{folder}/base.log")
        server = servers["careapp"]
        tokens = None  # the families log in once, through careapp, and keep their tokens
        try:
            for run in range(args.repeat):
                for part in parts:
                    slot_id = new_slot(plan, now=now)
                    db.session.remove()
                    kind, _, generator = part.partition("-")
                    generator = generator or "threads"
                    if kind in servers:
                        target = servers[kind]
                        figures = fire(target.url, replace(plan, slot_id=slot_id),
                                       server_pids=child_pids(target.process.pid), engine=engine,
                                       on_ready=_profiler(args.profile, target.process.pid, f"{part}-{run + 1}"),
                                       tokens=tokens, generator=generator)
                        tokens = figures["tokens"]
                    elif kind in ("floor", "flask", "appfloor"):
                        app = {"floor": "bare", "flask": "flask", "appfloor": "careapp-core"}[kind]
                        figures = floor_burst(args.database, server.url, plan, slot_id, args.workers, folder, engine,
                                              tokens, generator, app=app)
                        tokens = figures["tokens"]
                    else:
                        figures = raw_burst(args.database, slot_id, [r for _, r in plan.families], args.workers)
                    outcome = check(engine, slot_id, figures.get("answers"))
                    latency = f" p50 {figures['p50']:.0f} ms" if "p50" in figures else ""
                    failed = f" failed {len(figures['failed'])}" if figures.get("failed") else ""
                    cpu = " ".join(f"{k} {v:.2f}" for k, v in figures["cpu_ms"].items())
                    print(f"run {run + 1} {part:12} {figures['rate']:6.0f} bookings/s{latency}{failed}"
                          f"  cpu ms/booking: {cpu}  [{outcome['confirmed']}/{outcome['waitlisted']}"
                          f" in order {outcome['in_order']}]", flush=True)
        finally:
            for each in servers.values():
                each.stop()
            engine.dispose()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
