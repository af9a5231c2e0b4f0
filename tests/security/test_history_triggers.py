"""Plan revisions, plan items, recorded visits and flag history refuse plain-SQL UPDATE/DELETE
in PostgreSQL too, like audit events (core/history.py); the ORM refuses them everywhere."""

import pytest
from django.db import DatabaseError, connection, transaction

from careplans.visits import visit_record
from flags.models import FlagEvent
from flags.services import flag_acknowledge
from tests.conftest import service_unavailable
from tests.factories import FlagFactory, plan_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(patient_a, derm, staff, now):
    revision = plan_for(patient_a, author=derm, now=now)
    flag_acknowledge(flag=FlagFactory(patient=patient_a), actor=staff, now=now)
    today = patient_a.local_date(now)
    visit = visit_record(patient=patient_a, recorded_by=staff, happened_on=today, note="", now=now,
                         today=today)
    return {
        "careplans_clinicvisit": visit.pk,
        "careplans_planrevision": revision.pk,
        "careplans_planitem": revision.items.first().pk,
        "flags_flagevent": FlagEvent.objects.get().pk,
    }


@pytest.mark.parametrize("table", ["careplans_planrevision", "careplans_planitem",
                                   "careplans_clinicvisit", "flags_flagevent"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id WHERE id = %s",
                                       "DELETE FROM {table} WHERE id = %s"])
def test_plain_sql_cannot_rewrite_history(history, table, statement):
    # given
    if connection.vendor != "postgresql":
        service_unavailable("the database-level guard needs PostgreSQL (DATABASE_URL)")
    # when / then
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(statement.format(table=table), [history[table]])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE id = %s", [history[table]])  # noqa: S608
        assert cursor.fetchone() == (1,)


def test_the_orm_refuses_to_change_flag_history(history):
    # when / then
    event = FlagEvent.objects.get()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        FlagEvent.objects.filter(pk=event.pk).update(note="changed")
