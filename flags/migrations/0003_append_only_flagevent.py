"""A flag's history rows: PostgreSQL refuses UPDATE/DELETE/TRUNCATE too (core/history.py)."""

from django.db import migrations

from core.history import AppendOnlyTable


class Migration(migrations.Migration):

    dependencies = [
        ("flags", "0002_outreach_message_help"),
        ("core", "0002_audit_events_append_only"),
    ]

    operations = [
        AppendOnlyTable("flags.FlagEvent"),
    ]
