"""Bulk writing straight through the database driver, in the generator's one transaction.

PostgreSQL gets ``COPY ... FROM STDIN`` (psycopg's ``Copy.write_row``), SQLite one ``executemany`` per batch
with ``synchronous=OFF`` on the generator's own connection. Rows arrive as tuples in the table's column
order, with times as naive UTC datetimes: the writer turns them into what each database stores (on
SQLite the exact text SQLAlchemy writes, so the app's comparisons of stored times still hold).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

# Rows collected per table before they are written.
BATCH_ROWS = 20_000
LOCK_TIMEOUT_SECONDS = 30


class BulkWriter:
    def __init__(self, connection: sa.Connection):
        self.connection = connection
        self.dialect = connection.dialect.name
        self.driver = connection.connection.driver_connection
        self.counts: Counter[str] = Counter()
        self.postgresql = self.dialect == "postgresql"
        # A naive UTC datetime as stored: as is for PostgreSQL (COPY reads it in the session's zone, set to
        # UTC here), SQLAlchemy's text on SQLite. A plain function: it is called for every time of every row.
        self.moment: Callable[[datetime | None], Any] = _as_is if self.postgresql else _sqlite_text
        if self.postgresql:
            connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            # The indexes are rebuilt under an exclusive lock: fail with a message, not a hang, if another
            # session holds the tables open.
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")

    # --- values as each database stores them ---

    def day(self, value: date | None):
        return value if value is None or self.postgresql else value.isoformat()

    def clock(self, value: time | None):
        return value if value is None or self.postgresql else value.isoformat("microseconds")

    # --- writing ---

    def write(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{column}"' for column in columns)
        if self.postgresql:
            with self.driver.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            self.driver.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        self.counts[table] += len(rows)

    @contextmanager
    def constraints_after(self, tables: Sequence[str]) -> Iterator[None]:
        """Build the tables' secondary indexes and check their foreign keys once, after the load, instead of row
        by row (as pg_restore does). The same definitions, read from the catalogue, are made again in the same
        transaction, so the schema ends exactly as it was; every reference is checked before the commit."""
        if self.postgresql:
            with self._postgresql_constraints_after(tables):
                yield
        else:
            with self._sqlite_indexes_after(tables):
                yield

    @contextmanager
    def _postgresql_constraints_after(self, tables: Sequence[str]) -> Iterator[None]:
        run = self.connection.exec_driver_sql
        names = [f'"{table}"' for table in tables]
        keys = run("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE contype = 'f' AND conrelid = ANY(%(tables)s::regclass[]) ORDER BY conname",
                   {"tables": names}).all()
        indexes = run("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
                      "WHERE indrelid = ANY(%(tables)s::regclass[]) AND NOT indisprimary AND NOT EXISTS "
                      "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                      {"tables": names}).all()
        for table, name, _ in keys:
            run(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            run(f"DROP INDEX {name}")
        yield
        for _, definition in indexes:
            run(definition)
        for table, name, definition in keys:
            run(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')

    @contextmanager
    def _sqlite_indexes_after(self, tables: Sequence[str]) -> Iterator[None]:
        """SQLite: the indexes as above (foreign keys are off on this connection and checked at the end)."""
        marks = ", ".join("?" * len(tables))
        indexes = self.driver.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks}) "
            "ORDER BY name", tuple(tables)).fetchall()
        for name, _ in indexes:
            self.driver.execute(f'DROP INDEX "{name}"')
        yield
        for _, definition in indexes:
            self.driver.execute(definition)

    def check_foreign_keys(self) -> None:
        """SQLite: foreign keys were not checked row by row on the generator's connection; check them all now."""
        if self.postgresql:
            return
        broken = self.driver.execute("PRAGMA foreign_key_check").fetchmany(5)
        if broken:
            raise RuntimeError(f"Generated rows break foreign keys (table, rowid, parent, key): {broken}")

    def move_sequences(self, tables: Iterable[str]) -> None:
        """PostgreSQL: move each table's id sequence past the ids given here, so the app can insert after."""
        if not self.postgresql:
            return  # SQLite gives max(rowid) + 1
        for table in tables:
            self.connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"coalesce((SELECT max(id) FROM \"{table}\"), 0) + 1, false) "
                f"WHERE pg_get_serial_sequence('\"{table}\"', 'id') IS NOT NULL")


def _as_is(value: datetime | None) -> datetime | None:
    return value


def _sqlite_text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


class Buffers:
    """Rows waiting to be written, per table; written in the order the tables were first named, which the
    caller makes the foreign-key order (slots before their bookings, bookings before their meal orders)."""

    def __init__(self, writer: BulkWriter, columns: dict[str, Sequence[str]]):
        self.writer = writer
        self.columns = columns
        self.rows: dict[str, list[tuple]] = {table: [] for table in columns}

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)

    def extend(self, table: str, rows: Iterable[tuple]) -> None:
        self.rows[table].extend(rows)

    def full(self) -> bool:
        return any(len(rows) >= BATCH_ROWS for rows in self.rows.values())

    def flush(self) -> None:
        for table, rows in self.rows.items():
            self.writer.write(table, self.columns[table], rows)
            rows.clear()
