"""`careapp backup` and `careapp restore`: a populated database comes back table for table, row for row, on
the engine the suite runs on; and every mistake an operator can make is refused with a message, changing
nothing.

The source is the suite's own database; each restore goes into a database of its own, emptied before each test
(a SQLite file, or a scratch PostgreSQL database created and dropped around the module).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from careapp import create_app, demo
from careapp.accounts.models import Role, User
from careapp.accounts.services import issue_token
from careapp.booking import engine as booking_engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.backup import BackupRefused, libpq_environment
from careapp.core.db import db
from careapp.district.models import Community
from careapp.district.services import add_community
from careapp.family.calendar import make_feed_link
from careapp.notifications.templates import partner_templates, save_template
from careapp.scheduler import runner
from careapp.scheduler.leadership import leadership_for
from tests.conftest import base_config
from tests.factories import make_user


def run(app, *args: str):
    """The command as `careapp ...` runs it against ``app``'s database."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def run_ok(app, *args: str):
    """The command as :func:`run` runs it, which must succeed (its output is the failure's message)."""
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    return result


def refused(result, message: str) -> bool:
    """Failed with a message and a non-zero exit, not a traceback."""
    return (result.exit_code != 0 and isinstance(result.exception, SystemExit)
            and message in result.output and "Traceback" not in result.output)


# --- the databases ---

ON_POSTGRESQL = os.environ.get("CAREAPP_TEST_DATABASE_URL", "").startswith("postgres")
postgresql_only = pytest.mark.skipif(not ON_POSTGRESQL,
                                     reason="set CAREAPP_TEST_DATABASE_URL=postgresql://... to check PostgreSQL")
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="a SQLite file only")


@pytest.fixture(scope="module")
def target_app(database, tmp_path_factory) -> Iterator:
    """An app on a database of its own, for the whole module: a scratch PostgreSQL database (created once, since
    each DROP DATABASE forces a checkpoint of the whole server) or a SQLite file."""
    instance = str(tmp_path_factory.mktemp("target-instance"))
    if ON_POSTGRESQL:
        with scratch_postgresql_database(make_url(database)) as url:
            yield create_app(base_config(url), instance_path=instance)
    else:
        folder = tmp_path_factory.mktemp("restored")
        yield create_app(base_config("sqlite:///" + str(folder / "restored.db")), instance_path=instance)


@pytest.fixture
def target(app, target_app) -> Iterator:
    """The app on an empty database of the suite's engine: where a backup is restored."""
    with target_app.app_context():
        url = db.engine.url
        db.engine.dispose()
    empty_database(url)
    yield target_app
    with target_app.app_context():
        db.session.remove()
        db.engine.dispose()


def empty_database(url: sa.URL) -> None:
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@contextmanager
def scratch_postgresql_database(suite_url: sa.URL) -> Iterator[str]:
    name = f"careapp_backup_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(suite_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield suite_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


def engine_of(app) -> sa.Engine:
    with app.app_context():
        return db.engine


def table_rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every table the database has (Alembic's too), all rows and columns, ordered by primary key."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as connection:
        return {name: [tuple(row) for row in connection.execute(
                    sa.select(table).order_by(*(table.primary_key.columns or table.columns)))]
                for name, table in meta.tables.items()}


def sequence_values(engine: sa.Engine) -> dict[str, int | None]:
    """Where each PostgreSQL id sequence stands: a restored database must not hand out an id again."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as connection:
        return dict(connection.exec_driver_sql(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()").all())


# --- the data ---

def populate(app, now) -> None:
    """The demo district, and through the rules what the demo leaves empty: an API token, a calendar link, a
    partner's own wording, a cancellation that hands the place on (notifications and their e-mails waiting
    to go), a run of each scheduled job and the scheduler's lease."""
    demo.load(now)
    users = {user.login: user for user in db.session.scalars(sa.select(User))}
    family, zhao = users["family@zhelu.example"], users["zhao@zhelu.example"]
    manager = users["pukang.manager@zhelu.example"]
    issue_token(family, now=now)
    make_feed_link(family.household_id, by=family, now=now)
    wording = partner_templates(manager.partner_id)[0]
    save_template(manager.partner_id, wording.service_kind, wording.topic, "zh_CN", "提醒：{member}",
                  "{member} 明天来日托。", by=manager, now=now)
    app.config["MAIL_SERVER"] = "smtp.invalid"  # e-mails are queued (deliveries), never sent: no job sends them
    # 赵长林's full-day place, which goes to 王秀英, first on its waitlist (the demo's walk-through).
    full_day = db.session.scalars(
        sa.select(Booking).where(Booking.status == BookingStatus.confirmed,
                                 Booking.recipient.has(household_id=zhao.household_id))
        .order_by(Booking.id)).first()
    booking_engine.cancel(full_day.id, by=zhao, now=now)
    for job in runner.schedule(app):
        if job.id != "send_notifications":
            runner.run_job(app, job)
    leadership = leadership_for(app, "test_backup")
    assert leadership.try_acquire(now)
    leadership.release(now)
    db.session.remove()


@pytest.fixture
def populated(app, clock) -> dict[str, list[tuple]]:
    populate(app, clock.now())
    return table_rows(db.engine)


@pytest.fixture
def small(app, clock) -> None:
    """A database with a little in it, for the refusals."""
    admin = make_user(Role.admin, clock.now(), login="admin@zhelu.example")
    add_community(name="旭日天都社区", by=admin, now=clock.now())
    db.session.remove()


# --- the round trip ---

def test_a_populated_database_comes_back_table_for_table(app, populated, target, tmp_path):
    empty = sorted(name for name, rows in populated.items() if not rows)
    assert len(populated) >= len(db.metadata.sorted_tables) + 1  # every model's table and alembic_version
    assert len(empty) <= len(populated) // 10, f"tables left empty by the populating: {empty}"
    backup = tmp_path / "careapp.backup"

    made = run(app, "backup", str(backup))
    assert made.exit_code == 0, made.output
    assert f"to {backup}" in made.output and "schema" in made.output
    assert backup.read_bytes().startswith(b"PGDMP" if ON_POSTGRESQL else b"SQLite format 3\x00")
    assert backup.stat().st_mode & 0o077 == 0  # residents' data: readable by the owner only
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left

    restored = run(target, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert "newest schema" in restored.output

    again = table_rows(engine_of(target))
    assert sorted(again) == sorted(populated)
    for name, rows in populated.items():
        assert again[name] == rows, f"table {name} differs after the restore"
    assert sequence_values(engine_of(target)) == sequence_values(db.engine)


def test_a_backup_is_consistent_while_careapp_writes(app, small, target, tmp_path):
    """Taken while another transaction is writing: the backup neither waits for it nor holds half of it."""
    backup = tmp_path / "online.backup"
    with db.engine.connect() as writer:
        writer.begin()
        writer.execute(sa.insert(Community.__table__).values(name="车站社区"))
        made = run(app, "backup", str(backup))
        writer.rollback()
    assert made.exit_code == 0, made.output
    run_ok(target, "restore", str(backup))
    with engine_of(target).connect() as connection:
        assert connection.execute(sa.select(Community.__table__.c.name)).scalars().all() == ["旭日天都社区"]


def test_replace_swaps_a_database_for_the_backup(app, clock, small, target, tmp_path):
    backup = tmp_path / "careapp.backup"
    run_ok(app, "backup", str(backup))
    original = table_rows(db.engine)
    run_ok(target, "init-db")
    with target.app_context():
        make_user(Role.admin, clock.now(), login="other@zhelu.example")
        db.session.remove()

    kept = run(target, "restore", str(backup))
    assert refused(kept, "is not empty"), kept.output
    assert "--replace" in kept.output
    assert [row.login for row in _users(target)] == ["other@zhelu.example"]

    replaced = run(target, "restore", "--replace", str(backup))
    assert replaced.exit_code == 0, replaced.output
    assert table_rows(engine_of(target)) == original


def _users(app) -> list:
    with engine_of(app).connect() as connection:
        return connection.execute(sa.select(User.__table__)).all()


def test_a_damaged_backup_changes_nothing_even_with_replace(app, small, target, tmp_path):
    backup = tmp_path / "careapp.backup"
    run_ok(app, "backup", str(backup))
    run_ok(target, "restore", str(backup))
    before = table_rows(engine_of(target))
    damaged = tmp_path / "damaged.backup"
    data = bytearray(backup.read_bytes())
    middle = len(data) // 2
    if ON_POSTGRESQL:
        data[middle:middle + 2048] = bytes(range(256)) * 8  # a dump's compressed data no longer reads
    else:
        # Cut short, as a copy interrupted half-way. (Bytes overwritten inside a SQLite page may fall in a
        # row's text, which no check can tell from real data.)
        del data[middle:]
    damaged.write_bytes(data)

    result = run(target, "restore", "--replace", str(damaged))
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert "is damaged" in result.output or "cannot read" in result.output, result.output
    assert table_rows(engine_of(target)) == before


# --- the schema revision of a backup ---

@contextmanager
def schema_revision(revision: str) -> Iterator[None]:
    """The suite's database claims another schema revision for a while (put back afterwards)."""
    with db.engine.begin() as connection:
        current = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    try:
        yield
    finally:
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": current})


def migrations(app):
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_a_backup_of_an_older_schema_is_restored_with_the_advice_to_upgrade(app, small, target, tmp_path):
    older = migrations(app).get_revision(migrations(app).get_current_head()).down_revision
    backup = tmp_path / "older.backup"
    with schema_revision(older):
        run_ok(app, "backup", str(backup))
    result = run(target, "restore", str(backup))
    assert result.exit_code == 0, result.output
    assert f"older schema ({older})" in result.output and "careapp init-db" in result.output


def test_a_backup_from_a_newer_careapp_is_refused(app, small, target, tmp_path):
    backup = tmp_path / "newer.backup"
    with schema_revision("fffffffffff0"):
        run_ok(app, "backup", str(backup))
    result = run(target, "restore", str(backup))
    assert refused(result, "schema fffffffffff0, which this version of careapp does not know"), result.output
    assert sa.inspect(engine_of(target)).get_table_names() == []


# --- refusals ---

def test_a_backup_of_the_other_engine_is_refused(app, target, tmp_path):
    other = tmp_path / "other.backup"
    if ON_POSTGRESQL:
        with sqlite3.connect(other) as connection:
            connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        expected = "is a SQLite backup, and the database (CAREAPP_DATABASE_URL) is PostgreSQL"
    else:
        other.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(200))
        expected = "is a PostgreSQL backup, and the database (CAREAPP_DATABASE_URL) is SQLite"
    result = run(target, "restore", str(other))
    assert refused(result, expected), result.output


@pytest.mark.parametrize("content", [b"", b"role,login\nadmin,admin@zhelu.example\n"])
def test_a_file_that_is_not_a_backup_is_refused(target, tmp_path, content):
    path = tmp_path / "ledger.csv"
    path.write_bytes(content)
    assert refused(run(target, "restore", str(path)), "is not a careapp backup")


def test_a_missing_backup_file_is_refused(target, tmp_path):
    assert refused(run(target, "restore", str(tmp_path / "no-such.backup")), "does not exist")


def test_backup_never_overwrites_a_file_unless_told(app, small, tmp_path):
    backup = tmp_path / "careapp.backup"
    backup.write_bytes(b"last night's backup")
    result = run(app, "backup", str(backup))
    assert refused(result, "already exists"), result.output
    assert "--overwrite" in result.output
    assert backup.read_bytes() == b"last night's backup"

    run_ok(app, "backup", "--overwrite", str(backup))
    assert backup.read_bytes()[:5] in (b"SQLit", b"PGDMP")


@pytest.mark.parametrize("where, message", [
    ("no-such-folder/careapp.backup", "The folder"),
    (".", "is a directory"),
])
def test_backup_to_a_place_it_cannot_write_is_refused(app, small, tmp_path, where, message):
    result = run(app, "backup", str(tmp_path / where))
    assert refused(result, message), result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder")
def test_backup_into_a_read_only_folder_is_refused(app, small, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    assert refused(run(app, "backup", str(folder / "careapp.backup")), "Cannot write in")


def test_a_database_without_careapp_schema_is_not_backed_up(target, tmp_path):
    result = run(target, "backup", str(tmp_path / "careapp.backup"))
    assert refused(result, "no careapp schema"), result.output
    assert not (tmp_path / "careapp.backup").exists()


# --- PostgreSQL: the client programs and the connection ---

def test_the_password_goes_to_the_client_programs_by_environment(monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    url = make_url("postgresql+psycopg://care:s3cret@db.example:6543/careapp?sslmode=require")
    env = libpq_environment(url)
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"], env["PGSSLMODE"]) == (
        "db.example", "6543", "care", "s3cret", "careapp", "require")
    with pytest.raises(BackupRefused, match="'flavour'"):
        libpq_environment(make_url("postgresql+psycopg://care@db.example/careapp?flavour=x"))


@postgresql_only
def test_missing_client_programs_are_named(app, small, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run(app, "backup", str(tmp_path / "careapp.backup"))
    assert refused(result, "pg_dump is not on PATH"), result.output
    assert "postgresql-client-" in result.output


@postgresql_only
def test_client_programs_older_than_the_server_are_refused(app, small, tmp_path, monkeypatch):
    old = tmp_path / "bin" / "pg_dump"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(old.parent))
    result = run(app, "backup", str(tmp_path / "careapp.backup"))
    assert refused(result, "is version 9, older than the PostgreSQL server"), result.output
    assert not (tmp_path / "careapp.backup").exists()


@postgresql_only
def test_restore_waits_for_other_sessions_to_go(app, small, target, tmp_path):
    backup = tmp_path / "careapp.backup"
    run_ok(app, "backup", str(backup))
    with target.app_context():
        url = db.engine.url
    other = sa.create_engine(url)
    try:
        with other.connect():
            result = run(target, "restore", str(backup))
    finally:
        other.dispose()
    assert refused(result, "1 other session is connected"), result.output
    assert sa.inspect(engine_of(target)).get_table_names() == []


@postgresql_only
def test_a_session_that_is_closing_does_not_refuse_a_restore(app, small, target, tmp_path):
    """A session closing as the restore starts (as this process's own, disposed of just before it counts)
    is still listed until its server process exits: the restore waits for it to go instead of refusing."""
    backup = tmp_path / "careapp.backup"
    run_ok(app, "backup", str(backup))
    with target.app_context():
        url = db.engine.url
    closing_soon = sa.create_engine(url, poolclass=sa.pool.NullPool).connect()
    closer = threading.Timer(0.5, closing_soon.close)
    closer.start()
    try:
        run_ok(target, "restore", str(backup))
    finally:
        closer.join()
    with target.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0


@postgresql_only
def test_a_restore_that_fails_half_way_changes_nothing(app, small, target, tmp_path, monkeypatch):
    """pg_restore dies after writing part of the restore script (a bad disk, a killed process): the old
    database, already dropped inside the restore's transaction, comes back whole."""
    backup = tmp_path / "careapp.backup"
    run_ok(app, "backup", str(backup))
    run_ok(target, "restore", str(backup))
    before = table_rows(engine_of(target))
    real = shutil.which("pg_restore")
    tools = tmp_path / "bin"
    tools.mkdir()
    failing = tools / "pg_restore"
    failing.write_text(f"""#!/bin/sh
case "$*" in
  *--no-owner*) "{real}" "$@" | head -c 6000; exit 1 ;;
  *) exec "{real}" "$@" ;;
esac
""")
    failing.chmod(0o755)
    (tools / "psql").symlink_to(Path(real).with_name("psql"))
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")

    result = run(target, "restore", "--replace", str(backup))
    assert refused(result, "so nothing was changed"), result.output
    assert table_rows(engine_of(target)) == before


@postgresql_only
def test_pg_dump_gets_the_connection_by_environment_not_arguments(app, small, tmp_path, monkeypatch):
    """Arguments are visible to every user of the machine (ps); the connection, password included, is not
    among them."""
    seen = tmp_path / "seen"
    spy = tmp_path / "bin" / "pg_dump"
    spy.parent.mkdir()
    spy.write_text(f"""#!/bin/sh
if [ "$1" = "--version" ]; then echo 'pg_dump (PostgreSQL) 99.0'; exit 0; fi
echo "$@" > "{seen}.args"
env | grep '^PG' | sort > "{seen}.env"
exit 1
""")
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy.parent}{os.pathsep}{os.environ['PATH']}")
    url = db.engine.url

    result = run(app, "backup", str(tmp_path / "careapp.backup"))
    assert refused(result, "pg_dump failed"), result.output
    arguments = (tmp_path / "seen.args").read_text()
    assert arguments.startswith("--format=custom --no-password --file=")
    assert url.database not in arguments.replace(str(tmp_path), "")
    environment = (tmp_path / "seen.env").read_text().splitlines()
    assert f"PGDATABASE={url.database}" in environment
    assert f"PGHOST={url.host}" in environment


@sqlite_only
def test_backup_onto_the_database_file_itself_is_refused(app, small, tmp_path):
    live = Path(db.engine.url.database)
    result = run(app, "backup", "--overwrite", str(live))
    assert refused(result, "is the database itself"), result.output
    assert refused(run(app, "restore", "--replace", str(live)), "is the database itself")


@sqlite_only
def test_the_database_itself_is_refused_before_anything_opens_it(app, small, monkeypatch):
    """Closing any descriptor of a SQLite file drops locks this process holds on it, which SQLite documents as a
    way to corrupt a database (it did: the session's database, while scheduler processes wrote to it). So
    restoring onto the database itself is refused before the file is opened to read its header."""
    import builtins

    live = Path(db.engine.url.database).resolve()
    real_open, real_connect = builtins.open, sqlite3.connect

    def guarded_open(file, *args, **kwargs):
        assert not (isinstance(file, (str, Path)) and Path(file).resolve() == live), "the live database was opened"
        return real_open(file, *args, **kwargs)

    def guarded_connect(database, *args, **kwargs):
        assert str(live) not in str(database), "the live database was opened"
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(sqlite3, "connect", guarded_connect)
    result = run(app, "restore", "--replace", str(live))
    monkeypatch.undo()
    assert refused(result, "is the database itself"), result.output
