"""The ``careapp`` command (also ``flask --app careapp ...``).

    careapp init-db        create or upgrade the schema (run before `serve`)
    careapp users create   make an account (the operator, so no role check)
    careapp import-district FILE   add or update communities, grids and buildings from the grid ledger
    careapp load-demo      fill an empty database with the demo district
    careapp demo           all of the above on SQLite, then serve with the scheduler
    careapp bench-data     fill an empty database with a generated district or city (benchmarks)
    careapp serve          production: gunicorn with several workers, no scheduler
    careapp scheduler      production: the one process that runs the scheduled jobs
    careapp backup FILE    back up the database while careapp runs (docs/operations.md)
    careapp restore FILE   restore a backup into an empty database (or any, with --replace)

Every command answers bad input and an unusable database with a message and
a non-zero exit, never a traceback.
"""
from __future__ import annotations

import functools
import os
from typing import Callable

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy.exc import OperationalError
from werkzeug.serving import run_simple

from careapp import demo
from careapp.accounts.models import Role
from careapp.benchdata import SCALES
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import CareappError


def register_commands(app: Flask) -> None:
    # Imported here: careapp.core.backup uses this module's shared checks.
    from careapp.core.backup import backup_command, restore_command

    for command in (init_db, users, import_district_command, load_demo_command, demo_command, serve_command,
                    scheduler_command, bench_data_command, backup_command, restore_command):
        app.cli.add_command(command)


# --- shared checks ---

def reports_database_errors(command: Callable) -> Callable:
    """Turn "cannot connect" and "database is locked" into a message instead of a traceback."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OperationalError as error:
            raise click.ClickException(
                f"The database cannot be used: {str(error.orig).strip()}\n"
                "Check CAREAPP_DATABASE_URL and that the database server is running.") from None
    return run


def schema_revisions() -> tuple[set[str], set[str]]:
    """The Alembic revisions the database is at, and the newest ones in migrations/."""
    config = current_app.extensions["migrate"].migrate.get_config()
    newest = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, newest


def require_migrated_schema() -> None:
    current, newest = schema_revisions()
    if current != newest:
        state = "is empty" if not current else "is at an older schema"
        raise click.ClickException(f"The database {state}; run `careapp init-db` first.")


# --- schema and accounts ---

@click.command("init-db")
@with_appcontext
@reports_database_errors
def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    upgrade()
    click.echo("Database is at the newest schema.")


@click.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--login", required=True, help="Mobile number or e-mail address.")
@click.option("--password", required=True)
@click.option("--partner", "partner_id", type=int, help="Partner id (partner staff and managers).")
@click.option("--household", "household_id", type=int, help="Household id (family accounts).")
@click.option("--name", default="")
@click.option("--email", default=None)
@with_appcontext
@reports_database_errors
def create_user_command(role: str, login: str, password: str, partner_id: int | None, household_id: int | None,
                        name: str, email: str | None) -> None:
    """Create an account (run by the operator, so no role check)."""
    from careapp.accounts.services import create_user

    require_migrated_schema()
    try:
        user = create_user(by=None, now=now(), role=Role(role), login=login, password=password,
                           name=name or login, email=email, partner_id=partner_id, household_id=household_id)
    except CareappError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.role.value} account {user.login} (id {user.id}).")


@click.command("import-district")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@with_appcontext
@reports_database_errors
def import_district_command(path: str) -> None:
    """Add or update communities, grids and buildings from the grid ledger (.xlsx or .csv; docs/district-import.md).
    A file with any bad row imports nothing: its rows are listed and the exit status is 1."""
    from careapp.district.importer import LedgerRefused, import_ledger

    require_migrated_schema()
    limit = current_app.config["IMPORT_MAX_BYTES"]
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise click.ClickException(f"The file is larger than {limit // 2**20} MB: split it, or raise "
                                   "CAREAPP_IMPORT_MAX_MB.")
    try:
        result = import_ledger(os.path.basename(path), data, by=None, now=now(), max_bytes=limit)
    except LedgerRefused as refusal:
        for error in refusal.errors:
            click.echo(str(error), err=True)
        if refusal.more:
            click.echo(f"... and {refusal.more} more.", err=True)
        raise click.ClickException(refusal.message) from None
    except CareappError as error:
        raise click.ClickException(error.message) from None
    click.echo(result.summary())


# --- the demo ---

@click.command("load-demo")
@with_appcontext
@reports_database_errors
def load_demo_command() -> None:
    """Load the demo district (赭麓街道) into an empty database; running it again changes nothing."""
    require_migrated_schema()
    load_demo_and_report()


def load_demo_and_report() -> None:
    try:
        loaded = demo.load(now())
    except CareappError as error:
        raise click.ClickException(error.message) from None
    if loaded:
        counts = ", ".join(f"{count} {label}" for label, count in demo.summary().items())
        click.echo(f"Loaded the demo district {demo.SUB_DISTRICT}: {counts}.")
    else:
        click.echo("The demo is already loaded; nothing changed.")
    echo_demo_logins()


def echo_demo_logins() -> None:
    header = ("role", "login", "password", "who")
    rows = [header] + [(d.role.value, d.login, d.password, d.name) for d in demo.logins()]
    # The last column is Chinese (double-width), so only the columns before it are padded.
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    click.echo("\nDemo logins:")
    for row in rows:
        click.echo("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
@reports_database_errors
def demo_command(host: str, port: int) -> None:
    """Try careapp: migrate the database, load the demo and serve it with its scheduler."""
    from careapp.scheduler import runner

    app = current_app._get_current_object()
    upgrade()
    load_demo_and_report()
    # The server's threads open their own sessions; do not hold this command's one for hours.
    db.session.remove()
    app.config["RUN_SCHEDULER"] = True
    runner.start_in_process(app)
    click.echo(f"\ncareapp demo on http://{host}:{port}/ (Ctrl+C stops it)")
    try:
        # Threaded so slow requests do not queue; no reloader or debugger (the
        # reloader would start a second scheduler, the debugger runs code from the browser).
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        runner.stop_in_process(app)


# --- benchmarks ---

@click.command("bench-data")
@click.option("--scale", "scale_name", type=click.Choice(list(SCALES)), required=True,
              help="district: 30,000 residents, about 500,000 bookings; city: ten times that; tiny: for tests.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same data.")
@click.option("--now", "at", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]), default=None,
              help="Local time the data is generated as of (default: the clock); pin it to repeat a run exactly.")
@with_appcontext
@reports_database_errors
def bench_data_command(scale_name: str, seed: int, at) -> None:
    """Fill an empty, migrated database with a generated population for benchmarks (docs/bench-data.md)."""
    from careapp import benchdata
    from careapp.benchdata.generate import generate
    from careapp.core.timefmt import zone

    require_migrated_schema()
    moment = now() if at is None else at.replace(tzinfo=zone())
    try:
        made = generate(SCALES[scale_name], seed=seed, now=moment)
    except CareappError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Generated the {scale_name} scale (seed {seed}, as of {moment.astimezone(zone()):%Y-%m-%d %H:%M}) "
               f"in {made.seconds:.1f} s:")
    for line in made.lines():
        click.echo(line)
    click.echo(f"Every account's password is {benchdata.BENCH_PASSWORD}: e.g. {benchdata.family_login(1)}, "
               f"{benchdata.partner_manager_login(1)}, {benchdata.ADMIN_LOGIN}.")


# --- production ---

@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes  [default: 2 × CPU cores + 1]")
@with_appcontext
@reports_database_errors
def serve_command(bind: str, workers: int | None) -> None:
    """Serve careapp with gunicorn (production). Migrate the schema first: `careapp init-db`."""
    from careapp.server import CareappServer, default_workers

    require_migrated_schema()
    # Close the check's connection before gunicorn forks, so no worker inherits it.
    db.engine.dispose()
    CareappServer({"bind": bind, "workers": workers or default_workers(), "proc_name": "careapp"}).run()


@click.command("scheduler")
@with_appcontext
@reports_database_errors
def scheduler_command() -> None:
    """Run the scheduled jobs (production): one process; a second one waits as a standby."""
    import logging

    from careapp.scheduler import runner

    require_migrated_schema()
    app = current_app._get_current_object()
    db.session.remove()
    db.engine.dispose()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    runner.run_dedicated(app)


def _create_app(*args, **kwargs):
    from careapp import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="careapp: care-slot scheduling for elders and young children.")
