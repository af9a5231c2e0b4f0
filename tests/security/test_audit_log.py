"""The audit trail: append-only in the ORM and in PostgreSQL itself; the clinic's audit log page
(scoped, searchable, paginated, itself audited); the patient's "Who viewed my record"."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.services import audit_record
from core.history import HISTORY_TRUNCATE_SETTING
from tests.conftest import service_unavailable
from tests.factories import AuditEventFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(derm, patient_a):
    return audit_record(actor=derm, patient=patient_a, action=AuditEvent.Action.VIEW,
                        object_type="patient", object_id=str(patient_a.pk))


# --- Append-only ----------------------------------------------------------------------------

def test_audit_events_cannot_be_updated_or_deleted_through_the_orm(event):
    event.allowed = False
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(allowed=False)
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).allowed is True


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        service_unavailable("the database-level guard needs PostgreSQL (DATABASE_URL)")


@pytest.mark.usefixtures("postgresql")
@pytest.mark.parametrize("sql", [
    "UPDATE accounts_auditevent SET allowed = NOT allowed WHERE id = %s",
    "DELETE FROM accounts_auditevent WHERE id = %s",
])
def test_plain_sql_cannot_update_or_delete_audit_events(event, sql):
    # when / then
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).allowed is True


@pytest.mark.usefixtures("postgresql")
def test_plain_sql_cannot_truncate_audit_events(event):
    with transaction.atomic(), connection.cursor() as cursor:
        # given: a session like production's (the test suite's connections may truncate, for
        # Django's flush), and this test's own inserts settled
        cursor.execute(f"SET LOCAL {HISTORY_TRUNCATE_SETTING} = 'off'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # when / then
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("TRUNCATE accounts_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.usefixtures("postgresql")
def test_new_audit_events_are_still_written(event, derm, patient_a):
    audit_record(actor=derm, patient=patient_a, action=AuditEvent.Action.VIEW,
                 object_type="plan_history")
    assert AuditEvent.objects.count() == 2


# --- The clinic's audit log -----------------------------------------------------------------

def _view(actor, patient, object_type="patient", *, allowed=True):
    return audit_record(actor=actor, patient=patient, action=AuditEvent.Action.VIEW,
                        object_type=object_type, object_id=str(patient.pk), allowed=allowed)


def _event_at(actor, patient, at, object_type="patient"):
    """An event as if recorded at ``at`` (written once, like every audit row)."""
    return AuditEventFactory(actor=actor, patient=patient, at=at, object_type=object_type)


def _log(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("clinic_audit_log"), params)
    assert response.status_code == 200
    return response


def _rows(response):
    return response.context["rows"]


def test_clinic_log_shows_the_clinics_events_and_never_another_clinics(
    client, derm, staff, patient_a, other_derm, other_clinic
):
    # given
    theirs = PatientFactory(dermatologist=other_derm)
    _view(derm, patient_a)
    _view(other_derm, theirs)  # another clinic's business
    _view(other_derm, patient_a, allowed=False)  # an outsider tried our patient
    _view(derm, theirs, allowed=False)  # our clinician tried theirs
    # when
    body = _log(client, staff).content.decode()
    rows = _rows(_log(client, staff))
    # then
    assert theirs.user.display_name not in body
    assert theirs.user.email not in body
    patients = [row.patient for row in rows if row.what == "patient"]
    assert patients.count(patient_a.user.display_name) == 2
    assert patients.count("A patient of another clinic") == 1
    assert all(row.actor != other_derm.display_name or row.patient == patient_a.user.display_name
               for row in rows)


def test_clinic_log_searches_by_patient_person_and_clinic_dates(
    client, derm, staff, patient_a, patient_b
):
    # given: a surname no factory name contains (a random "Robertson" matched "Roberts")
    staff.last_name = "Quillfeather"
    staff.save(update_fields=["last_name"])
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("UTC"))
    _event_at(derm, patient_a, noon)
    _event_at(staff, patient_b, noon + timedelta(days=2))
    _event_at(derm, patient_b, noon + timedelta(days=5))
    # when / then
    by_patient = _rows(_log(client, derm, patient=patient_a.user.email))
    assert [(r.patient, r.actor) for r in by_patient] == [
        (patient_a.user.display_name, derm.display_name)
    ]
    by_actor = _rows(_log(client, derm, actor=staff.last_name))
    assert {r.actor for r in by_actor} == {staff.display_name}
    by_dates = _rows(_log(client, derm, date_from="2026-03-11", date_to="2026-03-12"))
    assert [r.actor for r in by_dates if r.patient] == [staff.display_name]


def test_clinic_log_cannot_find_another_clinics_patient_by_name(client, derm, other_derm):
    # given: our clinician's refused attempt at their patient is in our log, nameless
    theirs = PatientFactory(dermatologist=other_derm)
    _view(derm, theirs, allowed=False)
    # when
    rows = _rows(_log(client, derm, patient=theirs.user.email))
    # then
    assert rows == []


def test_viewing_the_clinic_log_is_audited(client, staff):
    _log(client, staff)
    assert AuditEvent.objects.filter(actor=staff, object_type="audit_log",
                                     action=AuditEvent.Action.VIEW).count() == 1


def test_clinic_log_pages_cost_the_same_queries_however_long_the_log(
    client, derm, staff, patient_a, other_derm
):
    def queries_for_one_page() -> int:
        client.force_login(staff)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("clinic_audit_log")).status_code == 200
        return len(captured)

    # given
    _view(derm, patient_a)
    few = queries_for_one_page()
    for n in range(60):
        actor = (derm, staff, other_derm)[n % 3]
        _view(actor, PatientFactory(dermatologist=derm), allowed=actor != other_derm)
    # when
    many = queries_for_one_page()
    # then: never more (a sparse log reads a few more month windows, core/keyset.py)
    assert many <= few
    assert len(_rows(_log(client, staff))) == 50  # one page


@pytest.mark.parametrize("who", ["patient", "anonymous"])
def test_clinic_log_is_for_clinic_members_only(client, patient_a, who):
    if who == "patient":
        client.force_login(patient_a.user)
    response = client.get(reverse("clinic_audit_log"))
    assert response.status_code in (302, 404)
    assert not AuditEvent.objects.filter(object_type="audit_log").exists()


# --- The patient's "Who viewed my record" ---------------------------------------------------

def test_patient_sees_who_viewed_their_record_in_plain_words(client, patient_a, derm, staff):
    # given
    _view(derm, patient_a)
    _view(staff, patient_a, object_type="flag")
    # when
    client.force_login(patient_a.user)
    response = client.get(reverse("access_log"))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r.name, r.role) for r in rows] == [
        (staff.display_name, "Clinic staff"), (derm.display_name, "Dermatologist")
    ]
    assert "Your recent check-ins" in body
    assert "Your record: plan, check-ins and profile" in body
    assert "flag" not in body.lower()  # the patient is never told they were flagged


def test_patient_sees_only_allowed_reads_of_their_own_record(
    client, patient_a, patient_b, derm, other_derm
):
    # given
    _view(derm, patient_a)
    _view(derm, patient_b)  # another patient's record
    _view(other_derm, patient_a, allowed=False)  # refused: the clinic's log, not the patient's
    audit_record(actor=derm, patient=patient_a, action=AuditEvent.Action.CHANGE,
                 object_type="plan_revision")
    # when
    client.force_login(patient_a.user)
    response = client.get(reverse("access_log"))
    # then
    assert len(response.context["rows"]) == 1
    body = response.content.decode()
    assert patient_b.user.display_name not in body
    assert other_derm.display_name not in body


VISIT_START = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("UTC"))


def _visit_rows(client, patient):
    client.force_login(patient.user)
    response = client.get(reverse("access_log"))
    return [(row.name, row.views, row.what) for row in response.context["rows"]], response


def test_an_editing_visit_is_one_line_however_many_previews(client, patient_a, derm):
    # given: the dermatologist opens the record, then the editor, and the fit check previews
    # the plan four times within twenty minutes
    _event_at(derm, patient_a, VISIT_START)
    for minutes in (2, 6, 11, 15, 20):
        _event_at(derm, patient_a, VISIT_START + timedelta(minutes=minutes), "care_plan")
    # when
    rows, response = _visit_rows(client, patient_a)
    # then: one visit, what was opened named once each, from when to when
    assert rows == [(derm.display_name, 6, ["Your record: plan, check-ins and profile",
                                            "Your care plan, to change it"])]
    assert "6 pages opened" in response.content.decode()
    assert AuditEvent.objects.filter(patient=patient_a).count() == 6  # every read kept


def test_a_visit_runs_while_reads_follow_within_half_an_hour(client, patient_a, derm):
    # given: reads 25 minutes apart (one visit), then a pause of 31 minutes (a new one)
    for minutes in (0, 25, 50, 81):
        _event_at(derm, patient_a, VISIT_START + timedelta(minutes=minutes))
    # when
    rows, _response = _visit_rows(client, patient_a)
    # then: newest first
    assert [views for _name, views, _what in rows] == [1, 3]


def test_two_peoples_reads_at_the_same_time_are_two_visits(client, patient_a, derm, staff):
    # given: interleaved reads by the dermatologist and a staff member
    for minutes, who in ((0, derm), (1, staff), (2, derm), (3, staff), (4, staff)):
        _event_at(who, patient_a, VISIT_START + timedelta(minutes=minutes))
    # when
    rows, _response = _visit_rows(client, patient_a)
    # then: the staff member's visit began later, so it is first
    assert [(name, views) for name, views, _what in rows] == [
        (staff.display_name, 3), (derm.display_name, 2)]


@pytest.mark.parametrize("who", ["derm", "staff"])
def test_who_viewed_my_record_is_a_patient_page(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("access_log")).status_code == 404


def test_patients_find_the_page_in_their_navigation(client, patient_a):
    client.force_login(patient_a.user)
    body = client.get(reverse("today")).content.decode()
    assert f'href="{reverse("access_log")}"' in body


def _visits_by_hand(patient):
    """The visits, worked out the plain way: each person's reads in order, a new visit after a
    pause of more than 30 minutes; newest visit first, with its reads counted."""
    visits = []
    reads = AuditEvent.objects.filter(patient=patient, action=AuditEvent.Action.VIEW,
                                      allowed=True).order_by("actor_id", "at", "id")
    previous = None
    for read in reads:
        if previous is None or previous.actor_id != read.actor_id or (
                read.at - previous.at > timedelta(minutes=30)):
            visits.append([read.pk, read.at, 0])
        visits[-1][2] += 1
        previous = read
    visits.sort(key=lambda v: (v[1], v[0]), reverse=True)
    return [(pk, views) for pk, _at, views in visits]


def test_visits_page_back_and_forth_exactly_as_worked_out_by_hand(patient_a, derm, staff):
    # given: two people reading at random moments over three days, their visits interleaved
    import random

    from accounts.record_visits import visits_page
    from tests.factories import DermatologistFactory
    colleague = DermatologistFactory(membership=derm.membership.clinic)
    rng = random.Random(7)  # noqa: S311 (test data, not secrets)
    for _ in range(120):
        who = rng.choice((derm, staff, colleague))
        _event_at(who, patient_a, VISIT_START + timedelta(minutes=rng.randrange(0, 3 * 24 * 60)))
    expected = _visits_by_hand(patient_a)
    # when: paging older four visits at a time, then newer from the oldest page
    pages, cursor = [], None
    while True:
        page, visits = visits_page(patient_a, before=cursor, after=None, size=4)
        pages.append([(s.pk, v.views) for s, v in zip(page.items, visits, strict=True)])
        if not page.older:
            break
        cursor = page.older
    back, cursor = [], page.newer
    while cursor:
        page, visits = visits_page(patient_a, before=None, after=cursor, size=4)
        back.append([(s.pk, v.views) for s, v in zip(page.items, visits, strict=True)])
        cursor = page.newer
    # then: every visit once, in order, with all its reads; the same pages going back
    assert [visit for p in pages for visit in p] == expected
    assert len(expected) > 12
    assert back == pages[-2::-1]
