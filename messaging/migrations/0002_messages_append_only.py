"""Messages are history: PostgreSQL refuses UPDATE, DELETE and TRUNCATE on them too."""

from django.db import migrations

from core.history import AppendOnlyTable


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("core", "0002_audit_events_append_only"),
    ]

    operations = [AppendOnlyTable("messaging.Message")]
