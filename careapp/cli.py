"""The ``careapp`` command (also ``flask --app careapp ...``)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup
from flask_migrate import upgrade

from careapp.accounts.models import Role
from careapp.core.clock import now
from careapp.core.errors import CareappError


def register_commands(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(users)


@click.command("init-db")
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
def create_user_command(role, login, password, partner_id, household_id, name, email) -> None:
    """Create an account (run by the operator, so no role check)."""
    from careapp.accounts.services import create_user

    try:
        user = create_user(by=None, now=now(), role=Role(role), login=login, password=password,
                           name=name or login, email=email, partner_id=partner_id, household_id=household_id)
    except CareappError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.role.value} account {user.login} (id {user.id}).")


def _create_app(*args, **kwargs):
    from careapp import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="careapp: care-slot scheduling for elders and young children.")
