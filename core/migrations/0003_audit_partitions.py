"""Audit events: ``clinic`` filled in for rows written before it existed (the patient's clinic,
else the actor's), and, in PostgreSQL, the table converted to monthly range partitions
(core/audit_partitions.py): partitioned table created, rows copied, names swapped, append-only
triggers reinstalled, all inside this migration's transaction. SQLite: the fill only.

Reversible: back to one plain table with the same rows (``convert_to_plain``).
"""

from django.db import migrations
from django.utils import timezone

from core import audit_partitions

MONTHS_AHEAD = 3


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            audit_partitions.convert_to_partitioned(
                cursor, now=timezone.now(), months_ahead=MONTHS_AHEAD)
        else:
            audit_partitions.fill_clinic_sqlite(cursor)


def backwards(apps, schema_editor):
    # SQLite: nothing to undo (accounts/0011 drops the columns). PostgreSQL: a plain table again.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            audit_partitions.convert_to_plain(cursor)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_audit_events_append_only"),
        ("accounts", "0011_auditevent_clinic"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
