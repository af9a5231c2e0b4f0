"""The clinic's inbox (issue 19): the inbox's views and order, how long the patient has waited,
unread marks, the thread page with its history, reply, templates and actions (and their
refusals), the reply templates page, the patient page's messages, the navigation count, and
1,000 open threads in a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from clinic.message_views import INBOX_PAGE_SIZE, INBOX_TABS, waited_words
from messaging import selectors
from messaging.models import Message, ReplyTemplate, Severity, Status, Thread, ThreadRead, Topic
from messaging.services import (
    message_post,
    reply_template_save,
    thread_start,
    thread_start_from_clinic,
)
from tests.factories import DermatologistFactory, PatientFactory, StaffFactory, photo_for

pytestmark = pytest.mark.django_db


def _question(patient, now, body="Can I use the gel every other night?", **kwargs):
    values = {"topic": Topic.PLAN} | kwargs
    return thread_start(patient=patient, by=patient.user, body=body, now=now, **values)


def _inbox(client, **params):
    return client.get(reverse("clinic_inbox"), params)


def _names(response) -> list[str]:
    return [row.thread.patient.user.display_name for row in response.context["page"]]


# --- The inbox ------------------------------------------------------------------------------

def test_the_tabs_are_the_selectors_views():
    assert tuple(INBOX_TABS) == selectors.INBOX_VIEWS


def test_waiting_shows_the_newest_waiting_first_with_topic_severity_and_time_waited(
        client, staff, derm, clinic, now):
    # given: the clinic in New York; two patients waiting, one answered
    clinic.timezone = "America/New_York"
    clinic.save()
    older = PatientFactory(dermatologist=derm, user__first_name="Olga", user__last_name="Old")
    newer = PatientFactory(dermatologist=derm, user__first_name="Nia", user__last_name="New")
    answered = PatientFactory(dermatologist=derm, user__first_name="Ann", user__last_name="Ans")
    _question(older, now - timedelta(days=2, hours=1))
    _question(newer, now - timedelta(hours=3), topic=Topic.SIDE_EFFECT,
              severity=Severity.SEVERE, body="It burns")
    done = _question(answered, now - timedelta(days=1))
    message_post(thread=done, by=staff, from_clinic=True, body="Yes.", now=now)
    client.force_login(staff)
    # when
    response = _inbox(client)
    # then
    assert response.status_code == 200
    assert _names(response) == ["Nia New", "Olga Old"]
    html = response.content.decode()
    assert "waiting 3 hours" in html
    assert "waiting 2 days" in html
    assert 'class="badge badge-severe">Severe' in html
    assert "A side effect" in html
    assert "A question about my plan" in html
    assert "It burns" not in html  # no message text in the list


def test_waited_words_count_days_in_the_clinics_zone(now):
    # given: a clinic at UTC-5; the patient wrote at 20:00 there on 24 November
    zone = timezone.get_fixed_timezone(-300)
    since = now.replace(hour=1)  # 20:00 on 24 Nov in UTC-5
    later = since + timedelta(hours=27)  # 23:00 on 25 Nov there: one calendar day later
    with timezone.override(zone):
        # then
        assert waited_words(since, since + timedelta(seconds=20)) == "waiting under a minute"
        assert waited_words(since, since + timedelta(minutes=5)) == "waiting 5 minutes"
        assert waited_words(since, since + timedelta(hours=15)) == "waiting 15 hours"
        assert waited_words(since, later) == "waiting 1 day"
        assert waited_words(since, since + timedelta(hours=29)) == "waiting 2 days"


@pytest.mark.parametrize(("view", "expected"), [
    ("waiting", ["Wes Waiting", "Mo Mine"]),
    ("mine", ["Mo Mine"]),
    ("unassigned", ["Pat OnPatient", "Wes Waiting"]),
    ("for_dermatologist", ["Dee ForDerm"]),
    ("waiting_on_patient", ["Pat OnPatient"]),
    ("closed", ["Cy Closed"]),
])
def test_each_tab_shows_its_threads(client, staff, derm, now, view, expected):
    # given
    def patient(first, last):
        return PatientFactory(dermatologist=derm, user__first_name=first, user__last_name=last)
    waiting = _question(patient("Wes", "Waiting"), now - timedelta(hours=1))
    mine = _question(patient("Mo", "Mine"), now - timedelta(hours=5))
    mine.assignee = staff
    mine.save()
    for_derm = _question(patient("Dee", "ForDerm"), now - timedelta(hours=2))
    client.force_login(staff)
    client.post(reverse("clinic_thread_action", args=[for_derm.pk]),
                {"action": "hand_to_dermatologist"})
    message_post(thread=for_derm, by=derm, from_clinic=True, body="Answered", now=now)
    thread_start_from_clinic(patient=patient("Pat", "OnPatient"), by=derm, body="How is it?",
                             now=now - timedelta(minutes=30))
    Thread.objects.filter(topic=Topic.FROM_CLINIC).update(assignee=None)
    closed = _question(patient("Cy", "Closed"), now - timedelta(days=3))
    client.post(reverse("clinic_thread_action", args=[closed.pk]), {"action": "close"})
    assert waiting.pk
    # when
    response = _inbox(client, view=view)
    # then
    assert response.status_code == 200
    assert _names(response) == expected
    assert f'aria-current="page">{INBOX_TABS[view]}<' in response.content.decode()


def test_an_unknown_tab_is_404(client, staff):
    client.force_login(staff)
    assert _inbox(client, view="everything").status_code == 404


def test_another_clinics_threads_are_never_listed(client, other_staff, patient_a, now):
    # given
    _question(patient_a, now)
    client.force_login(other_staff)
    # when
    response = _inbox(client)
    # then
    assert _names(response) == []


def test_unread_marks_follow_this_clinicians_read_mark(client, staff, derm, patient_a,
                                                       patient_b, now):
    # given: both patients wrote; staff opened A's thread
    read = _question(patient_a, now - timedelta(hours=2))
    unread = _question(patient_b, now - timedelta(hours=1))
    client.force_login(staff)
    client.get(reverse("clinic_thread", args=[read.pk]))
    # when
    response = _inbox(client)
    # then: read per clinician: the dermatologist has read neither
    marks = {row.thread.pk: row.unread for row in response.context["page"]}
    assert marks == {read.pk: False, unread.pk: True}
    client.force_login(derm)
    assert all(row.unread for row in _inbox(client).context["page"])
    # and the patient writing again makes it unread for staff
    message_post(thread=read, by=patient_a.user, from_clinic=False, body="One more thing",
                 now=timezone.now() + timedelta(minutes=1))
    client.force_login(staff)
    marks = {row.thread.pk: row.unread for row in _inbox(client).context["page"]}
    assert marks[read.pk] is True


def _open_threads(clinic, derm, count: int, now) -> None:
    """``count`` open threads waiting for the clinic, written in bulk (a handful of patients,
    some assigned)."""
    patients = [PatientFactory(dermatologist=derm) for _ in range(5)]
    other = StaffFactory(membership=clinic)
    Thread.objects.bulk_create([
        Thread(patient=patients[i % 5], clinic=clinic, topic=Topic.PLAN, status=Status.OPEN,
               assignee=(other if i % 3 == 0 else None), created_by=patients[i % 5].user,
               created_at=now - timedelta(minutes=i + 1),
               last_message_at=now - timedelta(minutes=i + 1),
               waiting_since=now - timedelta(minutes=i + 1))
        for i in range(count)])


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = _inbox(client, **params)
    assert response.status_code == 200
    return len(queries)


def test_a_thousand_open_threads_render_in_the_same_queries_as_ten(client, clinic, derm, staff,
                                                                  now):
    # given: ten open threads
    _open_threads(clinic, derm, 10, now)
    client.force_login(staff)
    _inbox(client)  # the session's first-request work out of the way
    ten = _queries(client)
    # when: a thousand
    _open_threads(clinic, derm, 990, now - timedelta(days=1))
    first, second = _queries(client), _queries(client, page=2)
    # then
    assert Thread.objects.count() == 1000
    assert first == second == ten
    assert ten <= 12, ten
    page = _inbox(client, page=2).context["page"]
    assert len(page.object_list) == INBOX_PAGE_SIZE
    assert page.paginator.num_pages == 20


def test_the_inbox_page_holds_a_fixed_number_of_queries(client, clinic, derm, staff, now,
                                                        django_assert_max_num_queries):
    # given
    _open_threads(clinic, derm, 1000, now)
    client.force_login(staff)
    _inbox(client)
    # then
    with django_assert_max_num_queries(12):
        _inbox(client, page=2)


# --- The thread page ------------------------------------------------------------------------

def test_the_thread_page_shows_the_history_with_authors_roles_times_photo_and_step(
        client, staff, derm, clinic, patient_a, now):
    # given: the clinic in Tokyo; a patient's question with a photo and a plan step, answered
    clinic.timezone = "Asia/Tokyo"
    clinic.save()
    photo = photo_for(patient_a, now=now)
    from messaging.services import Attachment
    thread = _question(patient_a, now.replace(hour=1), attachment=Attachment(
        photo=photo, plan_item_key=photo.public_id, plan_item_name="Adapalene gel"))
    message_post(thread=thread, by=derm, from_clinic=True, body="Looks calmer.",
                 now=now.replace(hour=2))
    client.force_login(staff)
    # when
    response = client.get(reverse("clinic_thread", args=[thread.pk]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Can I use the gel every other night?" in html
    assert "Looks calmer." in html
    assert "(Dermatologist)" in html
    assert "(Patient)" in html
    assert "25 Nov 2026, 10:00" in html
    assert "25 Nov 2026, 11:00" in html
    assert reverse("clinic_photo_thumbnail", args=[photo.public_id]) in html
    assert "About the plan step: Adapalene gel" in html
    assert reverse("patient_detail", args=[patient_a.pk]) in html


def test_opening_a_thread_is_audited_marks_it_read_and_shows_in_who_viewed_my_record(
        client, staff, patient_a, now):
    # given
    thread = _question(patient_a, now)
    client.force_login(staff)
    # when
    client.get(reverse("clinic_thread", args=[thread.pk]))
    # then
    assert AuditEvent.objects.filter(actor=staff, object_type="message_thread",
                                     object_id=str(thread.pk), allowed=True).exists()
    assert ThreadRead.objects.filter(thread=thread, user=staff).exists()
    client.force_login(patient_a.user)
    page = client.get(reverse("access_log")).content.decode()
    assert "Your messages" in page


def test_a_thread_started_from_a_flag_links_to_it(client, staff, patient_a, now):
    from tests.factories import FlagFactory
    flag = FlagFactory(patient=patient_a)
    thread = thread_start_from_clinic(patient=patient_a, by=staff, body="How are you?",
                                      now=now, flag_id=flag.pk)
    client.force_login(staff)
    html = client.get(reverse("clinic_thread", args=[thread.pk])).content.decode()
    assert reverse("flag_detail", args=[flag.pk]) in html


def test_another_clinics_thread_is_404_and_audited_as_refused(client, other_staff, patient_a,
                                                               now):
    # given
    thread = _question(patient_a, now)
    client.force_login(other_staff)
    # when
    response = client.get(reverse("clinic_thread", args=[thread.pk]))
    # then
    assert response.status_code == 404
    assert AuditEvent.objects.filter(actor=other_staff, object_type="message_thread",
                                     allowed=False).exists()
    assert not ThreadRead.objects.filter(user=other_staff).exists()


def test_a_template_fills_the_reply_then_the_reply_is_sent(client, staff, patient_a, now):
    # given
    thread = _question(patient_a, now - timedelta(hours=4))
    template = reply_template_save(clinic_id=patient_a.clinic_id, by=staff, title="Gel use",
                                   body="Use a pea-sized amount.", now=now)
    client.force_login(staff)
    # when: without JavaScript, the template's GET fills the textarea
    page = client.get(reverse("clinic_thread", args=[thread.pk]), {"template": template.pk})
    # then
    assert page.context["reply_form"].initial["body"] == "Use a pea-sized amount."
    assert "Use a pea-sized amount.</textarea>" in page.content.decode()
    # when: sent
    response = client.post(reverse("clinic_thread_reply", args=[thread.pk]),
                           {"body": "Use a pea-sized amount, every other night."})
    # then
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.waiting_since is None
    assert thread.messages.last().from_clinic


def test_an_inactive_or_foreign_template_fills_nothing(client, staff, other_staff, patient_a,
                                                      now):
    thread = _question(patient_a, now)
    foreign = reply_template_save(clinic_id=other_staff.membership.clinic_id, by=other_staff,
                                  title="Theirs", body="Not ours", now=now)
    client.force_login(staff)
    page = client.get(reverse("clinic_thread", args=[thread.pk]), {"template": foreign.pk})
    assert page.status_code == 200
    assert "Not ours" not in page.content.decode()


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_a_bad_reply_is_refused_and_saves_nothing(client, staff, patient_a, now, body):
    thread = _question(patient_a, now)
    client.force_login(staff)
    response = client.post(reverse("clinic_thread_reply", args=[thread.pk]), {"body": body})
    assert response.status_code == 400
    assert response.context["reply_form"].errors["body"]
    assert Message.objects.filter(thread=thread).count() == 1


def test_assign_hand_wait_close_and_reopen(client, staff, derm, patient_a, now):
    # given
    thread = _question(patient_a, now)
    client.force_login(staff)
    url = reverse("clinic_thread_action", args=[thread.pk])

    def state():
        thread.refresh_from_db()
        return thread.assignee_id, thread.for_dermatologist, thread.status

    # when / then
    assert client.post(url, {"action": "assign", "assignee": derm.pk}).status_code == 302
    assert state() == (derm.pk, False, Status.OPEN)
    client.post(url, {"action": "assign_me"})
    assert state() == (staff.pk, False, Status.OPEN)
    client.post(url, {"action": "hand_to_dermatologist"})
    assert state() == (patient_a.dermatologist_id, True, Status.OPEN)
    client.post(url, {"action": "waiting_on_patient"})
    assert state()[2] == Status.WAITING_ON_PATIENT
    client.post(url, {"action": "close"})
    assert state()[2] == Status.CLOSED
    response = client.post(url, {"action": "reopen"}, follow=True)
    assert state()[2] == Status.OPEN
    assert "Conversation reopened." in response.content.decode()


@pytest.mark.parametrize("body", [
    {"action": "assign", "assignee": "other-clinic"},
    {"action": "assign", "assignee": "99999999999999999999"},
    {"action": "assign", "assignee": "patient"},
    {"action": "delete"},
    {},
], ids=["another clinic's clinician", "huge id", "a patient", "unknown action", "no action"])
def test_a_bad_action_is_refused_with_a_message_and_changes_nothing(
        client, staff, other_staff, patient_a, now, body):
    # given
    thread = _question(patient_a, now)
    body = dict(body)
    if body.get("assignee") == "other-clinic":
        body["assignee"] = other_staff.pk
    elif body.get("assignee") == "patient":
        body["assignee"] = patient_a.user_id
    before = Thread.objects.values().get(pk=thread.pk)
    client.force_login(staff)
    # when
    response = client.post(reverse("clinic_thread_action", args=[thread.pk]), body)
    # then
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose someone at this clinic." in html or "Choose one of the buttons" in html
    assert Thread.objects.values().get(pk=thread.pk) == before


def test_actions_and_replies_on_another_clinics_thread_are_404(client, other_derm, patient_a,
                                                                now):
    thread = _question(patient_a, now)
    before = Thread.objects.values().get(pk=thread.pk)
    client.force_login(other_derm)
    assert client.post(reverse("clinic_thread_action", args=[thread.pk]),
                       {"action": "close"}).status_code == 404
    assert client.post(reverse("clinic_thread_reply", args=[thread.pk]),
                       {"body": "Hi"}).status_code == 404
    assert Thread.objects.values().get(pk=thread.pk) == before
    assert Message.objects.count() == 1


# --- Reply templates ------------------------------------------------------------------------

def test_templates_are_added_edited_and_taken_out_of_use(client, derm, staff, now):
    # given
    client.force_login(staff)
    # when: added
    response = client.post(reverse("clinic_reply_templates"),
                           {"title": "Gel use", "body": "A pea-sized amount.", "active": "on"})
    # then
    assert response.status_code == 302
    template = ReplyTemplate.objects.get()
    assert (template.title, template.active, template.clinic_id) == (
        "Gel use", True, staff.membership.clinic_id)
    # when: edited by the dermatologist
    client.force_login(derm)
    client.post(reverse("clinic_reply_template_edit", args=[template.pk]),
                {"title": "Gel use", "body": "Half a pea.", "active": "on"})
    # then
    template.refresh_from_db()
    assert template.body == "Half a pea."
    # when: taken out of use
    client.post(reverse("clinic_reply_template_active", args=[template.pk]), {"active": "0"})
    # then: not offered, still listed
    template.refresh_from_db()
    assert not template.active
    assert list(selectors.reply_templates_for(staff)) == []
    assert "Not in use" in client.get(reverse("clinic_reply_templates")).content.decode()


@pytest.mark.parametrize("body", [
    {"title": "", "body": "Text"},
    {"title": "x" * 81, "body": "Text"},
    {"title": "Gel use", "body": ""},
    {"title": "gel USE", "body": "Text"},
], ids=["no title", "title too long", "no text", "title taken"])
def test_a_bad_template_is_refused_and_saves_nothing(client, staff, now, body):
    reply_template_save(clinic_id=staff.membership.clinic_id, by=staff, title="Gel use",
                        body="A pea.", now=now)
    client.force_login(staff)
    response = client.post(reverse("clinic_reply_templates"), body)
    assert response.status_code == 400
    assert ReplyTemplate.objects.count() == 1
    assert response.context["form"].errors


def test_another_clinics_template_is_404(client, staff, other_staff, now):
    foreign = reply_template_save(clinic_id=other_staff.membership.clinic_id, by=other_staff,
                                  title="Theirs", body="Not ours", now=now)
    client.force_login(staff)
    assert client.get(reverse("clinic_reply_template_edit",
                              args=[foreign.pk])).status_code == 404
    assert client.post(reverse("clinic_reply_template_active", args=[foreign.pk]),
                       {"active": "0"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.active


# --- The patient page and the navigation ----------------------------------------------------

def test_the_patient_page_lists_the_patients_threads_and_writes_to_them(client, staff, derm,
                                                                       patient_a, now):
    # given
    thread = _question(patient_a, now - timedelta(hours=1))
    client.force_login(staff)
    # when
    page = client.get(reverse("patient_detail", args=[patient_a.pk])).content.decode()
    # then
    assert reverse("clinic_thread", args=[thread.pk]) in page
    assert "A question about my plan" in page
    assert "Write to the patient" in page
    # when: writing to them
    response = client.post(reverse("clinic_thread_start", args=[patient_a.pk]),
                           {"body": "How is the new routine going?"})
    # then
    started = Thread.objects.get(topic=Topic.FROM_CLINIC)
    assert response.url == reverse("clinic_thread", args=[started.pk])
    assert (started.patient, started.status, started.assignee) == (
        patient_a, Status.WAITING_ON_PATIENT, staff)


@pytest.mark.parametrize("body", ["", "x" * 5001])
def test_writing_a_bad_first_message_is_refused_and_saves_nothing(client, staff, patient_a, body):
    client.force_login(staff)
    response = client.post(reverse("clinic_thread_start", args=[patient_a.pk]), {"body": body})
    assert response.status_code == 400
    assert response.context["message_form"].errors["body"]
    assert not Thread.objects.exists()


def test_writing_to_another_clinics_patient_is_404(client, other_staff, patient_a):
    client.force_login(other_staff)
    response = client.post(reverse("clinic_thread_start", args=[patient_a.pk]), {"body": "Hi"})
    assert response.status_code == 404
    assert not Thread.objects.exists()


def test_the_navigation_counts_threads_waiting_for_this_clinician(client, staff, derm, clinic,
                                                                 patient_a, patient_b, now):
    # given: two waiting, one of them someone else's
    _question(patient_a, now)
    theirs = _question(patient_b, now)
    theirs.assignee = DermatologistFactory(membership=clinic)
    theirs.save()
    client.force_login(staff)
    # when
    page = client.get(reverse("my_patients")).content.decode()
    badge = client.get(reverse("clinic_inbox_count")).content.decode()
    # then
    assert '<span class="count-badge">1</span>' in page
    assert reverse("clinic_inbox") in page
    assert '<span class="count-badge">1</span>' in badge
    assert 'hx-trigger="every 60s"' in badge


def test_the_counts_polling_does_not_keep_an_idle_session_alive(client, staff, settings):
    # given: a clinician signed in, their tab polling the count every minute
    start = timezone.now()
    idle = settings.PORTAL_SESSION_IDLE_SECONDS_CLINICIAN
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(staff)
        client.get(reverse("clinic_inbox"))
        for _ in range(idle // 60 - 1):
            clock.shift(timedelta(minutes=1))
            poll = client.get(reverse("clinic_inbox_count"),
                              headers={"HX-Request": "true", "X-Background-Poll": "1"})
            assert poll.status_code == 200
        # when: the idle limit passes with nothing but polls
        clock.shift(timedelta(minutes=2))
        response = client.get(reverse("clinic_inbox_count"),
                              headers={"HX-Request": "true", "X-Background-Poll": "1"})
    # then: signed out, and the page goes to the sign-in form
    assert response.status_code == 204
    assert reverse("account_login") in response.headers["HX-Redirect"]
    assert "_auth_user_id" not in client.session


def test_a_real_request_keeps_the_session_alive(client, staff, settings):
    idle = settings.PORTAL_SESSION_IDLE_SECONDS_CLINICIAN
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(staff)
        client.get(reverse("clinic_inbox"))
        clock.shift(timedelta(seconds=idle - 60))
        client.get(reverse("clinic_inbox"))
        clock.shift(timedelta(seconds=idle - 60))
        response = client.get(reverse("clinic_inbox"))
    assert response.status_code == 200
