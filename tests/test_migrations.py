"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

Each test upgrades a database of its own: the session's shared test database
is already migrated and other tests use it.
"""
from __future__ import annotations

import os
import uuid
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
