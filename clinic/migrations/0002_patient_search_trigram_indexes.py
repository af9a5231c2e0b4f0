"""Trigram indexes for the patient list's search (PostgreSQL only).

The search matches any part of a first name, last name or email, case-insensitively: Django's
``icontains``, which PostgreSQL runs as ``UPPER(column::text) LIKE UPPER('%…%')``. A B-tree
cannot serve a pattern with a leading ``%``; a trigram GIN index on the same expression can
(``pg_trgm``, created here if missing: a trusted extension, so a user with CREATE on the
database may create it). Like 0001 these sit on ``accounts_user`` and leave Django's model
state alone. SQLite, the embedded default for small clinics, keeps scanning.
"""

from django.db import migrations

COLUMNS = ("first_name", "last_name", "email")


def index_name(column: str) -> str:
    return f"clinic_patient_search_{column}_trgm"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(column)} ON accounts_user "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor) -> None:
    # The extension stays: something else may use it, and it holds no data.
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name(column)}")


class Migration(migrations.Migration):

    dependencies = [
        ("clinic", "0001_patient_list_name_index"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
