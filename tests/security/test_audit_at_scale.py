"""The audit trail built for years of events: every event carries the clinic whose log it is in;
the clinic log and "Who viewed my record" page by keyset (Newer / Older, no count of the whole
history, the same queries whatever the page); name searches resolve the clinic's own patients
or people first; in PostgreSQL, monthly partitions created ahead by an idempotent beat task, and
dropped only by an operator, only past retention, and audited.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.services import audit_record
from core import audit_partitions
from core.history import HISTORY_TRUNCATE_SETTING
from core.keyset import Cursor
from core.tasks import audit_partitions_ensure
from tests.conftest import service_unavailable
from tests.factories import (
    AuditEventFactory,
    DermatologistFactory,
    PatientFactory,
    StaffFactory,
)
from tests.security.conftest import password_step, sign_in

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _view(actor, patient, *, allowed=True):
    return audit_record(actor=actor, patient=patient, action=AuditEvent.Action.VIEW,
                        object_type="patient", object_id=str(patient.pk), allowed=allowed)


def _get(client, user, url, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response


def _older_link(response) -> str | None:
    match = re.search(r'href="\?([^"]*before=[^"]*)"', response.content.decode())
    return match[1].replace("&amp;", "&") if match else None


def _newer_link(response) -> str | None:
    match = re.search(r'href="\?([^"]*after=[^"]*)"', response.content.decode())
    return match[1].replace("&amp;", "&") if match else None


def _follow(client, url, query: str):
    response = client.get(f"{url}?{query}")
    assert response.status_code == 200
    return response


# --- The clinic on the event row ------------------------------------------------------------

def test_a_read_is_in_the_patients_clinic(derm, patient_a, clinic):
    # when
    event = _view(derm, patient_a)
    # then
    assert (event.clinic_id, event.actor_clinic_id) == (clinic.pk, None)


def test_a_refused_attempt_at_another_clinics_patient_is_in_both_clinics(
    derm, clinic, other_derm, other_clinic
):
    # given
    theirs = PatientFactory(dermatologist=other_derm)
    # when
    event = _view(derm, theirs, allowed=False)
    # then: the patient's clinic owns it; our clinic sees its member's attempt
    assert (event.clinic_id, event.actor_clinic_id) == (other_clinic.pk, clinic.pk)


def test_a_clinicians_own_events_are_in_their_clinic(staff, clinic):
    # when
    event = audit_record(actor=staff, patient=None, action=AuditEvent.Action.VIEW,
                         object_type="audit_log")
    # then
    assert event.clinic_id == clinic.pk


def test_a_clinicians_sign_in_and_failed_sign_in_are_in_their_clinic(client, derm, clinic):
    # when
    password_step(client, derm.email, password="wrong-password-1")
    sign_in(client, derm.email, mfa=True)
    # then
    events = AuditEvent.objects.filter(actor=derm).order_by("id")
    assert [e.action for e in events][:2] == [AuditEvent.Action.LOGIN_FAILED,
                                              AuditEvent.Action.LOGIN]
    assert {e.clinic_id for e in events} == {clinic.pk}


def test_an_unknown_address_and_a_patients_own_sign_in_have_no_clinic(client, patient_a):
    # when
    password_step(client, "nobody@example.test")
    sign_in(client, patient_a.user.email)
    # then
    unknown = AuditEvent.objects.get(actor=None, action=AuditEvent.Action.LOGIN_FAILED)
    own = AuditEvent.objects.get(actor=patient_a.user, action=AuditEvent.Action.LOGIN)
    assert unknown.clinic_id is None
    assert own.clinic_id is None


def test_a_change_through_a_service_is_in_the_patients_clinic(client, derm, patient_a, clinic):
    # when: the dermatologist opens the patient's page (a read, audited by the view)
    _get(client, derm, reverse("patient_detail", args=[patient_a.pk]))
    # then
    event = AuditEvent.objects.filter(actor=derm, patient=patient_a).latest("id")
    assert event.clinic_id == clinic.pk


def _migrate(target: tuple[str, str] | None) -> None:
    """To ``target``, or with None back to every app's latest migration."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_clinic_of_existing_rows_and_partitions_them():
    # given: rows as the old code wrote them (no clinic), before core/0003
    derm = DermatologistFactory()
    staff = StaffFactory(membership=derm.membership.clinic)
    patient = PatientFactory(dermatologist=derm)
    outsider = DermatologistFactory()
    _migrate(("core", "0002_audit_events_append_only"))
    try:
        old = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
        rows = {
            "read": dict(actor_id=derm.pk, patient_id=patient.pk),
            "sign_in": dict(actor_id=staff.pk, patient_id=None),
            "attempt": dict(actor_id=outsider.pk, patient_id=patient.pk),
            "unknown": dict(actor_id=None, patient_id=None),
        }
        ids = {}
        with connection.cursor() as cursor:
            for kind, row in rows.items():
                cursor.execute(
                    "INSERT INTO accounts_auditevent (at, actor_id, patient_id, action, "
                    "object_type, object_id, allowed) VALUES (%s, %s, %s, 'view', 'patient', "
                    "'', true) RETURNING id", [old, row["actor_id"], row["patient_id"]])
                ids[kind] = cursor.fetchone()[0]
        # when
        _migrate(None)
        # then
        filled = {e.pk: (e.clinic_id, e.actor_clinic_id) for e in AuditEvent.objects.all()}
        clinic, theirs = derm.membership.clinic_id, outsider.membership.clinic_id
        assert filled == {ids["read"]: (clinic, None), ids["sign_in"]: (clinic, None),
                          ids["attempt"]: (clinic, theirs), ids["unknown"]: (None, None)}
        assert audit_partitions.is_partitioned() == (connection.vendor == "postgresql")
        new = audit_record(actor=derm, patient=patient, action="view", object_type="patient")
        assert new.pk > max(ids.values())
    finally:
        _migrate(None)


# --- Keyset pages ---------------------------------------------------------------------------

def test_older_and_newer_pages_lose_and_repeat_nothing_even_at_equal_times(
    client, derm, staff, clinic
):
    # given: 130 events, many sharing a timestamp to the microsecond, ours and a member's
    # attempt elsewhere mixed in
    patients = [PatientFactory(dermatologist=derm) for _ in range(3)]
    theirs = PatientFactory(dermatologist=DermatologistFactory())
    for n in range(130):
        target = theirs if n % 13 == 0 else patients[n % 3]
        AuditEventFactory(actor=derm, patient=target, at=NOON + timedelta(seconds=n // 7),
                          allowed=target is not theirs)
    expected = list(AuditEvent.objects.filter(actor=derm).order_by("-at", "-id")
                    .values_list("pk", flat=True))
    url = reverse("clinic_audit_log")
    # when: Older to the end, then Newer back to the start
    pages = [_get(client, staff, url, actor=derm.last_name)]
    while link := _older_link(pages[-1]):
        pages.append(_follow(client, url, link))
    back = [pages[-1]]
    while link := _newer_link(back[-1]):
        back.append(_follow(client, url, link))
    # then
    seen = [row.pk for page in pages for row in page.context["page"].items]
    assert seen == expected
    assert [len(p.context["rows"]) for p in pages] == [50, 50, 30]
    assert [[r.pk for r in p.context["page"].items] for p in back] == [
        [r.pk for r in p.context["page"].items] for p in reversed(pages)]
    assert "actor=" in _older_link(pages[0])  # the search is kept


def test_a_page_never_counts_the_history(client, staff, derm, patient_a):
    # given
    _view(derm, patient_a)
    client.force_login(staff)
    # when
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("clinic_audit_log"))
    # then: (the navigation's count of waiting messages is no count of the history)
    assert not [q for q in captured if "COUNT(" in q["sql"].upper()
                and AuditEvent._meta.db_table in q["sql"]]


def test_a_cursor_that_does_not_parse_is_the_newest_page(client, staff, derm, patient_a):
    # given
    newest = _view(derm, patient_a)
    # when
    response = _get(client, staff, reverse("clinic_audit_log"), before="x-1'--")
    # then
    assert response.context["page"].items[0].pk > newest.pk - 1
    assert Cursor.decode("x-1'--") is None


@pytest.mark.parametrize("page", ["newest", "older"])
def test_clinic_log_queries_do_not_grow_with_events(client, derm, staff, other_derm, page,
                                                    django_assert_max_num_queries):
    def one_page(limit: int) -> None:
        response = _get(client, staff, reverse("clinic_audit_log"))
        if page == "older" and (link := _older_link(response)):
            with django_assert_max_num_queries(limit):
                _follow(client, reverse("clinic_audit_log"), link)
        else:
            with django_assert_max_num_queries(limit):
                _get(client, staff, reverse("clinic_audit_log"))

    # given: a page's worth, measured
    for n in range(60):
        _view((derm, other_derm)[n % 2], PatientFactory(dermatologist=derm), allowed=n % 2 == 0)
    client.force_login(staff)
    with CaptureQueriesContext(connection) as captured:
        _get(client, staff, reverse("clinic_audit_log"))
    few = len(captured)
    # when: three times the events, of more people and patients
    for n in range(180):
        _view((derm, other_derm, staff)[n % 3], PatientFactory(dermatologist=derm),
              allowed=n % 3 != 1)
    # then
    one_page(few)


def test_who_viewed_my_record_pages_visits_by_keyset_with_constant_queries(
    client, patient_a, derm, staff, django_assert_max_num_queries
):
    # given: 60 visits, by the dermatologist and staff in turn, each three pages opened within
    # half an hour (0, 5 and 29 minutes in); each person's visits 80 minutes apart
    starts = []
    for n in range(60):
        actor, first = (derm, staff)[n % 2], NOON + timedelta(minutes=40 * n)
        starts.append(AuditEventFactory(actor=actor, patient=patient_a, at=first).pk)
        for minutes in (5, 29):
            AuditEventFactory(actor=actor, patient=patient_a, at=first + timedelta(minutes=minutes))
    url = reverse("access_log")
    client.force_login(patient_a.user)
    with CaptureQueriesContext(connection) as captured:
        pages = [_get(client, patient_a.user, url)]
    # when
    while link := _older_link(pages[-1]):
        with django_assert_max_num_queries(len(captured)):
            pages.append(_follow(client, url, link))
    # then: one line per visit, newest first, each with its three pages
    assert [e.pk for p in pages for e in p.context["page"].items] == starts[::-1]
    assert [len(p.context["rows"]) for p in pages] == [25, 25, 10]
    assert {row.views for p in pages for row in p.context["rows"]} == {3}


# --- Name searches --------------------------------------------------------------------------

def test_patient_search_resolves_the_clinics_patients_and_shows_only_their_events(
    client, derm, staff, clinic, other_derm
):
    # given: a namesake at another clinic, read by its own clinician and tried by ours
    ours = PatientFactory(dermatologist=derm, user__first_name="Oona", user__last_name="Vale")
    theirs = PatientFactory(dermatologist=other_derm, user__first_name="Oona",
                            user__last_name="Vale")
    other = PatientFactory(dermatologist=derm, user__first_name="Bram")
    mine = [_view(derm, ours), _view(staff, ours)]
    _view(other_derm, theirs)
    _view(derm, theirs, allowed=False)
    _view(derm, other)
    # when
    rows = _get(client, staff, reverse("clinic_audit_log"), patient="oona").context["page"]
    # then
    assert [e.pk for e in rows.items] == [e.pk for e in reversed(mine)]
    assert {e.clinic_id for e in rows.items} == {clinic.pk}


def test_person_search_finds_the_clinics_people_not_another_clinics_namesake(
    client, derm, staff, patient_a, other_clinic
):
    # given
    namesake = DermatologistFactory(membership=other_clinic, last_name=staff.last_name)
    theirs = PatientFactory(dermatologist=namesake)
    mine = _view(staff, patient_a)
    _view(namesake, theirs)
    _view(namesake, patient_a, allowed=False)  # in our log, but not a person of our clinic
    # when
    page = _get(client, derm, reverse("clinic_audit_log"), actor=staff.last_name).context["page"]
    # then
    assert [e.pk for e in page.items] == [mine.pk]


def test_person_search_lists_a_members_refused_attempt_at_another_clinic(
    client, derm, staff, other_derm
):
    # given
    theirs = PatientFactory(dermatologist=other_derm)
    attempt = _view(derm, theirs, allowed=False)
    # when
    response = _get(client, staff, reverse("clinic_audit_log"), actor=derm.last_name)
    # then
    assert [e.pk for e in response.context["page"].items] == [attempt.pk]
    assert theirs.user.last_name not in response.content.decode()


def test_search_queries_do_not_grow_with_matching_people(client, derm, staff,
                                                         django_assert_max_num_queries):
    # given
    for _ in range(3):
        _view(derm, PatientFactory(dermatologist=derm, user__first_name="Ivo"))
    client.force_login(staff)
    with CaptureQueriesContext(connection) as captured:
        _get(client, staff, reverse("clinic_audit_log"), patient="ivo", actor=derm.last_name)
    # when
    for _ in range(30):
        _view(StaffFactory(membership=derm.membership.clinic, last_name=derm.last_name),
              PatientFactory(dermatologist=derm, user__first_name="Ivo"))
    # then
    with django_assert_max_num_queries(len(captured)):
        _get(client, staff, reverse("clinic_audit_log"), patient="ivo", actor=derm.last_name)


# --- Partitions (PostgreSQL) ----------------------------------------------------------------

@pytest.fixture
def partitioned(db):
    """PostgreSQL only: skipped locally without it, a failure in CI (tests/conftest.py)."""
    if connection.vendor != "postgresql":
        service_unavailable("the audit partitions need PostgreSQL (DATABASE_URL)")
    assert audit_partitions.is_partitioned()


def _partition_names() -> list[str]:
    return [p.name for p in audit_partitions.audit_partitions()]


def test_the_partition_task_creates_the_coming_months_and_is_idempotent(partitioned, settings):
    # given
    settings.AUDIT_PARTITIONS_AHEAD_MONTHS = 5
    this_month = audit_partitions.month_start(datetime.now(UTC))
    coming = [audit_partitions.partition_name(audit_partitions.add_months(this_month, n))
              for n in range(6)]
    # when
    audit_partitions_ensure.apply()
    once = _partition_names()
    audit_partitions_ensure.apply()
    # then
    assert set(coming) <= set(once)
    assert _partition_names() == once


def test_a_new_partition_is_append_only_too(partitioned, derm, patient_a):
    # given: a month created by the task, and an event in it
    month = audit_partitions.add_months(audit_partitions.month_start(datetime.now(UTC)), 7)
    audit_partitions.audit_partitions_ensure(months_ahead=7)
    name = audit_partitions.partition_name(month)
    event = AuditEventFactory(actor=derm, patient=patient_a,
                              at=datetime(month.year, month.month, 2, tzinfo=UTC))
    with connection.cursor() as cursor:
        # A session like production's (the suite's may truncate, for Django's flush), and the
        # insert's deferred foreign-key checks settled (PostgreSQL would name them instead).
        cursor.execute(f"SET LOCAL {HISTORY_TRUNCATE_SETTING} = 'off'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # when / then
    for sql in (f"UPDATE {name} SET allowed = false WHERE id = %s",  # noqa: S608
                f"DELETE FROM {name} WHERE id = %s",  # noqa: S608
                f"TRUNCATE {name}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql, [event.pk] if "%s" in sql else None)
    assert AuditEvent.objects.filter(pk=event.pk, allowed=True).exists()


def _old_partition(years_ago: int) -> str:
    month = date(datetime.now(UTC).year - years_ago, 1, 1)
    with connection.cursor() as cursor:
        return audit_partitions.create_partition(cursor, month)


def test_the_drop_command_refuses_a_month_inside_retention(partitioned, derm, patient_a):
    # given: five years ago, inside the six of retention, with an event in it
    name = _old_partition(5)
    month = audit_partitions.partition_month(name)
    AuditEventFactory(actor=derm, patient=patient_a,
                      at=datetime(month.year, month.month, 3, tzinfo=UTC))
    # when / then
    with pytest.raises(CommandError, match="inside retention"):
        call_command("audit_partition_drop", name, "--confirm")
    assert name in _partition_names()
    assert not AuditEvent.objects.filter(object_type="audit_partition").exists()


@pytest.mark.parametrize("name", ["accounts_auditevent_default", "accounts_patient"])
def test_the_drop_command_refuses_anything_but_a_monthly_audit_partition(partitioned, name):
    with pytest.raises(CommandError, match="not a monthly partition"):
        call_command("audit_partition_drop", name, "--confirm")


def test_the_drop_command_drops_a_month_past_retention_and_audits_it(partitioned, derm,
                                                                     patient_a):
    # given: seven years ago, one event in it
    name = _old_partition(7)
    month = audit_partitions.partition_month(name)
    old = AuditEventFactory(actor=derm, patient=patient_a,
                            at=datetime(month.year, month.month, 3, tzinfo=UTC))
    # when
    call_command("audit_partition_drop", name, "--confirm", "--operator", "ops")
    # then
    assert name not in _partition_names()
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    drop = AuditEvent.objects.get(object_type="audit_partition")
    assert (drop.action, drop.object_id, drop.clinic_id) == (
        AuditEvent.Action.DELETE, f"{name}:1:ops", None)


def test_the_drop_command_needs_confirmation(partitioned):
    name = _old_partition(7)
    with pytest.raises(CommandError, match="--confirm"):
        call_command("audit_partition_drop", name)
    assert name in _partition_names()
