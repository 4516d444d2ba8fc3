"""Inserts of many rows straight through the driver, for the meter-values hot path.

SQLAlchemy's executemany processes every parameter of every row in Python (a memoryview per
blob, a dict per row); for rows whose values the driver takes as they are (ints, str, bytes),
passing tuples to the driver's executemany halves the cost of an insert. The SQL is compiled
by SQLAlchemy once per dialect, so it is the same statement either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection


@cache
def _compiled(connection_dialect: Any, table: Table, keys: tuple[str, ...],
              fixed: tuple[tuple[str, Any], ...]) -> tuple[str, tuple[int, ...]]:
    statement = insert(table).values(dict(fixed)) if fixed else insert(table)
    compiled = statement.compile(dialect=connection_dialect, column_keys=list(keys))
    order = tuple(keys.index(name) for name in compiled.positiontup or ())
    return compiled.string, order


async def insert_rows(
    connection: AsyncConnection, table: Table, keys: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]], fixed: tuple[tuple[str, Any], ...] = (),
) -> None:
    """INSERT rows (tuples of the values of `keys`, in that order); `fixed` are SQL
    expressions for the other columns, the same for every row (e.g. CURRENT_TIMESTAMP)."""
    if not rows:
        return
    sql, order = _compiled(connection.dialect, table, keys, fixed)
    if order != tuple(range(len(keys))):
        rows = [tuple(row[i] for i in order) for row in rows]
    await connection.exec_driver_sql(sql, list(rows))
