"""A conversation the patient marks private: only they and their care team see it, never a
caregiver acting for them (the list, the unread count, the page by id, the notices). Patient
pages say who wrote each patient-side message; a child without a mailbox is told of clinic
messages through their caregivers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent, no_login_email
from messaging import notices, selectors
from messaging.models import Thread, Topic
from messaging.services import MessageRefused, message_post, thread_make_private, thread_start
from tests.factories import (
    CaregiverFactory,
    CaregiverLinkFactory,
    PatientFactory,
    assent_for,
    plan_for,
)

pytestmark = pytest.mark.django_db


def _teen_and_parent(now):
    zoe = PatientFactory(date_of_birth=date(2012, 6, 1), user__first_name="Zoe")
    plan_for(zoe, author=zoe.dermatologist, now=now)
    parent = CaregiverFactory(first_name="Sam")
    link = CaregiverLinkFactory(caregiver=parent, patient=zoe, called="Mum")
    assent_for(link, now=now - timedelta(days=1))
    return zoe, parent, link


def _acting(client, user, patient):
    client.force_login(user)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = patient.pk
    session.save()


def _threads(zoe, now):
    shared = thread_start(patient=zoe, by=zoe.user, topic=Topic.PLAN, body="Gel question",
                          now=now - timedelta(hours=2))
    private = thread_start(patient=zoe, by=zoe.user, topic=Topic.OTHER,
                           body="Something only for you", now=now - timedelta(hours=1),
                           private=True)
    return shared, private


def test_the_teens_private_thread_is_invisible_to_the_parent(client, now, staff):
    # given Zoe's shared and private conversations, each answered by the clinic
    zoe, parent, _link = _teen_and_parent(now)
    shared, private = _threads(zoe, now)
    for thread in (shared, private):
        message_post(thread=thread, by=staff, from_clinic=True, body="Answer", now=now)
    _acting(client, parent, zoe)
    # when the parent opens the list, the private one by id, and the unread count
    listing = client.get(reverse("clinic_messages")).content.decode()
    by_id = client.get(reverse("message_thread", args=[private.pk]))
    unread = selectors.unread_count_for_patient(zoe, viewer=parent)
    # then only the shared conversation exists for them
    assert reverse("message_thread", args=[shared.pk]) in listing
    assert reverse("message_thread", args=[private.pk]) not in listing
    assert "Something only for you" not in listing
    assert by_id.status_code == 404
    assert unread == 1


def test_the_teen_and_the_clinic_see_the_private_thread(client, now):
    zoe, _parent, _link = _teen_and_parent(now)
    _shared, private = _threads(zoe, now)
    client.force_login(zoe.user)
    own = client.get(reverse("message_thread", args=[private.pk]))
    assert own.status_code == 200
    assert "Only you and your care team see this conversation." in own.content.decode()
    assert selectors.unread_count_for_patient(zoe) == 0
    client.force_login(zoe.dermatologist)
    clinic = client.get(reverse("clinic_thread", args=[private.pk])).content.decode()
    assert "Private: not shown to caregivers" in clinic
    inbox = client.get(reverse("clinic_inbox") + "?view=unassigned").content.decode()
    assert "Private: not shown to caregivers" in inbox


def test_the_teen_ticks_private_when_starting_a_conversation(client, now):
    # given Zoe has a caregiver
    zoe, _parent, _link = _teen_and_parent(now)
    client.force_login(zoe.user)
    # when she opens the form and sends with the box ticked
    form = client.get(reverse("message_new")).content.decode()
    response = client.post(reverse("message_new"), {
        "topic": "other", "body": "Just for the clinic", "private": "on"})
    # then the box was offered and the conversation is private
    assert "Private: only me and my care team" in form
    assert response.status_code == 302
    assert Thread.objects.get().private is True


def test_a_patient_nobody_helps_is_not_offered_private_and_a_parent_cannot_tick_it(
        client, now):
    zoe, parent, _link = _teen_and_parent(now)
    alone = PatientFactory()
    client.force_login(alone.user)
    assert "Private: only me" not in client.get(reverse("message_new")).content.decode()
    # the parent posting the box anyway: refused, nothing saved
    _acting(client, parent, zoe)
    form = client.get(reverse("message_new")).content.decode()
    response = client.post(reverse("message_new"), {
        "topic": "other", "body": "Sneaky", "private": "on"})
    assert "Private: only me" not in form
    assert response.status_code == 400
    assert not Thread.objects.exists()


def test_the_teen_makes_a_conversation_private_and_the_parent_cannot(client, now):
    # given a shared conversation
    zoe, parent, _link = _teen_and_parent(now)
    shared, _private = _threads(zoe, now)
    # when the parent tries to make it private, then Zoe does
    _acting(client, parent, zoe)
    by_parent = client.post(reverse("message_thread", args=[shared.pk]),
                            {"make_private": "1"})
    shared.refresh_from_db()
    assert by_parent.status_code == 404
    assert shared.private is False
    client.force_login(zoe.user)
    page = client.get(reverse("message_thread", args=[shared.pk])).content.decode()
    assert "Make this conversation private" in page
    response = client.post(reverse("message_thread", args=[shared.pk]), {"make_private": "1"})
    # then it is private, audited, and gone from the parent's pages at their next request
    shared.refresh_from_db()
    assert response.status_code == 302
    assert shared.private is True
    assert AuditEvent.objects.filter(object_type="message_thread_private",
                                     actor=zoe.user).count() == 1
    _acting(client, parent, zoe)
    assert client.get(reverse("message_thread", args=[shared.pk])).status_code == 404


def test_the_services_refuse_private_from_anyone_but_the_patient(now):
    zoe, parent, _link = _teen_and_parent(now)
    shared, _private = _threads(zoe, now)
    with pytest.raises(MessageRefused):
        thread_make_private(thread=shared, by=parent, now=now)
    with pytest.raises(MessageRefused):
        thread_start(patient=zoe, by=parent, topic=Topic.PLAN, body="x", now=now,
                     private=True)


def test_patient_pages_say_who_wrote_each_message(client, now):
    # given Zoe's conversation with a message from her and one from her parent
    zoe, parent, _link = _teen_and_parent(now)
    shared, _private = _threads(zoe, now)
    message_post(thread=shared, by=parent, from_clinic=False, body="From Mum", now=now)
    # when Zoe, then the parent, open it
    client.force_login(zoe.user)
    as_zoe = client.get(reverse("message_thread", args=[shared.pk])).content.decode()
    listing = client.get(reverse("clinic_messages")).content.decode()
    _acting(client, parent, zoe)
    as_parent = client.get(reverse("message_thread", args=[shared.pk])).content.decode()
    # then each sees "You" for their own, and the other's name
    assert '<p class="chat-author">You' in as_zoe
    assert '<p class="chat-author">Mum' in as_zoe
    assert "Mum: From Mum" in listing
    assert '<p class="chat-author">Zoe' in as_parent
    assert '<p class="chat-author">You' in as_parent


def test_a_child_without_a_mailbox_is_told_through_caregivers_never_with_the_text(
        now, staff):
    # given Mia (8) without a login, her parent (messages open), and an ended link
    mia = PatientFactory(date_of_birth=date(2018, 5, 1), user__email=no_login_email(),
                         user__first_name="Mia")
    parent = CaregiverFactory(email="parent@example.test")
    CaregiverLinkFactory(caregiver=parent, patient=mia)
    CaregiverLinkFactory(caregiver=CaregiverFactory(email="gone@example.test"), patient=mia,
                         ended_at=now - timedelta(days=1))
    thread = thread_start(patient=mia, by=parent, topic=Topic.PLAN, body="Q", now=now)
    # when the clinic answers with words that must not travel
    message = message_post(thread=thread, by=staff, from_clinic=True,
                           body="Use the tacrolimus ointment", now=now)
    sent = notices.message_notice_send(message_id=message.pk, now=now)
    # then the current parent alone is told, for Mia, without the text
    assert sent is True
    assert [m.to for m in mail.outbox] == [["parent@example.test"]]
    assert "Mia" in mail.outbox[0].body
    assert "tacrolimus" not in mail.outbox[0].body + mail.outbox[0].subject
    assert reverse("caregiver_choose") in mail.outbox[0].body


def test_a_private_threads_notice_goes_to_the_patient_only(now, staff):
    # given Zoe (her own mailbox) and her private conversation
    zoe, _parent, _link = _teen_and_parent(now)
    _shared, private = _threads(zoe, now)
    message = message_post(thread=private, by=staff, from_clinic=True, body="Answer", now=now)
    # when the notice goes out
    notices.message_notice_send(message_id=message.pk, now=now)
    # then to Zoe only
    assert [m.to for m in mail.outbox] == [[zoe.user.email]]


def test_a_private_thread_of_a_patient_without_a_mailbox_emails_nobody(now, staff):
    # (a teenager whose own address the clinic has not recorded yet)
    mia = PatientFactory(date_of_birth=date(2012, 5, 1), user__email=no_login_email())
    CaregiverLinkFactory(patient=mia)
    thread = thread_start(patient=mia, by=mia.user, topic=Topic.PLAN, body="Q", now=now,
                          private=True)
    message = message_post(thread=thread, by=staff, from_clinic=True, body="A", now=now)
    assert notices.message_notice_send(message_id=message.pk, now=now) is False
    assert mail.outbox == []


def test_a_teens_parent_is_offered_no_diary_photo_and_sees_none_in_a_thread(client, now):
    from tests.factories import photo_for

    # given Zoe's diary photo attached to a shared conversation
    zoe, parent, _link = _teen_and_parent(now)
    photo = photo_for(zoe, now=now)
    from messaging.services import Attachment

    thread = thread_start(patient=zoe, by=zoe.user, topic=Topic.PLAN, body="See this",
                          now=now, attachment=Attachment(photo=photo))
    _acting(client, parent, zoe)
    # when the parent opens the new-message form and the conversation
    form = client.get(reverse("message_new")).content.decode()
    page = client.get(reverse("message_thread", args=[thread.pk])).content.decode()
    # then no photo is offered or shown, only said to be there
    assert str(photo.public_id) not in form
    assert str(photo.public_id) not in page
    assert "it is not shown to caregivers" in page
    # and posting the photo anyway is refused
    response = client.post(reverse("message_thread", args=[thread.pk]),
                           {"body": "x", "photo": str(photo.public_id)})
    assert response.status_code == 400
