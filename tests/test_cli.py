"""The `careapp` command: init-db, users create, demo, serve; clear messages instead of tracebacks."""
from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner
from werkzeug.security import check_password_hash

from careapp import cli, create_app, demo
from careapp.accounts.models import Role, User
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.district.services import add_building, add_community, add_grid
from careapp.households.services import register_family
from careapp.partners.models import PartnerKind
from careapp.partners.services import create_partner
from careapp.scheduler import runner
from careapp.server import compile_templates
from tests.conftest import base_config
from tests.factories import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent
# Pages a freshly served careapp answers without a login.
PUBLIC_PAGES = ("/login", "/api/v1/openapi.json")
START_UP_SECONDS = 60


def clean_failure(result, message: str) -> bool:
    """Failed with a message and a non-zero exit, the way click reports bad input, not with a traceback."""
    return (result.exit_code != 0 and isinstance(result.exception, SystemExit)
            and message in result.output and "Traceback" not in result.output)


@pytest.fixture
def fresh_app(tmp_path):
    """An app on a new, empty SQLite file (the shared test database is already migrated)."""
    url = "sqlite:///" + str(tmp_path / "fresh.db")
    app = create_app(base_config(url), instance_path=str(tmp_path / "instance"))
    yield app
    with app.app_context():
        db.engine.dispose()


def table_names(app) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


# --- init-db ---

def test_init_db_builds_the_schema_on_an_empty_database(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "newest schema" in result.output
    assert table_names(fresh_app) == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
    with fresh_app.app_context():
        current, newest = cli.schema_revisions()
    assert current == newest and len(newest) == 1


def test_init_db_again_is_harmless(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("args", [
    ["load-demo"],
    ["serve"],
    ["users", "create", "--role", "admin", "--login", "13900000001", "--password", PASSWORD],
])
def test_commands_on_an_unmigrated_database_say_to_run_init_db(fresh_app, args):
    result = fresh_app.test_cli_runner().invoke(args=args)
    assert clean_failure(result, "run `careapp init-db` first"), result.output


def test_an_unusable_database_gives_a_message_not_a_traceback(tmp_path):
    url = "sqlite:///" + str(tmp_path / "no-such-folder" / "careapp.db")
    app = create_app(base_config(url), instance_path=str(tmp_path / "instance"))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert clean_failure(result, "The database cannot be used"), result.output
    assert "CAREAPP_DATABASE_URL" in result.output


# --- users create ---

def create(app, *args: str):
    return app.test_cli_runner().invoke(args=["users", "create", *args])


def test_users_create_makes_an_account_that_can_log_in(app):
    result = create(app, "--role", "admin", "--login", "13900000001", "--password", PASSWORD,
                    "--name", "街道管理员", "--email", "admin@zhelu.example")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.login == "13900000001"))
    assert f"Created admin account 13900000001 (id {user.id})" in result.output
    assert (user.role, user.name, user.email, user.phone) == (Role.admin, "街道管理员", "admin@zhelu.example",
                                                              "13900000001")
    assert check_password_hash(user.password_hash, PASSWORD)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.created"))
    assert (entry.object_id, entry.actor_id) == (user.id, None)  # the operator, not a user


def test_users_create_partner_staff_and_family_accounts(app, clock):
    admin = make_user(Role.admin, clock.now())
    partner = create_partner(name="艺涵托育园", kind=PartnerKind.nursery, by=admin, now=clock.now())
    family = register_family(login="13900000002", password=PASSWORD, name="王家", building_id=_building(clock),
                             now=clock.now())
    staff = create(app, "--role", "partner_staff", "--login", "staff@yihan.example", "--password", PASSWORD,
                   "--partner", str(partner.id))
    second = create(app, "--role", "family", "--login", "13900000003", "--password", PASSWORD,
                    "--household", str(family.household_id))
    assert staff.exit_code == 0 and second.exit_code == 0, staff.output + second.output
    users = {u.login: u for u in db.session.scalars(sa.select(User))}
    assert users["staff@yihan.example"].partner_id == partner.id
    assert users["13900000003"].household_id == family.household_id
    assert users["13900000003"].name == "13900000003"  # no --name: the login stands in


def _building(clock) -> int:
    admin = make_user(Role.admin, clock.now())
    community = add_community(name="旭日天都社区", by=admin, now=clock.now())
    grid = add_grid(community_id=community.id, name="五组团网格", by=admin, now=clock.now())
    return add_building(grid_id=grid.id, name="7栋", address="芜湖市镜湖区九华中路旭日天都五组团7栋",
                        latitude=31.343, longitude=118.382, by=admin, now=clock.now()).id


@pytest.mark.parametrize("args, message", [
    (["--role", "boss", "--login", "13900000001", "--password", PASSWORD], "Invalid value for '--role'"),
    (["--role", "admin", "--login", "12345", "--password", PASSWORD], "mobile number (11 digits"),
    (["--role", "admin", "--login", "13900000001", "--password", "short"], "at least 8 characters"),
    (["--role", "admin", "--login", "13900000001"], "Missing option '--password'"),
    (["--role", "partner_staff", "--login", "13900000001", "--password", PASSWORD], "needs an existing partner"),
    (["--role", "partner_staff", "--login", "13900000001", "--password", PASSWORD, "--partner", "999"],
     "needs an existing partner"),
    (["--role", "family", "--login", "13900000001", "--password", PASSWORD, "--household", "999"],
     "needs an existing household"),
    (["--role", "admin", "--login", "13900000001", "--password", PASSWORD, "--partner", "x"],
     "'x' is not a valid integer"),
])
def test_users_create_refuses_bad_input_clearly_and_creates_nothing(app, args, message):
    result = create(app, *args)
    assert clean_failure(result, message), result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_users_create_refuses_a_login_taken_already(app, clock):
    make_user(Role.admin, clock.now(), login="13900000001")
    result = create(app, "--role", "community_staff", "--login", " 13900000001 ", "--password", PASSWORD)
    assert clean_failure(result, "That login is already registered."), result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


# --- the command itself ---

def test_the_careapp_console_script_lists_every_command(tmp_path, monkeypatch):
    # FlaskGroup sets this in os.environ; registering it here makes monkeypatch remove it afterwards.
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    monkeypatch.setenv("CAREAPP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CAREAPP_DATABASE_URL", "sqlite:///" + str(tmp_path / "help.db"))
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("init-db", "users", "load-demo", "demo", "serve", "scheduler"):
        assert f"  {command} " in result.output


def test_the_scheduler_refuses_a_database_that_is_not_migrated(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["scheduler"])
    assert result.exit_code != 0
    assert "The database is empty; run `careapp init-db` first." in result.output


def test_the_same_commands_work_as_flask_app_careapp(tmp_path):
    env = {**os.environ, "CAREAPP_INSTANCE_PATH": str(tmp_path),
           "CAREAPP_DATABASE_URL": "sqlite:///" + str(tmp_path / "flask.db")}
    flask = [sys.executable, "-m", "flask", "--app", "careapp"]
    migrated = subprocess.run([*flask, "init-db"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    listed = subprocess.run([*flask, "users", "--help"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "create" in listed.stdout, listed.stderr


def test_wsgi_module_builds_the_app_without_a_scheduler(tmp_path, monkeypatch):
    monkeypatch.setenv("CAREAPP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CAREAPP_DATABASE_URL", "sqlite:///" + str(tmp_path / "wsgi.db"))
    app = runpy.run_path(str(ROOT / "wsgi.py"))["app"]
    assert app.name == "careapp"
    assert runner.EXTENSION_KEY not in app.extensions and app.config["RUN_SCHEDULER"] is False
    assert "APScheduler" not in {thread.name for thread in threading.enumerate()}


# --- demo ---

def test_demo_migrates_loads_and_serves_with_the_scheduler_in_process(fresh_app, monkeypatch):
    served = {}

    def run_simple(host, port, application, **options):
        scheduler, coordinator = application.extensions[runner.EXTENSION_KEY]
        for _ in range(100):  # the leadership job takes the active role at once, then adds the jobs
            if coordinator.active:
                break
            time.sleep(0.05)
        served.update(host=host, port=port, options=options, scheduler_running=scheduler.running,
                      jobs=sorted(job.id for job in scheduler.get_jobs()))
        served["scheduler"] = scheduler

    monkeypatch.setattr(cli, "run_simple", run_simple)
    result = fresh_app.test_cli_runner().invoke(args=["demo", "--host", "127.0.0.1", "--port", "5077"])
    assert result.exit_code == 0, result.output
    scheduler = served.pop("scheduler")
    assert served == {"host": "127.0.0.1", "port": 5077, "scheduler_running": True,
                      "jobs": sorted([runner.LEADERSHIP_JOB, *(job.id for job in runner.schedule(fresh_app))]),
                      "options": {"threaded": True, "use_reloader": False, "use_debugger": False}}
    assert not scheduler.running and runner.EXTENSION_KEY not in fresh_app.extensions  # stopped with the server
    assert "http://127.0.0.1:5077/" in result.output and "admin@zhelu.example" in result.output
    with fresh_app.app_context():
        assert demo.is_loaded()


def test_demo_run_again_keeps_the_data(fresh_app, monkeypatch):
    monkeypatch.setattr(cli, "run_simple", lambda *args, **kwargs: None)
    runner_ = fresh_app.test_cli_runner()
    assert runner_.invoke(args=["demo"]).exit_code == 0
    again = runner_.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output


# --- real servers ---

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(tmp_path) -> dict[str, str]:
    return {**os.environ, "CAREAPP_INSTANCE_PATH": str(tmp_path / "instance"),
            "CAREAPP_DATABASE_URL": "sqlite:///" + str(tmp_path / "served.db"), "PYTHONUNBUFFERED": "1"}


def wait_until_served(process: subprocess.Popen, url: str) -> requests.Response:
    deadline = time.monotonic() + START_UP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during start-up"
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url} within {START_UP_SECONDS} s")


@pytest.mark.slow
def test_serve_runs_gunicorn_workers_that_answer(tmp_path):
    env = server_env(tmp_path)
    careapp = [sys.executable, "-m", "careapp"]
    migrated = subprocess.run([*careapp, "init-db"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen([*careapp, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            first = wait_until_served(server, f"http://127.0.0.1:{port}{PUBLIC_PAGES[0]}")
            answers = [first] + [requests.get(f"http://127.0.0.1:{port}{page}", timeout=5) for page in PUBLIC_PAGES[1:]]
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert [answer.status_code for answer in answers] == [200] * len(PUBLIC_PAGES)
    text = log.read_text()
    assert text.count("Booting worker") == 2, text


@pytest.mark.slow
def test_demo_quick_start_serves_the_demo_and_stops_cleanly(tmp_path):
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "careapp", "demo", "--port", str(port)],
                                  env=server_env(tmp_path), stdout=out, stderr=subprocess.STDOUT)
        try:
            answer = wait_until_served(server, f"http://127.0.0.1:{port}{PUBLIC_PAGES[0]}")
        finally:
            server.send_signal(signal.SIGINT)  # Ctrl+C
            code = server.wait(timeout=30)
    assert answer.status_code == 200
    assert code == 0, log.read_text()
    text = log.read_text()
    assert "Loaded the demo district 赭麓街道" in text and "Traceback" not in text


def test_a_server_worker_compiles_every_template_before_its_first_request(app, monkeypatch):
    """``careapp serve``'s workers compile the templates while they start (careapp.server.compile_templates),
    so no user's request waits for a page's first compilation in that worker."""
    folder = Path(app.root_path).parent / "templates"
    on_disk = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.suffix in (".html", ".svg"))
    assert compile_templates(app) == len(on_disk) > 80

    def not_again(*args, **kwargs):
        raise AssertionError("a template was read again after the worker compiled it")

    monkeypatch.setattr(app.jinja_env.loader, "get_source", not_again)
    for name in on_disk:
        app.jinja_env.get_template(name)
