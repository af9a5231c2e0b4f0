"""What a teenager keeps from their caregiver beyond the tier's sections, found in review:
their phone, their photo card on Today, their view of the partnership on History, their own
words and time zone in "About me", private conversations (not for a young child); and that
no header or clinic action hides or fakes a caregiver's read."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.urls import reverse

from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent
from checkins.models import CheckIn
from messaging.models import Thread, Topic
from messaging.services import NEW_THREADS_PER_DAY, MessageRefused, thread_start
from reminders.models import PushSubscription
from tests.factories import (
    CaregiverLinkFactory,
    PatientFactory,
    assent_for,
    photo_for,
    plan_for,
    push_subscription_json,
)

pytestmark = pytest.mark.django_db

TEEN_BORN = date(2012, 3, 1)   # 14 at ``now`` (25 Nov 2026)
CHILD_BORN = date(2018, 5, 1)  # 8


def _acting(client, link):
    client.force_login(link.caregiver)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = link.patient.pk
    session.save()
    return client


def _teen_and_parent(now, **plan):
    teen = PatientFactory(date_of_birth=TEEN_BORN, user__first_name="Zoe")
    plan_for(teen, author=teen.dermatologist, now=now - timedelta(weeks=10), **plan)
    link = CaregiverLinkFactory(patient=teen)
    assent_for(link, now=now)
    return teen, link


def test_a_caregiver_cannot_subscribe_a_phone_as_the_patients(client, now, settings):
    # given a teenager's parent on the teenager's Reminders page
    settings.WEBPUSH_ENABLED = True
    teen, link = _teen_and_parent(now)
    _acting(client, link)
    # when they try to subscribe their phone for the teenager's reminders
    page = client.get(reverse("reminder_settings")).content.decode()
    response = client.post(reverse("push_subscribe"), json.dumps(push_subscription_json()),
                           content_type="application/json")
    # then it is not theirs to do: the teenager's reminders keep going to the teenager
    assert response.status_code == 404
    assert "this phone" not in page
    assert not PushSubscription.objects.filter(patient=teen).exists()


def test_a_teenagers_photo_card_is_not_on_today_for_their_parent(client, now):
    # given a teenager whose plan asks for a photo, overdue
    teen, link = _teen_and_parent(now, photo_every_weeks=2)
    photo = photo_for(teen, now=now - timedelta(weeks=5))
    # when the parent opens Today, then the teenager does
    parents = _acting(client, link).get(reverse("today")).content.decode()
    client.force_login(teen.user)
    own = client.get(reverse("today")).content.decode()
    # then only the teenager sees the photo card and the last photo
    assert str(photo.public_id) not in parents
    assert str(photo.public_id) in own


def test_a_teenagers_view_of_the_partnership_is_not_on_history_for_their_parent(client, now):
    # given the teenager rated the partnership 2 of 10 this week
    teen, link = _teen_and_parent(now)
    CheckIn.objects.create(patient=teen, local_date=teen.local_date(now) - timedelta(days=3),
                           revision=teen.care_plan.revisions.get(), steps_due=1, steps_done=1,
                           created_at=now, updated_at=now, partnership=2,
                           partnership_question="heard")
    # when the parent opens History, then the teenager does
    parents = _acting(client, link).get(reverse("checkin_history"))
    client.force_login(teen.user)
    own = client.get(reverse("checkin_history"))
    # then the partnership chart is the teenager's only
    assert parents.context["charts"].pulse is None
    assert "Our partnership" not in parents.content.decode()
    assert own.context["charts"].pulse is not None


def test_about_me_is_the_teenagers_own(client, now):
    # given a teenager's parent
    teen, link = _teen_and_parent(now)
    client = _acting(client, link)
    # when they open or post "About me"
    page = client.get(reverse("my_profile"))
    posted = client.post(reverse("my_profile"), {"timezone": "Pacific/Pago_Pago",
                                                 "acting_for": str(teen.pk)})
    today = client.get(reverse("today")).content.decode()
    # then it is not found, not offered in the menu, and the time zone is unchanged
    assert (page.status_code, posted.status_code) == (404, 404)
    assert reverse("my_profile") not in today
    teen.refresh_from_db()
    assert teen.timezone == "Europe/London"


def test_a_young_childs_parent_keeps_about_me(client, now):
    # given a child of 8 and their parent
    child = PatientFactory(date_of_birth=CHILD_BORN)
    plan_for(child, author=child.dermatologist, now=now)
    link = CaregiverLinkFactory(patient=child)
    # when the parent opens "About me"
    response = _acting(client, link).get(reverse("my_profile"))
    # then it is theirs to keep up to date
    assert response.status_code == 200


def test_a_young_child_with_a_login_cannot_hide_a_conversation(client, now):
    # given a child of 8 with a login of their own, and a parent
    child = PatientFactory(date_of_birth=CHILD_BORN)
    CaregiverLinkFactory(patient=child)
    client.force_login(child.user)
    # when the child writes, asking for "private"
    page = client.get(reverse("message_new")).content.decode()
    client.post(reverse("message_new"), {"topic": "other", "body": "hi", "private": "on"})
    # then the box is not offered and no conversation is kept from the parent
    assert 'name="private"' not in page
    assert not Thread.objects.filter(private=True).exists()
    with pytest.raises(MessageRefused):
        thread_start(patient=child, by=child.user, topic=Topic.OTHER, body="again",
                     private=True, now=now)


def test_a_background_poll_header_does_not_hide_a_caregivers_reads(client, now):
    # given a parent acting for a child
    child = PatientFactory(date_of_birth=CHILD_BORN)
    plan_for(child, author=child.dermatologist, now=now)
    link = CaregiverLinkFactory(patient=child)
    client = _acting(client, link)
    # when they read pages sending the header the unread badge's poll sends
    for name in ("my_plan", "photos", "access_log"):
        client.get(reverse(name), HTTP_X_BACKGROUND_POLL="1")
    client.get(reverse("messages_unread"), HTTP_X_BACKGROUND_POLL="1")
    # then each page read is audited; only the badge's poll is not
    audited = set(AuditEvent.objects.filter(actor=link.caregiver, patient=child)
                  .values_list("object_type", flat=True))
    assert audited == {"caregiver_plan", "caregiver_photos", "caregiver_access_log"}


def test_a_clinicians_family_page_read_is_not_listed_as_a_caregivers(client, now):
    # given the dermatologist opens a family URL of the teenager (answered 405)
    teen, _link = _teen_and_parent(now)
    client.force_login(teen.dermatologist)
    client.get(reverse("patient_caregiver_invite", args=[teen.pk]))
    # when the teenager reads who viewed their record
    client.force_login(teen.user)
    page = client.get(reverse("access_log")).content.decode()
    # then the dermatologist is listed as the clinic's, never as a caregiver
    assert "Caregiver" not in page
    assert teen.dermatologist.display_name in page


def test_a_caregiver_at_the_daily_limit_is_not_told_the_count(now):
    # given the teenager started the most conversations for a day, some private
    teen, link = _teen_and_parent(now)
    for number in range(NEW_THREADS_PER_DAY):
        thread_start(patient=teen, by=teen.user, topic=Topic.OTHER, body=f"{number}",
                     private=number == 0, now=now)
    # when the parent tries one more
    with pytest.raises(MessageRefused) as refused:
        thread_start(patient=teen, by=link.caregiver, topic=Topic.OTHER, body="one more",
                     now=now)
    # then the refusal gives no number that would count the private ones
    assert not any(character.isdigit() for character in str(refused.value))
