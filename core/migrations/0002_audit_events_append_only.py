"""Audit events refuse UPDATE, DELETE and TRUNCATE in PostgreSQL too (see core/history.py).

Lives in ``core`` (which depends on ``accounts``) so that it never conflicts with accounts'
own migrations. The function is kept on reverse: other apps' triggers may use it.
"""

from django.db import migrations

from core.history import AppendOnlyTable


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("accounts", "0002_clinic_pulse_interval_days"),
    ]

    operations = [
        AppendOnlyTable("accounts.AuditEvent"),
    ]
