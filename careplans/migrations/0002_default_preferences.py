from django.db import migrations

DEFAULTS = [
    ("topical-over-oral", "Prefers creams and gels over pills", "oral", 10),
    ("no-injections", "Avoids needles and injections", "injection", 20),
    ("fragrance-free", "Fragrance-free products only", "fragrance", 30),
    ("vegan", "Vegan and cruelty-free products", "animal_derived", 40),
    ("pregnancy", "Pregnant, planning pregnancy or breastfeeding", "pregnancy_unsafe", 50),
    ("fewest-steps", "As few steps as possible", "many_steps", 60),
]


def add_defaults(apps, schema_editor):
    Preference = apps.get_model("careplans", "Preference")
    for key, label, conflict, position in DEFAULTS:
        Preference.objects.get_or_create(
            key=key, defaults={"label": label, "conflict": conflict, "position": position}
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("careplans", "Preference").objects.filter(
        key__in=[d[0] for d in DEFAULTS], clinic__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("careplans", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, remove_defaults)]
