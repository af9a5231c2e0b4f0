"""The bulk writes the plan and history seeding share: INSERT model instances, or rows of plain
values, exactly as given (``auto_now`` is not applied), as one prepared statement over all rows;
on PostgreSQL with psycopg2, ``execute_values`` and ``COPY`` instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

PG_PAGE_SIZE = 5000  # rows per INSERT statement on PostgreSQL


def _database(model: type[models.Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]  # not the proxy: it is read per value


def _uses_psycopg2(database: BaseDatabaseWrapper) -> bool:
    if database.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return not is_psycopg3


def _quoted(
    model: type[models.Model], attnames: Sequence[str], database: BaseDatabaseWrapper
) -> tuple[str, str]:
    """The model's table and the columns of ``attnames``, quoted for SQL."""
    quote, meta = database.ops.quote_name, model._meta
    return quote(meta.db_table), ", ".join(quote(meta.get_field(n).column) for n in attnames)


def _executemany(
    database: BaseDatabaseWrapper, table: str, columns: str, values: Sequence[Sequence[object]]
) -> None:
    """One prepared INSERT run over all rows (``bulk_create`` on SQLite would split the rows
    into statements of at most 999 parameters)."""
    placeholders = ", ".join(["%s"] * len(values[0]))
    with database.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608 - metadata
            values,
        )


def _insert(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """INSERT model instances in bulk, every value exactly as set on the instance.

    ``auto_now``/``auto_now_add`` are not applied: callers set those timestamps (back-dated
    history needs that) and read generated ids back with one query. On PostgreSQL with psycopg2,
    whose ``executemany`` runs row by row, ``execute_values`` sends thousands of rows per
    statement.
    """
    if not rows:
        return
    meta = model._meta
    database = _database(model)
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    table, columns = _quoted(model, [f.attname for f in fields], database)
    values = [[f.get_db_prep_save(getattr(row, f.attname), database) for f in fields]
              for row in rows]
    if not _uses_psycopg2(database):
        _executemany(database, table, columns, values)
        return
    from psycopg2.extras import execute_values

    with database.cursor() as cursor:
        execute_values(cursor.cursor, f"INSERT INTO {table} ({columns}) VALUES %s",  # noqa: S608
                       values, page_size=PG_PAGE_SIZE)


def _load(
    model: type[models.Model], attnames: Sequence[str], values: Sequence[Sequence[object]]
) -> None:
    """INSERT rows of plain values in ``attnames`` order: None, numbers, text, booleans, dates,
    times, UUIDs, each as ``get_db_prep_save`` gives it.

    SQLite: ``executemany``. PostgreSQL with psycopg2: ``COPY`` from CSV, about four times
    faster than ``execute_values`` for the millions of step logs of a large cohort.
    """
    if not values:
        return
    database = _database(model)
    table, columns = _quoted(model, attnames, database)
    if not _uses_psycopg2(database):
        _executemany(database, table, columns, values)
        return
    buffer = io.StringIO()
    csv.writer(buffer).writerows(values)
    buffer.seek(0)
    with database.cursor() as cursor:
        cursor.cursor.copy_expert(_copy_sql(model, attnames, database, table, columns), buffer)


def _copy_sql(
    model: type[models.Model], attnames: Sequence[str], database: BaseDatabaseWrapper,
    table: str, columns: str,
) -> str:
    """CSV writes None as an empty field, which COPY reads as NULL; FORCE_NOT_NULL reads the
    empty fields of NOT NULL columns as ''. (So '' in a nullable column would load as NULL.)"""
    not_null = [database.ops.quote_name(field.column) for field in
                (model._meta.get_field(name) for name in attnames) if not field.null]
    force = f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else ""
    return f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv{force})"
