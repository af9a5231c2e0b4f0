"""The patient's messages pages: the list, a new conversation, a thread read and answered, the
navigation's unread count and its htmx endpoint, and the email after a clinic reply (issue 19)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkins.models import AttentionRequest
from messaging import notices
from messaging.models import Message, Severity, Thread, ThreadRead, Topic
from messaging.services import NEW_THREADS_PER_DAY, Attachment, message_post, thread_start
from messaging.tasks import message_notify, notices_sweep
from tests.factories import item_draft, photo_for, plan_for

pytestmark = pytest.mark.django_db


def _question(patient, now, body="Can I use the gel every other night?", topic=Topic.PLAN):
    return thread_start(patient=patient, by=patient.user, topic=topic, body=body, now=now)


def _answer(thread, staff, now, body="Yes: start every other night for two weeks."):
    return message_post(thread=thread, by=staff, from_clinic=True, body=body, now=now)


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- The list -------------------------------------------------------------------------------


def test_the_list_shows_the_patients_threads_newest_first_unread_marked(
        client, now, patient_a, patient_b, staff):
    # given: an older answered question and a newer unanswered one; patient B's own thread
    older = _question(patient_a, now - timedelta(days=2), body="Older question about the gel")
    _answer(older, staff, now - timedelta(days=1))
    newer = thread_start(patient=patient_a, by=patient_a.user, topic=Topic.COST,
                         body="Newer question about cost", now=now)
    _question(patient_b, now, body="Patient B writes")
    # when
    body = _page(client, patient_a.user, reverse("clinic_messages"))
    # then
    assert body.index(reverse("message_thread", args=[newer.pk])) < body.index(
        reverse("message_thread", args=[older.pk]))
    assert body.count("New reply") == 1
    assert "Care team: Yes: start every other night" in body
    assert "Patient B writes" not in body
    assert "The clinic usually answers within 2 working days." in body
    assert "Messages are not for emergencies." in body
    assert "call your emergency number now (999 in the UK, 112 in the EU, 911 in the US)" in body
    assert "flag" not in body.lower()


def test_the_reply_promise_follows_the_clinic_setting_and_is_pluralised(client, patient_a):
    # given
    patient_a.clinic.message_reply_days = 1
    patient_a.clinic.save()
    # when
    for name in ("clinic_messages", "message_new"):
        body = _page(client, patient_a.user, reverse(name))
        # then
        assert "The clinic usually answers within 1 working day." in body


def test_the_list_says_when_the_clinic_waits_for_an_answer_or_closed_it(client, now, patient_a,
                                                                       staff):
    # given
    from messaging.services import thread_set_status, thread_start_from_clinic

    thread_start_from_clinic(patient=patient_a, by=staff, body="How is it going?", now=now)
    closed = _question(patient_a, now)
    thread_set_status(thread=closed, by=staff, status="closed", now=now)
    # when
    body = _page(client, patient_a.user, reverse("clinic_messages"))
    # then
    assert "From your care team" in body
    assert "Waiting for your answer" in body
    assert "Closed" in body


def test_an_empty_list_says_what_to_do(client, patient_a):
    body = _page(client, patient_a.user, reverse("clinic_messages"))
    assert "No messages yet." in body
    assert f'href="{reverse("message_new")}"' in body


# --- Starting a conversation ----------------------------------------------------------------


def test_the_patient_starts_a_conversation_and_reads_it_back(client, now, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("message_new"), {
        "topic": "plan", "body": "Can I skip the gel on a night out?"})
    # then
    thread = Thread.objects.get(patient=patient_a)
    assert response.status_code == 302
    assert response.url == reverse("message_thread", args=[thread.pk])
    page = client.get(response.url).content.decode()
    assert "Message sent to your care team." in page
    assert "Can I skip the gel on a night out?" in page
    assert thread.topic == Topic.PLAN
    assert thread.severity == ""


def test_a_severe_side_effect_asks_for_attention(client, now, patient_a):
    client.force_login(patient_a.user)
    client.post(reverse("message_new"), {"topic": "side_effect", "severity": "severe",
                                         "body": "My face is swollen."})
    thread = Thread.objects.get(patient=patient_a)
    assert thread.severity == Severity.SEVERE
    assert AttentionRequest.objects.filter(patient=patient_a,
                                           kind="severe_side_effect").count() == 1


def test_a_side_effect_needs_its_severity_and_nothing_is_saved_without(client, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("message_new"), {"topic": "side_effect",
                                                    "body": "It stings a bit"})
    # then: the form again, the text kept, nothing saved
    body = response.content.decode()
    assert response.status_code == 400
    assert "Say how bad the side effect is." in body
    assert "It stings a bit</textarea>" in body
    assert not Thread.objects.exists()


def test_the_severity_is_dropped_for_another_topic(client, patient_a):
    client.force_login(patient_a.user)
    client.post(reverse("message_new"), {"topic": "cost", "severity": "severe",
                                         "body": "The gel costs a lot"})
    assert Thread.objects.get().severity == ""


@pytest.mark.parametrize(("data", "error"), [
    ({"topic": "plan", "body": "   "}, "Write your message first."),
    ({"body": "No topic"}, "Choose what your message is about."),
    ({"topic": "from_clinic", "body": "A topic not mine"}, "Select a valid choice."),
    ({"topic": "plan", "body": "x" * 5001}, "5000 characters"),
    ({"topic": "side_effect", "severity": "awful", "body": "x"}, "Select a valid choice."),
])
def test_bad_input_is_refused_with_a_clear_message(client, patient_a, data, error):
    client.force_login(patient_a.user)
    response = client.post(reverse("message_new"), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Thread.objects.exists()


def test_the_daily_limit_shows_the_reason_and_keeps_the_typed_text(client, now, patient_a):
    # given: the day's conversations already started
    for number in range(NEW_THREADS_PER_DAY):
        _question(patient_a, now - timedelta(hours=number), body=f"Question {number}")
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("message_new"), {"topic": "other",
                                                    "body": "One more question, please"})
    # then
    body = response.content.decode()
    assert response.status_code == 400
    assert "the most for a day" in body
    assert "One more question, please</textarea>" in body
    assert Thread.objects.count() == NEW_THREADS_PER_DAY


def test_a_diary_photo_and_a_plan_step_can_be_attached(client, now, patient_a, derm):
    # given
    revision = plan_for(patient_a, author=derm, items=[item_draft(name="Azelaic acid cream")])
    step = revision.items.get()
    photo = photo_for(patient_a, now=now)
    client.force_login(patient_a.user)
    form_page = client.get(reverse("message_new")).content.decode()
    assert "Azelaic acid cream" in form_page
    assert str(photo.public_id) in form_page
    # when
    response = client.post(reverse("message_new"), {
        "topic": "plan", "body": "Is this normal?", "photo": str(photo.public_id),
        "plan_item": str(step.key)})
    # then
    message = Message.objects.get()
    assert (message.photo, message.plan_item_key, message.plan_item_name) == (
        photo, step.key, "Azelaic acid cream")
    page = client.get(response.url).content.decode()
    assert reverse("my_photo_thumbnail", args=[photo.public_id]) in page
    assert "About this step of the plan: Azelaic acid cream" in page


def test_a_photo_or_step_that_is_not_the_patients_is_refused(client, now, patient_a, patient_b,
                                                              derm):
    # given: patient B's photo and plan step; patient A has a diary and a plan too
    photo_for(patient_a, now=now)
    plan_for(patient_a, author=derm)
    foreign_photo = photo_for(patient_b, now=now)
    foreign_step = plan_for(patient_b, author=derm).items.first()
    client.force_login(patient_a.user)
    # when
    photo_response = client.post(reverse("message_new"), {
        "topic": "plan", "body": "Look", "photo": str(foreign_photo.public_id)})
    step_response = client.post(reverse("message_new"), {
        "topic": "plan", "body": "Look", "plan_item": str(foreign_step.key)})
    # then
    assert photo_response.status_code == step_response.status_code == 400
    assert "Choose one of your own photos." in photo_response.content.decode()
    assert "Choose one of the steps of your plan." in step_response.content.decode()
    assert not Thread.objects.exists()


def test_no_photo_or_step_is_offered_without_a_diary_or_a_plan(client, patient_a, patient_b,
                                                                derm, now):
    # given: patient A has neither; patient B has both
    photo = photo_for(patient_b, now=now)
    step = plan_for(patient_b, author=derm).items.first()
    # when
    body = _page(client, patient_a.user, reverse("message_new"))
    responses = [client.post(reverse("message_new"), {"topic": "plan", "body": "Look", **extra})
                 for extra in ({"photo": str(photo.public_id)}, {"plan_item": str(step.key)})]
    # then: nothing offered, and what is posted anyway refused
    assert "Attach a photo from my diary" not in body
    assert "About this step of my plan" not in body
    assert [response.status_code for response in responses] == [400, 400]
    assert not Thread.objects.exists()


# --- A thread -------------------------------------------------------------------------------


def test_the_thread_shows_the_history_signed_and_marks_it_read(client, now, patient_a, staff):
    # given
    thread = _question(patient_a, now - timedelta(hours=3))
    _answer(thread, staff, now - timedelta(hours=1))
    assert _page(client, patient_a.user, reverse("clinic_messages")).count("New reply") == 1
    # when
    body = _page(client, patient_a.user, reverse("message_thread", args=[thread.pk]))
    # then
    assert "Can I use the gel every other night?" in body
    assert f"{staff.display_name}, Clinic staff" in body
    assert ThreadRead.objects.get(thread=thread, user=patient_a.user).read_at == now
    assert "New reply" not in _page(client, patient_a.user, reverse("clinic_messages"))


def test_the_patient_replies_and_the_thread_waits_for_the_clinic(client, now, patient_a, staff):
    # given
    thread = _question(patient_a, now - timedelta(hours=3))
    _answer(thread, staff, now - timedelta(hours=1))
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("message_thread", args=[thread.pk]),
                           {"body": "Thanks, and in the morning?"})
    # then
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.waiting_since == now
    assert thread.messages.last().body == "Thanks, and in the morning?"


def test_an_empty_reply_is_refused_and_nothing_saved(client, now, patient_a):
    thread = _question(patient_a, now)
    client.force_login(patient_a.user)
    response = client.post(reverse("message_thread", args=[thread.pk]), {"body": ""})
    assert response.status_code == 400
    assert "Write your message first." in response.content.decode()
    assert thread.messages.count() == 1


def test_another_patients_thread_is_not_found(client, now, patient_a, patient_b):
    thread = _question(patient_b, now)
    client.force_login(patient_a.user)
    url = reverse("message_thread", args=[thread.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "Hello"}).status_code == 404
    assert thread.messages.count() == 1
    assert not ThreadRead.objects.filter(user=patient_a.user).exists()


def test_free_text_is_shown_as_text(client, now, patient_a, staff):
    # given
    thread = _question(patient_a, now, body="<script>alert('x')</script> & more")
    _answer(thread, staff, now, body="<b>bold</b> answer")
    # when
    pages = [_page(client, patient_a.user, reverse("message_thread", args=[thread.pk])),
             _page(client, patient_a.user, reverse("clinic_messages"))]
    # then
    for body in pages:
        assert "<script>alert" not in body
        assert "<b>bold</b>" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in pages[0]
    assert "&lt;b&gt;bold&lt;/b&gt; answer" in pages[0]


def test_times_are_shown_in_the_patients_zone(client, now, derm, staff):
    # given: a Sydney patient; the answer at 12:00 UTC is 23:00 there (25 November)
    from tests.factories import PatientFactory

    patient = PatientFactory(dermatologist=derm, timezone="Australia/Sydney")
    thread = _question(patient, now - timedelta(hours=14))  # 22:00 UTC on the 24th: 09:00 25th
    _answer(thread, staff, now)
    # when
    body = _page(client, patient.user, reverse("message_thread", args=[thread.pk]))
    listing = _page(client, patient.user, reverse("clinic_messages"))
    # then
    assert "25 Nov 2026, 09:00" in body
    assert "25 Nov 2026, 23:00" in body
    assert "25 Nov 2026, 12:00" not in body + listing
    assert "Last message 25 Nov 2026, 23:00" in listing


# --- The navigation's unread count ----------------------------------------------------------


def test_the_navigation_counts_unread_threads(client, now, patient_a, staff):
    # given: two threads answered, one of them read since
    earlier = now - timedelta(hours=1)
    first, second = _question(patient_a, earlier), _question(patient_a, earlier, body="Another")
    _answer(first, staff, now)
    _answer(second, staff, now)
    # when
    body = _page(client, patient_a.user, reverse("today"))
    # then
    assert '<span class="unread-badge">(2<span class="visually-hidden"> unread</span>)' in body
    assert f'hx-get="{reverse("messages_unread")}"' in body
    assert f'href="{reverse("clinic_messages")}"' in body
    # when: one is read
    _page(client, patient_a.user, reverse("message_thread", args=[first.pk]))
    # then
    assert "(1<span" in _page(client, patient_a.user, reverse("today"))


def test_the_badge_endpoint_returns_the_count_alone_in_one_query(client, now, patient_a, staff):
    # given
    _answer(_question(patient_a, now - timedelta(hours=1)), staff, now)
    client.force_login(patient_a.user)
    client.get(reverse("messages_unread"))  # the session and the user are loaded
    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("messages_unread"))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert body.startswith('<span id="unread-messages"')
    assert "(1<span" in body
    assert "<html" not in body
    counts = [q for q in queries.captured_queries if "messaging_message" in q["sql"]]
    assert len(counts) == 1


def test_no_badge_without_unread_messages(client, now, patient_a):
    _question(patient_a, now)
    body = _page(client, patient_a.user, reverse("messages_unread"))
    assert "unread-badge" not in body
    assert "hx-get" in body  # still polled


def test_the_navigation_count_costs_one_query_per_page(client, now, patient_a, staff):
    _answer(_question(patient_a, now), staff, now)
    client.force_login(patient_a.user)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("my_plan"))
    assert len([q for q in queries.captured_queries if "messaging_threadread" in q["sql"]]) == 1


# --- The email after a clinic reply ---------------------------------------------------------


def test_a_clinic_reply_sends_one_email_without_health_data(
        now, patient_a, staff, derm, django_capture_on_commit_callbacks, monkeypatch):
    # given: a question about a plan step, with a side effect; the broker records what it gets
    enqueued: list[tuple] = []
    monkeypatch.setattr(message_notify, "delay", lambda *args: enqueued.append(args))
    step = plan_for(patient_a, author=derm,
                    items=[item_draft(name="Isotretinoin 20 mg")]).items.get()
    thread = thread_start(patient=patient_a, by=patient_a.user, topic=Topic.SIDE_EFFECT,
                          severity=Severity.MILD, body="My lips are very dry", now=now,
                          attachment=Attachment(plan_item_key=step.key,
                                                plan_item_name=step.name))
    mail.outbox.clear()
    # when: the clinic answers; its task (the message's id only) is delivered twice, and the
    # sweep runs too
    with django_capture_on_commit_callbacks(execute=True):
        reply = _answer(thread, staff, now, body="Use a lip balm with the isotretinoin.")
    assert enqueued == [(reply.pk,)]
    message_notify(*enqueued[0])
    message_notify(*enqueued[0])
    notices_sweep()
    # then: one email, linking to the thread, with nothing of the conversation
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [patient_a.user.email]
    assert reverse("message_thread", args=[thread.pk]) in email.body
    text = (email.subject + email.body).lower()
    for secret in ("lip balm", "isotretinoin", "lips are very dry", step.name.lower(),
                   "side effect", Topic.SIDE_EFFECT.label.lower(), "mild"):
        assert secret not in text


def test_the_sweep_sends_the_email_a_lost_task_never_did(now, patient_a, staff):
    # given: a clinic reply whose task never ran (no on-commit callbacks in this test)
    reply = _answer(_question(patient_a, now - timedelta(hours=1)), staff,
                    now - timedelta(minutes=30))
    mail.outbox.clear()
    # when
    notices_sweep()
    notices_sweep()
    # then
    assert len(mail.outbox) == 1
    assert not notices.pending_notice_ids(before=now)
    assert reply.notice.sent_at == now
