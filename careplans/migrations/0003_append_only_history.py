"""Plan revisions and their items are history: PostgreSQL refuses UPDATE/DELETE/TRUNCATE too."""

from django.db import migrations

from core.history import AppendOnlyTable


class Migration(migrations.Migration):

    dependencies = [
        ("careplans", "0002_default_preferences"),
        ("core", "0002_audit_events_append_only"),
    ]

    operations = [
        AppendOnlyTable("careplans.PlanRevision"),
        AppendOnlyTable("careplans.PlanItem"),
    ]
