"""The default preferences' labels read right on the patient's own page too ("Prefers creams and
gels over pills" named the patient in the third person). Labels a clinic changed are kept."""

from django.db import migrations

RENAMED = [
    ("topical-over-oral", "Prefers creams and gels over pills", "Creams and gels rather than pills"),
    ("no-injections", "Avoids needles and injections", "No needles or injections"),
]


def rename(apps, schema_editor, forwards=True):
    Preference = apps.get_model("careplans", "Preference")
    for key, old, new in RENAMED:
        before, after = (old, new) if forwards else (new, old)
        Preference.objects.filter(key=key, clinic__isnull=True, label=before).update(label=after)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, forwards=False)


class Migration(migrations.Migration):
    dependencies = [("careplans", "0004_profile_starts_empty")]

    operations = [migrations.RunPython(rename, rename_back)]
