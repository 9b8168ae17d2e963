"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

Each test upgrades a database of its own: the session's shared test database
is already migrated and other tests use it.
"""
from __future__ import annotations

import os
import uuid
from datetime import date, datetime, timedelta, timezone
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from careapp import create_app
from careapp.cli import schema_revisions
from careapp.config import database_url
from careapp.core.db import db
from tests.conftest import base_config

POSTGRESQL_URL = database_url(os.environ.get("CAREAPP_TEST_DATABASE_URL", ""))
ON_POSTGRESQL = POSTGRESQL_URL.startswith("postgresql")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not ON_POSTGRESQL, reason="set CAREAPP_TEST_DATABASE_URL=postgresql://... to check PostgreSQL"))])
def empty_database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    yield from _scratch_postgresql_database()


def _scratch_postgresql_database() -> Iterator[str]:
    """A database of its own, created and dropped around the test (CREATE DATABASE needs autocommit)."""
    name = f"careapp_migrations_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(POSTGRESQL_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRESQL_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture
def migrations_app(empty_database, tmp_path):
    app = create_app(base_config(empty_database), instance_path=str(tmp_path / "instance"))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_build_the_schema_of_the_models(migrations_app):
    upgrade()
    assert schema_differences() == []


def test_there_is_one_line_of_migrations_and_upgrade_reaches_its_head(migrations_app):
    upgrade()
    current, newest = schema_revisions()
    assert len(newest) == 1 and current == newest


def test_downgrade_to_base_removes_every_table_and_upgrade_rebuilds_them(migrations_app):
    upgrade()
    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert schema_differences() == []


def test_control_the_comparison_notices_a_schema_that_differs(migrations_app):
    upgrade()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_slot_starts_at")
    assert [difference[0] for difference in schema_differences()] == ["add_index"]


def test_the_slot_tallies_migration_counts_the_bookings_already_there(migrations_app):
    """Slots made before the engine kept tallies get them counted from their bookings."""
    upgrade(revision="3516d5d3e115")
    now = datetime(2026, 11, 1, 1, tzinfo=timezone.utc)
    later = now + timedelta(days=1)
    rows = [
        ("community", {"id": 1, "name": "社区"}), ("grid", {"id": 1, "community_id": 1, "name": "网格"}),
        ("building", {"id": 1, "grid_id": 1, "name": "1栋", "address": "", "latitude": 31.3, "longitude": 118.3}),
        ("household", {"id": 1, "name": "家", "building_id": 1, "created_at": now}),
        ("partner_organisation", {"id": 1, "name": "中心", "kind": "elderly_care_centre", "approved": True,
                                  "created_at": now}),
        ("service_point", {"id": 1, "partner_id": 1, "name": "点", "address": "", "latitude": 31.3,
                           "longitude": 118.3}),
        ("service", {"id": 1, "partner_id": 1, "service_point_id": 1, "kind": "daycare", "name": "日托",
                     "default_capacity": 5, "fill_policy": "auto", "offer_hours": 24, "active": True}),
        ("slot", {"id": 1, "service_id": 1, "starts_at": now, "ends_at": later, "capacity": 5, "status": "open",
                  "created_at": now}),
    ]
    statuses = ["confirmed", "checked_in", "checked_out", "no_show", "waitlisted", "cancelled", "offered"]
    rows += [("care_recipient", {"id": i + 1, "household_id": 1, "kind": "elder", "name": f"老人{i}",
                                 "birth_date": date(1950, 1, 1), "created_at": now}) for i in range(len(statuses))]
    rows += [("booking", {"id": i + 1, "slot_id": 1, "recipient_id": i + 1, "status": status, "created_at": now,
                          "updated_at": now, "waitlist_order": i if status == "waitlisted" else None})
             for i, status in enumerate(statuses)]
    tables = sa.MetaData()
    tables.reflect(db.engine)
    with db.engine.begin() as connection:
        for table, values in rows:
            connection.execute(sa.insert(tables.tables[table]), values)
    upgrade()
    with db.engine.connect() as connection:
        tallies = connection.exec_driver_sql(
            "SELECT booked_count, attended_count, no_show_count FROM slot WHERE id = 1").one()
    assert tuple(tallies) == (4, 2, 1)
