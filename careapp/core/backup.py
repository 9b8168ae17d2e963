"""`careapp backup FILE` and `careapp restore FILE`: the database in the engine's own format (docs/operations.md).

- SQLite: SQLite's online backup API copies the database in one read transaction, so the copy is consistent
  while careapp keeps writing (WAL: readers never wait for writers). Restoring goes the other way through
  the same API, as the sqlite3 shell's ``.restore`` does: one write transaction on the live file, atomic for
  every connection, with no stray ``-wal`` file left to be replayed over a renamed-in copy.
- PostgreSQL: ``pg_dump --format=custom`` takes a consistent snapshot while careapp runs. Restoring runs the
  archive, as SQL from ``pg_restore``, through ``psql`` inside one transaction of ours that is committed only
  when pg_restore read the whole archive: a failed or interrupted restore changes nothing, and ``--replace``
  empties the schema in that same transaction. The connection comes from CAREAPP_DATABASE_URL through
  PG* environment variables, so the password never appears on a command line.

Each backup file starts with its engine's own header ("SQLite format 3\\0" or "PGDMP"), which is how a
restore tells them apart. A backup is written to a private temporary file beside FILE, checked, and only
then renamed to FILE, so FILE is always either absent, the old backup or the whole new one.

These messages are for the operator at the command line, so, like the rest of the CLI, English only.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, closing
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from flask import current_app
from flask.cli import with_appcontext

from careapp.cli import reports_database_errors
from careapp.core.db import LOCK_TIMEOUT_SECONDS, db

SQLITE_HEADER = b"SQLite format 3\x00"
POSTGRESQL_HEADER = b"PGDMP"
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# How long a PostgreSQL restore waits for other sessions' locks before it gives up, changing nothing.
RESTORE_LOCK_TIMEOUT = "30s"
# How long a restore waits for sessions that are closing to leave before it counts them as connected.
SESSIONS_CLOSING_SECONDS = 3.0
# A backup file is only read, and nothing writes it meanwhile: no locks, and no -wal or -shm file made beside
# it (a plain copy of a database in WAL mode would otherwise get both).
READ_BACKUP = "mode=ro&immutable=1"
# libpq's connection parameters that a database URL may carry in its query, and the variables that carry
# them to pg_dump, pg_restore and psql (https://www.postgresql.org/docs/current/libpq-envars.html).
LIBPQ_VARIABLES = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
    "dbname": "PGDATABASE", "passfile": "PGPASSFILE", "service": "PGSERVICE", "options": "PGOPTIONS",
    "application_name": "PGAPPNAME", "connect_timeout": "PGCONNECT_TIMEOUT", "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR", "sslsni": "PGSSLSNI", "requirepeer": "PGREQUIREPEER",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION", "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE", "krbsrvname": "PGKRBSRVNAME", "gsslib": "PGGSSLIB",
    "channel_binding": "PGCHANNELBINDING", "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS", "client_encoding": "PGCLIENTENCODING",
}


class BackupRefused(Exception):
    """A backup or restore that cannot be done as asked; the message says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore did, in lines for the operator."""
    lines: tuple[str, ...]


# --- backup ---

def backup_database(engine: sa.Engine, path: Path, *, overwrite: bool = False) -> Outcome:
    kind = engine_kind(engine)
    _check_destination(path, overwrite=overwrite)
    revision = database_revision(engine)
    if revision is None:
        raise BackupRefused("The database has no careapp schema (no alembic_version table), so there is nothing "
                            "to back up. Check CAREAPP_DATABASE_URL.")
    if kind == "sqlite" and _same_file(path, _sqlite_path(engine)):
        raise BackupRefused(f"{path} is the database itself: write the backup to another file.")
    with _staged(path) as staging:
        if kind == "sqlite":
            _sqlite_backup(_sqlite_path(engine), staging)
        else:
            _pg_dump(engine, staging)
    size = path.stat().st_size
    return Outcome((f"Backed up the {ENGINE_NAMES[kind]} database {_describe(engine)} (schema {revision}) "
                    f"to {path} ({_megabytes(size)}).",))


def _check_destination(path: Path, *, overwrite: bool) -> None:
    if path.is_dir():
        raise BackupRefused(f"{path} is a folder: give the backup a file name, e.g. {path / 'careapp.backup'}.")
    if path.exists() and not overwrite:
        raise BackupRefused(f"{path} already exists. Choose a new name, or add --overwrite to replace it "
                            "(it is replaced only once the new backup is complete).")
    if not path.parent.is_dir():
        raise BackupRefused(f"The folder {path.parent} does not exist.")


@contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A private (mode 600) temporary file beside ``path``, renamed to it when the block succeeds and
    flushed to disk, or removed when it fails: ``path`` never holds half a backup."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as error:
        raise BackupRefused(f"Cannot write in {path.parent}: {error.strerror}.") from None
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        _fsync(staging)
        os.replace(staging, path)
        _fsync(path.parent)
    except OSError as error:
        raise BackupRefused(f"Cannot write {path}: {error.strerror}.") from None
    finally:
        staging.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sqlite_backup(source_path: Path, staging: Path) -> None:
    if not source_path.is_file():
        raise BackupRefused(f"The database file {source_path} does not exist. Check CAREAPP_DATABASE_URL.")
    # mode=rw: never create an empty database where the wrong path was given.
    with closing(_connect_sqlite(source_path, "mode=rw")) as source, closing(sqlite3.connect(staging)) as copy:
        # In one step (pages=-1): one read transaction, so a consistent snapshot that writers do not wait for.
        # In several steps, each write by careapp in between would restart the copy.
        _sqlite_call(lambda: source.backup(copy), "back up", source_path)
        # One self-contained file: the copy needs no -wal file beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite_file(copy, staging)


# --- restore ---

def restore_database(engine: sa.Engine, path: Path, migrations: ScriptDirectory, *,
                     replace: bool = False) -> Outcome:
    kind = engine_kind(engine)
    # Before anything opens the file: closing any descriptor of a SQLite database in this process drops the
    # POSIX locks every connection of the process holds on it, and a writer elsewhere can then corrupt it.
    if kind == "sqlite" and _same_file(path, _sqlite_path(engine)):
        raise BackupRefused(f"{path} is the database itself, not a backup of it.")
    found = backup_kind(path)
    if found != kind:
        raise BackupRefused(
            f"{path} is a {ENGINE_NAMES[found]} backup, and the database (CAREAPP_DATABASE_URL) is "
            f"{ENGINE_NAMES[kind]}: a backup is restored only into the kind of database it was taken from.")
    revision = (_sqlite_backup_revision(path) if kind == "sqlite" else _pg_backup_revision(engine, path))
    _check_known(revision, path, migrations)
    _check_replaceable(engine, replace=replace)
    if kind == "sqlite":
        _sqlite_restore(path, _sqlite_path(engine))
    else:
        _pg_restore(engine, path, replace=replace)
    engine.dispose()  # the next connection sees the restored database from its start
    restored = database_revision(engine)
    if restored != revision:
        raise BackupRefused(f"The restore ran, but the database reads schema {restored}, not the backup's "
                            f"{revision}. Restore again into an empty database.")
    done = f"Restored {path} into the {ENGINE_NAMES[kind]} database {_describe(engine)}."
    return Outcome((done, *_schema_advice(revision, migrations)))


def backup_kind(path: Path) -> str:
    """"sqlite" or "postgresql", from the file's first bytes."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except IsADirectoryError:
        raise BackupRefused(f"{path} is a folder, not a backup file.") from None
    except OSError as error:
        raise BackupRefused(f"Cannot read {path}: {error.strerror}.") from None
    if header.startswith(SQLITE_HEADER):
        return "sqlite"
    if header.startswith(POSTGRESQL_HEADER):
        return "postgresql"
    raise BackupRefused(f"{path} is not a careapp backup: it is neither a SQLite database nor a PostgreSQL "
                        "custom-format dump (pg_dump --format=custom).")


def _check_known(revision: str | None, path: Path, migrations: ScriptDirectory) -> None:
    if revision is None:
        raise BackupRefused(f"{path} is not a careapp backup: it has no schema revision (alembic_version).")
    try:
        migrations.get_revision(revision)
    except CommandError:
        raise BackupRefused(
            f"{path} is at schema {revision}, which this version of careapp does not know: it was taken with a "
            "newer careapp. Restore it with that version, or restore a backup taken with this one.") from None


def _check_replaceable(engine: sa.Engine, *, replace: bool) -> None:
    tables = sa.inspect(engine).get_table_names()
    if tables and not replace:
        raise BackupRefused(
            f"The database {_describe(engine)} is not empty (it has {len(tables)} tables). Restore into an empty "
            "database, or add --replace to replace everything in it with the backup.")


def _schema_advice(revision: str, migrations: ScriptDirectory) -> tuple[str, ...]:
    heads = set(migrations.get_heads())
    if {revision} == heads:
        return (f"The restored database is at this careapp's newest schema ({revision}); careapp can serve it.",)
    return (f"The backup is at an older schema ({revision}) than this careapp ({', '.join(sorted(heads))}): "
            "run `careapp init-db` to upgrade it before `careapp serve` and `careapp scheduler`.",)


def _sqlite_restore(path: Path, target: Path) -> None:
    if not target.parent.is_dir():
        raise BackupRefused(f"The folder {target.parent} of the database file does not exist. "
                            "Check CAREAPP_DATABASE_URL.")
    with closing(_connect_sqlite(path, READ_BACKUP)) as backup:
        _check_sqlite_file(backup, path)
        try:
            live = sqlite3.connect(target, timeout=LOCK_TIMEOUT_SECONDS)
        except sqlite3.Error as error:
            raise BackupRefused(f"Cannot open the database file {target}: {error}.") from None
        with closing(live):
            # One write transaction on the live database: every connection sees the old or the restored one.
            _sqlite_call(lambda: backup.backup(live), "restore into", target)


def _sqlite_backup_revision(path: Path) -> str | None:
    with closing(_connect_sqlite(path, READ_BACKUP)) as backup:
        try:
            if not backup.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                                  ).fetchone():
                return None
            row = backup.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupRefused(f"{path} is damaged: {error}.") from None
    return row[0] if row else None


# --- SQLite helpers ---

def _sqlite_path(engine: sa.Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupRefused("The database is not a SQLite file (CAREAPP_DATABASE_URL), so careapp cannot back "
                            "it up or restore it.")
    return Path(name).resolve()


def _same_file(path: Path, database: Path) -> bool:
    """``path`` is the database file or one of SQLite's files beside it."""
    return path.resolve() in {database, database.with_name(database.name + "-wal"),
                              database.with_name(database.name + "-shm")}


def _connect_sqlite(path: Path, options: str) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True,
                                     timeout=LOCK_TIMEOUT_SECONDS)
    except sqlite3.Error as error:
        raise BackupRefused(f"Cannot open {path}: {error}.") from None
    return connection


def _sqlite_call(call, doing: str, path: Path) -> None:
    try:
        call()
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise BackupRefused(f"Could not {doing} {path}: another process kept it locked for "
                                f"{LOCK_TIMEOUT_SECONDS} s. Try again, or stop careapp first.") from None
        raise BackupRefused(f"Could not {doing} {path}: {error}.") from None
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"Could not {doing} {path}: {error}.") from None


def _check_sqlite_file(connection: sqlite3.Connection, path: Path) -> None:
    try:
        verdict = "\n".join(row[0] for row in connection.execute("PRAGMA quick_check(3)").fetchall())
    except sqlite3.DatabaseError as error:
        verdict = str(error)
    if verdict != "ok":
        problems = "; ".join(line.strip() for line in verdict.splitlines()[:3])
        raise BackupRefused(f"{path} is damaged: {problems}.")


# --- PostgreSQL helpers ---

def _tools(engine: sa.Engine, *names: str) -> dict[str, str]:
    """The PostgreSQL client programs on PATH, refused when missing or older than the server."""
    server = _server_major(engine)
    found = {}
    for name in names:
        # psql from the same installation as pg_restore: it must understand what pg_restore writes.
        sibling = Path(found["pg_restore"]).with_name(name) if name == "psql" and "pg_restore" in found else None
        program = str(sibling) if sibling and sibling.is_file() else shutil.which(name)
        if program is None:
            raise BackupRefused(
                f"{name} is not on PATH. Install the PostgreSQL client programs, version {server} or newer "
                f"(Debian and Ubuntu: apt-get install postgresql-client-{server}), and put them on PATH.")
        major = _program_major(program)
        if major < server:
            raise BackupRefused(
                f"{program} is version {major}, older than the PostgreSQL server ({server}). Install the client "
                f"programs of version {server} or newer (Debian and Ubuntu: apt-get install "
                f"postgresql-client-{server}) and put them first on PATH.")
        found[name] = program
    return found


def _program_major(program: str) -> int:
    try:
        answer = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        raise BackupRefused(f"Cannot run {program}: {getattr(error, 'strerror', None) or error}.") from None
    match = re.search(r"\)\s*(\d+)", answer.stdout)
    if answer.returncode != 0 or not match:
        raise BackupRefused(f"Cannot tell the version of {program}: {(answer.stdout + answer.stderr).strip()}")
    return int(match.group(1))


def _server_major(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def libpq_environment(url: sa.URL) -> dict[str, str]:
    """The environment for pg_dump, pg_restore and psql to reach the database of ``url``: the process's own
    (so ~/.pgpass, PGSSLMODE and the like still apply) with the URL's parts on top."""
    env = dict(os.environ)
    parts = {"host": url.host, "port": url.port, "user": url.username, "password": url.password,
             "dbname": url.database}
    for name, value in url.query.items():
        if name not in LIBPQ_VARIABLES:
            raise BackupRefused(f"CAREAPP_DATABASE_URL has the parameter {name!r}, which careapp cannot pass to "
                                "the PostgreSQL client programs; remove it to back up or restore.")
        parts[name] = ",".join(value) if isinstance(value, tuple) else value
    env.update({LIBPQ_VARIABLES[name]: str(value) for name, value in parts.items() if value is not None})
    return env


def _run(args: list[str], env: dict[str, str], failed: str) -> subprocess.CompletedProcess:
    try:
        answer = subprocess.run(args, env=env, capture_output=True)
    except OSError as error:
        raise BackupRefused(f"Cannot run {args[0]}: {error.strerror}.") from None
    if answer.returncode != 0:
        raise BackupRefused(f"{failed}: {_text(answer.stderr)}")
    return answer


def _text(output: bytes) -> str:
    return output.decode("utf-8", "replace").strip() or "(no message)"


def _pg_dump(engine: sa.Engine, staging: Path) -> None:
    tools = _tools(engine, "pg_dump", "pg_restore")
    env = libpq_environment(engine.url)
    _run([tools["pg_dump"], "--format=custom", "--no-password", f"--file={staging}"], env, "pg_dump failed")
    # Reads the archive's table of contents back: the file is whole and pg_restore takes it.
    _run([tools["pg_restore"], "--list", str(staging)], env, "The new backup cannot be read back")


def _pg_backup_revision(engine: sa.Engine, path: Path) -> str | None:
    tools = _tools(engine, "pg_restore")
    env = libpq_environment(engine.url)
    _run([tools["pg_restore"], "--list", str(path)], env, f"pg_restore cannot read {path}")
    script = _run([tools["pg_restore"], "--data-only", "--table=alembic_version", "--file=-", str(path)], env,
                  f"pg_restore cannot read {path}").stdout.decode("utf-8", "replace")
    rows = re.search(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*?)^\\\.$", script, re.M | re.S)
    versions = rows.group(1).split() if rows else []
    return versions[0] if len(versions) == 1 else None


def _pg_restore(engine: sa.Engine, path: Path, *, replace: bool) -> None:
    tools = _tools(engine, "pg_restore", "psql")
    engine.dispose()  # so that the sessions counted below are not this process's own idle ones
    with engine.connect() as connection:
        others = _other_sessions(connection)
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    if others:
        sessions = "1 other session is" if others == 1 else f"{others} other sessions are"
        raise BackupRefused(f"{sessions} connected to the database {_describe(engine)}. Stop "
                            "`careapp serve`, `careapp scheduler` and any other client first, then restore.")
    engine.dispose()  # no connection of ours stays open (or locked) beside the restore
    quoted = '"' + schema.replace('"', '""') + '"'
    opening = ["BEGIN;", f"SET LOCAL lock_timeout = '{RESTORE_LOCK_TIMEOUT}';"]
    if replace:
        opening += [f"DROP SCHEMA {quoted} CASCADE;", f"CREATE SCHEMA {quoted};"]
    env = libpq_environment(engine.url)
    # The owner and grants of the backed-up database are not restored: the restoring user owns everything.
    dump_args = [tools["pg_restore"], "--no-owner", "--no-acl", "--file=-", str(path)]
    psql_args = [tools["psql"], "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1"]
    dumped, loaded, dump_errors, load_errors = _relay(dump_args, psql_args, "\n".join(opening) + "\n", env)
    if dumped != 0:
        raise BackupRefused(f"pg_restore cannot read {path}, so nothing was changed: {dump_errors}")
    if loaded != 0:
        raise BackupRefused(f"The restore failed, so nothing was changed: {load_errors}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")  # pg_restore leaves the planner no statistics


def _other_sessions(connection: sa.Connection) -> int:
    """How many other sessions are connected to the database, once those closing have gone: a session closed
    a moment ago (this process's own, just disposed of) stays listed until its server process has exited,
    which on a busy machine took long enough to refuse a restore that nothing else was using."""
    deadline = time.monotonic() + SESSIONS_CLOSING_SECONDS
    while True:
        # The server keeps what a transaction first read of pg_stat_activity until the transaction ends.
        connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        others = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").scalar()
        if not others or time.monotonic() >= deadline:
            return others
        time.sleep(0.1)


def _relay(dump_args: list[str], psql_args: list[str], opening: str, env: dict[str, str]
           ) -> tuple[int, int, str, str]:
    """Pipe pg_restore's SQL into psql between our BEGIN and a COMMIT sent only when pg_restore finished well
    (psql stops at the first error, and the server then rolls the transaction back)."""
    with tempfile.TemporaryFile() as dump_errors, tempfile.TemporaryFile() as load_errors:
        try:
            dump = subprocess.Popen(dump_args, stdout=subprocess.PIPE, stderr=dump_errors, env=env)
        except OSError as error:
            raise BackupRefused(f"Cannot run {dump_args[0]}: {error.strerror}.") from None
        try:
            load = subprocess.Popen(psql_args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=load_errors, env=env)
        except OSError as error:
            dump.kill()
            dump.wait()
            raise BackupRefused(f"Cannot run {psql_args[0]}: {error.strerror}.") from None
        try:
            load.stdin.write(opening.encode())
            shutil.copyfileobj(dump.stdout, load.stdin, 1 << 20)
            ending = b"COMMIT;\n" if dump.wait() == 0 else b"ROLLBACK;\n"
            load.stdin.write(ending)
            load.stdin.close()
        except BrokenPipeError:
            pass  # psql stopped at an error; its message says which
        finally:
            if dump.poll() is None:
                dump.kill()
            dump.wait()
            dump.stdout.close()
            try:
                load.stdin.close()
            except BrokenPipeError:
                pass
            load.wait()
        dump_errors.seek(0)
        load_errors.seek(0)
        return dump.returncode, load.returncode, _text(dump_errors.read()), _text(load_errors.read())


# --- both engines ---

def engine_kind(engine: sa.Engine) -> str:
    kind = engine.dialect.name
    if kind not in ENGINE_NAMES:
        raise BackupRefused(f"careapp backs up SQLite and PostgreSQL only, not {kind}.")
    return kind


def database_revision(engine: sa.Engine) -> str | None:
    """The Alembic revision the database is at, or None without careapp's schema."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return versions[0] if len(versions) == 1 else None


def _describe(engine: sa.Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True).split("://", 1)[1]


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(size // 1024, 1)} kB"


# --- the commands (registered in careapp.cli) ---

@click.command("backup")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True,
              help="Replace FILE if it exists (only once the new backup is complete).")
@with_appcontext
@reports_database_errors
def backup_command(path: Path, overwrite: bool) -> None:
    """Back up the database to FILE while careapp runs: a copy of the SQLite database, or a pg_dump
    custom-format archive of the PostgreSQL one (docs/operations.md)."""
    try:
        outcome = backup_database(db.engine, path, overwrite=overwrite)
    except BackupRefused as refusal:
        raise click.ClickException(refusal.message) from None
    for line in outcome.lines:
        click.echo(line)


@click.command("restore")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Replace everything in a database that is not empty (in one transaction).")
@with_appcontext
@reports_database_errors
def restore_command(path: Path, replace: bool) -> None:
    """Restore a backup made by `careapp backup` into the database: an empty one, or any with --replace.
    Stop `careapp serve` and `careapp scheduler` first (docs/operations.md)."""
    migrations = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    db.session.remove()
    try:
        outcome = restore_database(db.engine, path, migrations, replace=replace)
    except BackupRefused as refusal:
        raise click.ClickException(refusal.message) from None
    for line in outcome.lines:
        click.echo(line)
