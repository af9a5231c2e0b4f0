"""The audit table in PostgreSQL: range partitions by month of ``at``.

Years of events stay fast to write and read because every index is per month, and an operator
can drop a whole month past retention (``manage.py audit_partition_drop``) without a DELETE,
which the append-only triggers refuse anyway (core/history.py).

- ``core/migrations/0003`` converts the plain table (create the partitioned table, copy the rows
  with their clinic filled in, swap names); SQLite keeps the plain table.
- The beat task ``core.tasks.audit_partitions_ensure`` creates the coming months ahead of time
  (``CREATE TABLE IF NOT EXISTS ... PARTITION OF``: idempotent).
- A DEFAULT partition catches an event outside every month (a clock far off, beat stopped for
  months) instead of refusing the write; it should stay empty.

The primary key is ``(id, at)``: PostgreSQL requires the partition key in every unique index.
``id`` still comes from one identity sequence, so Django's ``pk`` stays unique.

Row triggers on the partitioned table are cloned to every partition; TRUNCATE triggers are per
table, so each partition gets its own.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from core.history import CREATE_FUNCTION, FUNCTION

logger = logging.getLogger(__name__)

TABLE = "accounts_auditevent"
DEFAULT_PARTITION = f"{TABLE}_default"
_NAME = re.compile(rf"^{TABLE}_y(\d{{4}})m(\d{{2}})$")


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def partition_month(name: str) -> date | None:
    """The month a partition named by :func:`partition_name` holds; None for any other name."""
    match = _NAME.match(name)
    return date(int(match[1]), int(match[2]), 1) if match else None


def _bound(month: date) -> str:
    # Months in UTC: a partition's bounds do not move with any clinic's time zone.
    return datetime(month.year, month.month, 1, tzinfo=UTC).isoformat()


def _truncate_trigger(cursor, table: str) -> None:
    cursor.execute(
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def create_partition(cursor, month: date) -> str:
    """Create (if missing) the partition for ``month``; returns its name."""
    name = partition_name(month)
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(add_months(month, 1))}')"
    )
    _truncate_trigger(cursor, name)
    return name


def is_partitioned(conn: BaseDatabaseWrapper = connection) -> bool:
    if conn.vendor != "postgresql":
        return False
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass",
                       [TABLE])
        return cursor.fetchone() is not None


def audit_partitions_ensure(*, now: datetime | None = None,
                            months_ahead: int | None = None) -> list[str]:
    """The partitions of this month and the next ``months_ahead`` months, created if missing.

    Idempotent; a no-op (empty list) where the table is not partitioned (SQLite).
    """
    if not is_partitioned():
        return []
    ahead = settings.AUDIT_PARTITIONS_AHEAD_MONTHS if months_ahead is None else months_ahead
    first = month_start(now or timezone.now())
    names = []
    with connection.cursor() as cursor:
        for step in range(ahead + 1):
            names.append(create_partition(cursor, add_months(first, step)))
    return names


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition

    @property
    def ends(self) -> date | None:
        return add_months(self.month, 1) if self.month else None


def audit_partitions() -> list[Partition]:
    """The audit table's partitions, oldest month first (the default partition last)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass", [TABLE])
        names = [row[0] for row in cursor.fetchall()]
    return sorted((Partition(name, partition_month(name)) for name in names),
                  key=lambda p: (p.month is None, p.month or date.min))


def retention_cutoff(*, now: datetime | None = None) -> date:
    """Months that end on or before this day are past retention."""
    return add_months(month_start(now or timezone.now()), -settings.AUDIT_RETENTION_MONTHS)


# --- The conversion (core/migrations/0003), PostgreSQL only --------------------------------

FILL_CLINIC = """
    coalesce(p.clinic_id, m.clinic_id) AS clinic_id,
    CASE WHEN p.clinic_id IS NOT NULL AND m.clinic_id IS NOT NULL AND m.clinic_id <> p.clinic_id
         THEN m.clinic_id END AS actor_clinic_id
"""


def convert_to_partitioned(cursor, *, now: datetime, months_ahead: int) -> None:
    """Replace the plain audit table by a partitioned one holding the same rows, with ``clinic``
    and ``actor_clinic`` filled in for rows written before the columns existed."""
    cursor.execute(CREATE_FUNCTION)
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE %s",
        [TABLE, "%pkey"])
    index_defs = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('f', 'c')", [TABLE])
    constraints = cursor.fetchall()
    cursor.execute(f"SELECT min(at) FROM {TABLE}")  # noqa: S608 - a constant table name
    oldest = cursor.fetchone()[0] or now
    columns = _columns(cursor)

    new = f"{TABLE}_partitioned"
    cursor.execute(f"""
        CREATE TABLE {new} (
            id bigint GENERATED BY DEFAULT AS IDENTITY,
            {', '.join(f'{c} {t}' for c, t in columns if c != 'id')},
            PRIMARY KEY (id, at)
        ) PARTITION BY RANGE (at)""")
    cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION}_new PARTITION OF {new} DEFAULT")
    # Partitions exist before the copy: rows go straight to their month, the default stays empty.
    month, last = month_start(oldest), add_months(month_start(now), months_ahead)
    while month <= last:
        name = partition_name(month)
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {new} "
            f"FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(add_months(month, 1))}')")
        month = add_months(month, 1)
    names = [c for c, _ in columns if c not in ("clinic_id", "actor_clinic_id")]
    cursor.execute(f"""
        INSERT INTO {new} ({', '.join(names)}, clinic_id, actor_clinic_id)
        SELECT {', '.join(f'e.{c}' for c in names)}, {FILL_CLINIC}
        FROM {TABLE} e
        LEFT JOIN accounts_patient p ON p.id = e.patient_id
        LEFT JOIN accounts_clinicmembership m ON m.user_id = e.actor_id""")  # noqa: S608
    sequence = f"pg_get_serial_sequence('{new}', 'id')"
    cursor.execute(f"SELECT setval({sequence}, coalesce(max(id), 0) + 1, false) FROM {new}")  # noqa: S608
    # The old table goes with its triggers, indexes and constraints; they are recreated by name
    # on the new one so that later migrations find them.
    cursor.execute(f"DROP TABLE {TABLE}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {TABLE}")
    cursor.execute(f"ALTER TABLE {DEFAULT_PARTITION}_new RENAME TO {DEFAULT_PARTITION}")
    cursor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {new}_pkey TO {TABLE}_pkey")
    for name, definition in constraints:
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
    for definition in index_defs:
        cursor.execute(definition)
    install_triggers(cursor)
    cursor.execute(f"ANALYZE {TABLE}")


def convert_to_plain(cursor) -> None:
    """The reverse of :func:`convert_to_partitioned` (migrating back): one plain table with the
    same rows, indexes, constraints and append-only triggers."""
    cursor.execute(CREATE_FUNCTION)
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE %s",
        [TABLE, "%pkey"])
    # A partitioned table's indexes read "ON ONLY <table>"; a plain table has no partitions.
    index_defs = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('f', 'c')", [TABLE])
    constraints = cursor.fetchall()
    columns = _columns(cursor)
    new = f"{TABLE}_plain"
    cursor.execute(f"""
        CREATE TABLE {new} (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            {', '.join(f'{c} {t}' for c, t in columns if c != 'id')}
        )""")
    names = ", ".join(c for c, _ in columns)
    cursor.execute(f"INSERT INTO {new} ({names}) SELECT {names} FROM {TABLE}")  # noqa: S608
    sequence = f"pg_get_serial_sequence('{new}', 'id')"
    cursor.execute(f"SELECT setval({sequence}, coalesce(max(id), 0) + 1, false) FROM {new}")  # noqa: S608
    cursor.execute(f"DROP TABLE {TABLE}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {TABLE}")
    cursor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {new}_pkey TO {TABLE}_pkey")
    for name, definition in constraints:
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
    for definition in index_defs:
        cursor.execute(definition)
    install_triggers(cursor)


def install_triggers(cursor) -> None:
    """The append-only triggers of core/history.py on the partitioned table and its partitions."""
    cursor.execute(
        f"CREATE OR REPLACE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()")
    _truncate_trigger(cursor, TABLE)
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass", [TABLE])
    for (name,) in cursor.fetchall():
        _truncate_trigger(cursor, name)


def _columns(cursor) -> list[tuple[str, str]]:
    cursor.execute("""
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
               || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
        FROM pg_attribute a
        WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum""", [TABLE])
    return cursor.fetchall()


def fill_clinic_sqlite(cursor) -> None:
    """SQLite keeps the plain table (no partitions, no triggers): fill the new columns in place."""
    cursor.execute(f"""
        UPDATE {TABLE} SET
            clinic_id = coalesce(
                (SELECT clinic_id FROM accounts_patient p WHERE p.id = {TABLE}.patient_id),
                (SELECT clinic_id FROM accounts_clinicmembership m
                 WHERE m.user_id = {TABLE}.actor_id)),
            actor_clinic_id = (
                SELECT m.clinic_id FROM accounts_clinicmembership m
                JOIN accounts_patient p ON p.id = {TABLE}.patient_id
                WHERE m.user_id = {TABLE}.actor_id AND m.clinic_id <> p.clinic_id)
        WHERE clinic_id IS NULL""")  # noqa: S608 - a constant table name


class RetentionError(Exception):
    """The partition may not be dropped: unknown, the default one, or inside retention."""


def audit_partition_drop(*, name: str, operator: str = "", now: datetime | None = None) -> int:
    """Drop one monthly partition past retention, writing an audit event of the drop first (in
    the same transaction: no drop without its event). Returns the number of events dropped.

    Refuses (``RetentionError``) the default partition, any name that is not a partition of the
    audit table, and any month that ends after ``retention_cutoff``.
    """
    from django.db import transaction

    from accounts.models import AuditEvent
    from accounts.services import audit_record

    if not is_partitioned():
        raise RetentionError("The audit table is not partitioned (PostgreSQL only).")
    partition = next((p for p in audit_partitions() if p.name == name), None)
    if partition is None or partition.month is None:
        raise RetentionError(f"{name} is not a monthly partition of the audit table.")
    cutoff = retention_cutoff(now=now)
    if partition.ends > cutoff:
        raise RetentionError(
            f"{name} holds events inside retention ({settings.AUDIT_RETENTION_MONTHS} months): "
            f"only months ending on or before {cutoff.isoformat()} may be dropped.")
    with transaction.atomic(), connection.cursor() as cursor:
        # Deferred foreign-key checks still pending (a caller's open transaction) would make
        # PostgreSQL refuse the DROP: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608 - a checked partition name
        events = cursor.fetchone()[0]
        audit_record(actor=None, patient=None, action=AuditEvent.Action.DELETE,
                     object_type="audit_partition", object_id=f"{name}:{events}{operator}"[:64])
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
        cursor.execute(f"DROP TABLE {name}")
    logger.info("audit partition %s dropped (%s events)", name, events)
    return events
