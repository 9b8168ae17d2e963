"""Counting the SQL statements a piece of code issues (for the "no query per row" tests)."""
from __future__ import annotations

import contextlib

import sqlalchemy as sa

from careapp.core.db import db


@contextlib.contextmanager
def count_statements(*, selects_only: bool = False):
    """Collect the statements sent to the database inside the block (only SELECTs if asked)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not selects_only or statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
