"""Counting the SQL statements a piece of code issues (for the "no query per row" tests)."""
from __future__ import annotations

import contextlib

import sqlalchemy as sa

from careapp.core.db import db


@contextlib.contextmanager
def count_statements(*, selects_only: bool = False, commits: bool = False):
    """Collect the statements sent to the database inside the block (only SELECTs if asked); with
    ``commits``, a "COMMIT" entry where each transaction ended (a commit is not a statement of its own)."""
    statements: list[str] = []

    def record_commit(conn):
        statements.append("COMMIT")

    def record(conn, cursor, statement, parameters, context, executemany):
        if not selects_only or statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    if commits:
        sa.event.listen(db.engine, "commit", record_commit)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
        if commits:
            sa.event.remove(db.engine, "commit", record_commit)
