"""An index serving the patient list's order (clinic.selectors.LIST_ORDER).

The list is alphabetical by surname, first name, then user id. Those columns live on
``accounts_user``; the index is created here, in plain SQL both SQLite and PostgreSQL accept,
so the accounts app's models and migrations stay as they are. Django's model state is not
changed (no ``state_operations``): ``makemigrations`` sees nothing to do.
"""

from django.db import migrations

INDEX = "clinic_patient_list_name_idx"


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0010_weekly_partnership_question"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {INDEX} "
                "ON accounts_user (last_name, first_name, id)",
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
