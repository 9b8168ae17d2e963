"""Test fixtures: a real database (SQLite by default, PostgreSQL when CAREAPP_TEST_DATABASE_URL is set),
built once by the Alembic migrations and emptied after every test; a frozen clock; factories."""
from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flask.testing import FlaskClient

from careapp import create_app
from careapp.config import database_url
from careapp.core.clock import FrozenClock
from careapp.core.db import db
from careapp.extensions import limiter
from tests import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 1 December 2026, 09:00 in the sub-district.
START = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)


def test_database_url(tmp_path_factory) -> str:
    url = os.environ.get("CAREAPP_TEST_DATABASE_URL")
    if url:
        return _worker_database(database_url(url))
    # Under pytest-xdist tmp_path_factory is already one folder per worker.
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "careapp-test.db")


def _worker_database(url: str) -> str:
    """Under pytest-xdist (the suite runs on every core, see setup.cfg) each worker empties its tables after
    every test, so each needs a PostgreSQL database of its own: <name>_gw0, <name>_gw1, ... created on the
    same server when missing and kept for the next run (the schema is rebuilt by the migrations anyway)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    given = make_url(url)
    name = f"{given.database}_{worker}"
    server = sa.create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(name)s",
                                                {"name": name}).scalar()
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        server.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


def base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        # scrypt, cheaper: hashing is not what these tests test.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "SECRET_KEY": "tests-only",
        # Most tests read the English wording; tests/test_i18n.py builds apps that choose the language.
        "FIXED_LANGUAGE": "en",
    }


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> str:
    """Build the schema once with the migrations (the real path to production)."""
    url = test_database_url(tmp_path_factory)
    app = create_app(base_config(url), instance_path=str(tmp_path_factory.mktemp("instance")))
    with app.app_context():
        reset_schema()
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def reset_schema() -> None:
    """Drop every table, including Alembic's version table, so the migrations start from nothing."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    else:
        meta = sa.MetaData()
        meta.reflect(db.engine)
        meta.drop_all(db.engine)


def empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            _empty_postgresql(conn, tables)
        else:
            # Checked at commit: some tables refer to each other (a partner's approver is a user, users belong
            # to partners), so no deletion order satisfies every foreign key row by row.
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for table in tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')


_superuser: dict[str, bool] = {}


def _empty_postgresql(conn, tables: list[str]) -> None:
    """Delete every row and restart every id sequence, as TRUNCATE ... RESTART IDENTITY would, but ten times
    faster on tables this small (TRUNCATE makes new files for every table and index, each test).
    Skipping the foreign key triggers while deleting (some tables refer to each other) needs a superuser;
    any other user gets TRUNCATE."""
    url = str(conn.engine.url)
    if url not in _superuser:
        _superuser[url] = bool(conn.exec_driver_sql(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar())
    if not _superuser[url]:
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        return
    sequences = conn.exec_driver_sql("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    conn.exec_driver_sql("; ".join(f'DELETE FROM "{table}"' for table in tables))
    restarts = [f'ALTER SEQUENCE "{name}" RESTART' for (name,) in sequences]
    if restarts:
        conn.exec_driver_sql("; ".join(restarts))


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change settings (e.g. turn CSRF or rate limits on)."""
    return {}


_apps: dict[str, object] = {}


def shared_app(database: str, app_config: dict, instance_path: str):
    """One app per distinct configuration for the whole run: building the URL map for every test was
    a tenth of a second each. Each test still gets a fresh clock, config, database and app context."""
    key = repr(sorted(app_config.items()))
    if key not in _apps:
        _apps[key] = create_app({**base_config(database), "CLOCK": FrozenClock(START), **app_config},
                                instance_path=instance_path)
    return _apps[key]


@pytest.fixture
def app(database, app_config, tmp_path_factory):
    app = shared_app(database, app_config, str(tmp_path_factory.getbasetemp() / "instance"))
    app.extensions["careapp.clock"].set(START)
    saved_config = dict(app.config)
    # Flask-Limiter is one object for every app in the process: point it at this test's app.
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    if limiter.enabled:
        limiter.reset()
    with app.app_context():
        yield app
        db.session.remove()
        empty_tables()
    app.config.clear()
    app.config.update(saved_config)


@pytest.fixture
def clock(app) -> FrozenClock:
    return app.extensions["careapp.clock"]


@pytest.fixture
def world(app, clock):
    """A small district with one partner of each kind, services, slots and families (see factories.World)."""
    return factories.World.build(clock.now())


class IsolatedClient(FlaskClient):
    """Each request gets a fresh app context, so ``g`` (the logged-in user, the CSRF token) and the
    database session never leak from the test or from another client into the request."""

    def open(self, *args, **kwargs):
        # End the test's own read before and after: no lock is held while the request runs, and the test
        # then sees what the request wrote (SQLite keeps one snapshot per read transaction).
        db.session.rollback()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.rollback()
        return response


@pytest.fixture
def client(app) -> IsolatedClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def other_client(app) -> IsolatedClient:
    """A second browser, for a second user at the same time."""
    app.test_client_class = IsolatedClient
    return app.test_client()
