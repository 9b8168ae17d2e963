"""Database foundations shared by every model.

- ``db``: Flask-SQLAlchemy over a typed ``DeclarativeBase`` whose naming
  convention gives Alembic stable constraint names.
- ``UTCDateTime``: times are stored in UTC and always come back aware.
- ``write_transaction()``: the one way a rule writes. On SQLite it starts with
  ``BEGIN IMMEDIATE`` so the write lock is taken up front (WAL + busy timeout);
  on PostgreSQL it sets a short lock timeout. Rules then lock the capacity row
  they change with :func:`lock_for_update` and re-check under the lock.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timezone
from functools import cache
from typing import Iterator, TypeVar

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# How long a writer waits for a lock before the request is answered "busy".
LOCK_TIMEOUT_SECONDS = 10


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(sa.types.TypeDecorator):
    """An aware datetime stored as UTC (naive UTC text on SQLite, timestamptz on PostgreSQL)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# --- SQLite: WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE for writers ---

_begin_immediate: ContextVar[bool] = ContextVar("careapp_begin_immediate", default=False)
_in_write: ContextVar[bool] = ContextVar("careapp_in_write_transaction", default=False)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own
    # transaction handling would defer it and could not take the lock up front).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={LOCK_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "connect")
def _postgresql_on_connect(dbapi_connection, connection_record):
    """Every PostgreSQL connection waits at most LOCK_TIMEOUT_SECONDS for a lock (then Busy, a 503 that says
    try again), set once when it is opened rather than by a ``SET LOCAL`` round trip in every write: the
    booking burst (issue 7) paid one for each booking. Behind a transaction-pooling PgBouncer a session's
    settings do not stick: set it on the role instead (docs/deployment.md)."""
    if type(dbapi_connection).__module__.split(".")[0] != "psycopg":
        return
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
    finally:
        dbapi_connection.autocommit = autocommit


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _begin_immediate.get() else "BEGIN")


@contextmanager
def write_transaction(*, guard: bool = True, keep_read: bool = False) -> Iterator[sa.orm.Session]:
    """Run a block as one write transaction: commit on success, roll back on error.

    Nested calls join the outer transaction, so rules compose (cancel -> fill
    the freed place) and still commit once. Any read-only transaction the
    request had open is ended first: a writer must start from a fresh snapshot
    with the lock in hand. ``guard=False`` exists only for the concurrency
    control test, which shows the race that the guard prevents.

    ``keep_read=True`` keeps the rows the request has already read (the API's user, say) as they are over the
    commit that ends its read, instead of reading them again at their next use, for a rule that reads afresh
    under its lock everything its decision depends on (with :func:`lock_for_update` or a locking statement of
    its own): ``engine.book``, whose lock every booking of the slot waits for. The write's own commit expires
    everything as always, so nothing read before it is ever taken for current afterwards. On PostgreSQL
    (READ COMMITTED) such a rule's write goes on in the read's transaction instead of ending it: every
    statement there reads a fresh snapshot, and the lock is taken by the rule's own ``FOR UPDATE``, so the
    COMMIT and BEGIN between them would only cost two round trips.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if _in_write.get():
        yield session
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("unsaved changes outside write_transaction(); every write goes through a rule")
    if session.in_transaction() and not (keep_read and _reads_committed(session)):
        _commit(session, expire=not keep_read)
    immediate = _begin_immediate.set(guard)
    try:
        session.connection()  # begins now: with BEGIN IMMEDIATE on SQLite, the writer's lock
    finally:
        _begin_immediate.reset(immediate)
    inside = _in_write.set(True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _in_write.reset(inside)


def _reads_committed(session: sa.orm.Session) -> bool:
    """The session's open transaction is PostgreSQL's READ COMMITTED (each statement sees what is committed
    when it starts; SQLite's writer must instead begin anew, with BEGIN IMMEDIATE)."""
    connection = session.connection()
    return connection.dialect.name == "postgresql" and \
        connection.get_execution_options().get("isolation_level", connection.default_isolation_level) == \
        "READ COMMITTED"


def _commit(session: sa.orm.Session, *, expire: bool) -> None:
    if expire:
        session.commit()
        return
    kept = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = kept


def in_write_transaction() -> bool:
    """True inside ``write_transaction()``: a rule that must commit each step on its own (one booking per
    standing enrolment) checks this, since a nested block would join, and roll back with, the outer one."""
    return _in_write.get()


M = TypeVar("M")

# Objects whose rows the open transaction inserted with a plain INSERT ... RETURNING (``adopt_inserted``).
_ADOPTED = "careapp_adopted_rows"


def adopt_inserted(obj: M) -> M:
    """Hand the session an object built from the row a plain ``INSERT ... RETURNING`` just wrote, as if
    loaded: in the session, nothing to flush. Cheaper than the ORM inserting it (the unit of work costs more
    than the statement), for the one hot insert that needs it (``engine.book``).

    Should the transaction roll back, the object leaves the session, as one the ORM inserted would: its row
    is gone, and SQLite may give its id to the next row."""
    sa.orm.make_transient_to_detached(obj)
    session = db.session()
    session.add(obj)
    session.info.setdefault(_ADOPTED, []).append(obj)
    return obj


@event.listens_for(sa.orm.Session, "after_soft_rollback")
def _drop_adopted(session: sa.orm.Session, previous_transaction) -> None:
    for obj in session.info.pop(_ADOPTED, ()):
        if obj in session:
            session.expunge(obj)


@event.listens_for(sa.orm.Session, "after_commit")
def _keep_adopted(session: sa.orm.Session) -> None:
    session.info.pop(_ADOPTED, None)


def lock_for_update(model: type[M], ident: int, *, guard: bool = True) -> M | None:
    """Load a row and lock it for the rest of the transaction.

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite: the whole database is
    already locked by ``BEGIN IMMEDIATE``; the select just reads fresh data.
    """
    return db.session.scalar(_locking_select(model, guard), {"ident": ident})


@cache
def _locking_select(model: type, guard: bool) -> sa.Select:
    """Built once per model: every booking runs it, and building a statement costs more than running it."""
    stmt = sa.select(model).where(model.id == sa.bindparam("ident")).execution_options(populate_existing=True)
    return stmt.with_for_update() if guard else stmt



def render_item_for_alembic(type_, obj, autogen_context):
    """Write UTCDateTime into migrations as a plain timezone-aware DateTime, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
