"""The short list of body areas every clinic starts with; dermatologists' notes are history."""

from django.db import migrations

from core.history import AppendOnlyTable

CODES = ["face", "scalp", "neck", "chest", "back", "arms", "hands", "legs", "feet"]


def add_areas(apps, schema_editor):
    BodyArea = apps.get_model("photos", "BodyArea")
    for position, code in enumerate(CODES, start=1):
        BodyArea.objects.get_or_create(clinic=None, code=code, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [
        ("photos", "0001_initial"),
        ("core", "0002_audit_events_append_only"),
    ]

    operations = [
        migrations.RunPython(add_areas, migrations.RunPython.noop),
        AppendOnlyTable("photos.PhotoNote"),
    ]
