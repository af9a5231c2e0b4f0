"""Reminders to whoever does the routine: a patient's reminders go to the patient (with a mailbox
of their own) and to each caregiver whose access opens the reminders and who asked for them; a
caregiver may get one reminder for all the children they help, sent once whatever the order."""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import CaregiverLink, no_login_email
from careplans.services import profile_update
from checkins.models import CheckIn
from reminders import channels, services, tasks
from reminders.models import (
    CaregiverDelivery,
    CaregiverReminderSettings,
    Delivery,
    ReminderSettings,
)
from tests.factories import (
    CaregiverFactory,
    CaregiverLinkFactory,
    PatientFactory,
    assent_for,
    patient_on_a_plan,
    plan_for,
)

pytestmark = pytest.mark.django_db

# 21:00 UTC on Wednesday 25 Nov 2026: past the default 20:00 reminder time in London.
EVENING = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
LINKED_AT = EVENING - timedelta(days=30)
MEDICINE = "Doxycycline 100 mg capsule"
GOAL = "Clear skin before the school photo"


def born_aged(years: int) -> date:
    return date(EVENING.year - years, 1, 15)


def child(derm, first_name: str, *, age: int, mailbox: bool = True, **step):
    """A patient of ``age`` on a one-step plan, due a reminder at ``EVENING``."""
    patient = patient_on_a_plan(derm, since=EVENING.date() - timedelta(days=10), **step)
    patient.date_of_birth = born_aged(age)
    patient.save(update_fields=["date_of_birth"])
    patient.user.first_name = first_name
    if not mailbox:
        patient.user.email = no_login_email()
    patient.user.save()
    return patient


def caregiver(name: str = "Sam", *, combined: bool | None = None, language: str = ""):
    user = CaregiverFactory(first_name=name, email=f"{name.lower()}@example.test",
                            language=language)
    if combined is not None:
        with time_machine.travel(LINKED_AT, tick=False):  # chosen long before any email
            CaregiverReminderSettings.objects.create(caregiver=user, combined=combined)
    return user


def link(carer, patient, **fields) -> CaregiverLink:
    return CaregiverLinkFactory(caregiver=carer, patient=patient, created_at=LINKED_AT, **fields)


def send_partition(ids: list[int]) -> dict[str, int]:
    with time_machine.travel(EVENING, tick=False):
        return tasks.reminders_send_partition.run(ids)


def dispatch() -> dict[str, int]:
    return send_partition(services.reminders_claim(now=EVENING))


def inbox(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def delivery_of(patient) -> Delivery:
    return Delivery.objects.get(patient=patient, kind=Delivery.Kind.DAILY)


def test_a_child_without_a_mailbox_is_reminded_through_their_parent_only(derm):
    # given: Mia, 8, has no login of her own; her mother helps with the routine
    mia = child(derm, "Mia", age=8, mailbox=False)
    mum = caregiver("Sam")
    link(mum, mia)
    # when
    outcome = dispatch()
    # then: one email, to the mother, naming Mia and pointing at the caregiver's chooser
    assert outcome == {"sent": 1}
    (email,) = mail.outbox
    assert email.to == ["sam@example.test"]
    assert email.subject == "Time for Mia's check-in"
    assert email.body.startswith("Hello Sam,")
    assert f"http://testserver{reverse('caregiver_choose')}" in email.body or (
        reverse("caregiver_choose") in email.body)
    assert delivery_of(mia).status == Delivery.Status.SENT
    assert CaregiverDelivery.objects.get().delivery == delivery_of(mia)


def test_a_child_without_a_mailbox_or_a_caregiver_is_skipped_with_a_reason(derm):
    # given
    mia = child(derm, "Mia", age=8, mailbox=False)
    # when
    outcome = dispatch()
    # then: nothing sent anywhere, recorded as not needed rather than failed
    assert outcome == {"skipped": 1}
    assert mail.outbox == []
    delivery = delivery_of(mia)
    assert (delivery.status, delivery.skip_reason) == ("skipped", "no_recipient")


def test_a_teenager_who_agreed_is_reminded_with_their_parent(derm):
    # given
    leo = child(derm, "Leo", age=14)
    dad = caregiver("Ravi")
    assent_for(link(dad, leo), given=True, now=EVENING - timedelta(days=3))
    # when
    dispatch()
    # then: Leo's own reminder, and his father's
    assert sorted(address for message in mail.outbox for address in message.to) == sorted(
        [leo.user.email, "ravi@example.test"])
    assert inbox("ravi@example.test")[0].subject == "Time for Leo's check-in"


@pytest.mark.parametrize("answer", [None, False], ids=["not asked yet", "said no"])
def test_a_teenager_who_has_not_agreed_is_reminded_alone(derm, answer):
    # given
    leo = child(derm, "Leo", age=14)
    dad = caregiver("Ravi")
    the_link = link(dad, leo)
    if answer is not None:
        assent_for(the_link, given=answer, now=EVENING - timedelta(days=3))
    # when
    dispatch()
    # then
    (email,) = mail.outbox
    assert email.to == [leo.user.email]


def test_a_former_caregiver_gets_nothing(derm):
    # given: the link ended last week
    mia = child(derm, "Mia", age=8)
    former = caregiver("Alex")
    link(former, mia, ended_at=EVENING - timedelta(days=7), ended_by=derm)
    # when
    dispatch()
    # then
    assert inbox("alex@example.test") == []
    assert len(inbox(mia.user.email)) == 1


def test_a_caregiver_who_turned_this_childs_reminders_off_gets_nothing(derm):
    # given
    mia = child(derm, "Mia", age=8, mailbox=False)
    link(caregiver("Sam"), mia, receives_reminders=False)
    # when
    dispatch()
    # then
    assert mail.outbox == []
    assert delivery_of(mia).skip_reason == "no_recipient"


@pytest.mark.parametrize("first", ["Mia", "Leo"])
def test_siblings_make_one_combined_reminder_whichever_is_sent_first(derm, first):
    # given: one parent of two children without mailboxes, their two claims in two partitions
    mia = child(derm, "Mia", age=9, mailbox=False)
    leo = child(derm, "Leo", age=6, mailbox=False)
    mum = caregiver("Sam")  # no row: combined by default
    link(mum, mia)
    link(mum, leo)
    ids = {Delivery.objects.get(pk=pk).patient.user.first_name: pk
           for pk in services.reminders_claim(now=EVENING)}
    second = "Leo" if first == "Mia" else "Mia"
    # when: the partitions run one after the other, then both again (a redelivery)
    outcomes = [send_partition([ids[first]]), send_partition([ids[second]])]
    again = send_partition(list(ids.values()))
    # then: one email naming both (the elder first), both children's reminders sent
    assert outcomes == [{"sent": 1}, {"sent": 1}]
    assert again == {"nothing to do": 2}
    (email,) = mail.outbox
    assert email.to == ["sam@example.test"]
    assert email.subject == "Time for check-ins: Mia and Leo"
    assert "Stop reminders for Mia: " in email.body
    assert "Stop reminders for Leo: " in email.body
    assert "List-Unsubscribe" not in email.extra_headers
    assert CaregiverDelivery.objects.get().patient is None
    assert {delivery_of(mia).status, delivery_of(leo).status} == {"sent"}


def test_a_combined_reminder_leaves_out_a_sibling_already_checked_in(derm):
    # given: Leo's check-in is done today
    mia = child(derm, "Mia", age=9)
    leo = child(derm, "Leo", age=6)
    mum = caregiver("Sam", combined=True)
    link(mum, mia)
    link(mum, leo)
    CheckIn.objects.create(patient=leo, local_date=EVENING.date(),
                           revision=leo.care_plan.revisions.get(), steps_due=2, steps_done=2)
    # when
    dispatch()
    # then
    (email,) = inbox("sam@example.test")
    assert email.subject == "Time for Mia's check-in"
    assert "Leo" not in email.body


def test_one_reminder_per_child_when_the_caregiver_chose_so(derm):
    # given
    mia = child(derm, "Mia", age=9, mailbox=False)
    leo = child(derm, "Leo", age=6, mailbox=False)
    mum = caregiver("Sam", combined=False)
    link(mum, mia)
    link(mum, leo)
    # when
    dispatch()
    dispatch()  # a second dispatcher run claims and sends nothing more
    # then: two emails, one per child, each with the mail client's unsubscribe for that child
    subjects = sorted(message.subject for message in inbox("sam@example.test"))
    assert subjects == ["Time for Leo's check-in", "Time for Mia's check-in"]
    assert all("List-Unsubscribe" in message.extra_headers for message in mail.outbox)


def test_a_caregivers_email_carries_no_health_data_even_with_step_names_on(derm):
    # given: the clinic names steps in reminders and the teenager quotes their goal
    clinic = derm.membership.clinic
    clinic.reminder_step_names = True
    clinic.save()
    leo = child(derm, "Leo", age=13, name=MEDICINE)
    profile_update(patient=leo, actor=derm, preferences=None,
                   data={"what_matters": GOAL, "monthly_budget": Decimal("30")})
    ReminderSettings.objects.create(patient=leo, include_goal=True)
    dad = caregiver("Ravi", language="de")
    assent_for(link(dad, leo), given=True, now=EVENING - timedelta(days=3))
    # when
    dispatch()
    # then: the steps and the goal reach Leo alone; his father's email (in German) neither
    (own,) = inbox(leo.user.email)
    assert MEDICINE in own.body
    assert GOAL in own.body
    (theirs,) = inbox("ravi@example.test")
    for words in (MEDICINE, "Doxycycline", GOAL, "acne", "step"):
        assert words not in theirs.subject + theirs.body
    assert "Leo" in theirs.subject
    assert theirs.body.startswith("Hallo Ravi,")


def unsubscribe_path(message) -> str:
    return re.search(r"/reminders/unsubscribe/[\w-]+/", message.body).group(0)


def test_a_caregivers_unsubscribe_link_stops_that_childs_reminders_to_them_only(client, derm):
    # given: a parent of two, one reminder per child
    mia = child(derm, "Mia", age=9)
    leo = child(derm, "Leo", age=6)
    mum = caregiver("Sam", combined=False)
    mia_link, leo_link = link(mum, mia), link(mum, leo)
    dispatch()
    (about_mia,) = [m for m in inbox("sam@example.test") if "Mia" in m.subject]
    path = unsubscribe_path(about_mia)
    # when
    with time_machine.travel(EVENING + timedelta(hours=1), tick=False):
        asked = client.get(path)
        done = client.post(path)
    # then: Mia's reminders no longer come to her mother; everything else unchanged
    assert "Stop Mia's check-in reminders coming to you?" in html.unescape(
        asked.content.decode())
    assert done.status_code == 200
    assert "Mia's reminders will no longer come to you" in html.unescape(done.content.decode())
    mia_link.refresh_from_db()
    leo_link.refresh_from_db()
    assert (mia_link.receives_reminders, leo_link.receives_reminders) == (False, True)
    assert not ReminderSettings.objects.filter(enabled=False).exists()


def test_a_caregivers_unsubscribe_link_stops_working_once_they_choose_again(client, derm):
    # given: the caregiver turned Mia's reminders back on after the email
    mia = child(derm, "Mia", age=9, mailbox=False)
    mum = caregiver("Sam")
    mia_link = link(mum, mia)
    dispatch()
    path = unsubscribe_path(mail.outbox[0])
    with time_machine.travel(EVENING + timedelta(days=1), tick=False):
        services.caregiver_reminders_choose(link=mia_link, receives=True, combined=True)
    # when
    with time_machine.travel(EVENING + timedelta(days=2), tick=False):
        response = client.post(path)
    # then
    assert response.status_code == 410
    mia_link.refresh_from_db()
    assert mia_link.receives_reminders is True


def test_an_expired_caregiver_link_is_refused(client, derm):
    mia = child(derm, "Mia", age=9, mailbox=False)
    mia_link = link(caregiver("Sam"), mia)
    dispatch()
    path = unsubscribe_path(mail.outbox[0])
    with time_machine.travel(EVENING + timedelta(days=services.UNSUBSCRIBE_LINK_DAYS, hours=1),
                             tick=False):
        response = client.post(path)
    assert response.status_code == 410
    mia_link.refresh_from_db()
    assert mia_link.receives_reminders is True


def partition_statements(derm, carers: int) -> tuple[int, int]:
    """(reads of the partition's claims, SELECTs of the whole partition run) for three children
    each with ``carers`` caregivers (one per child, so none combines)."""
    children = [child(derm, f"Kid{n}", age=8, mailbox=False) for n in range(3)]
    for patient in children:
        for n in range(carers):
            link(caregiver(f"Carer{patient.pk}x{n}", combined=False), patient)
    ids = services.reminders_claim(now=EVENING)
    with CaptureQueriesContext(connection) as read:
        services.reminders_claimed(delivery_ids=ids)
    with CaptureQueriesContext(connection) as run:
        outcome = send_partition(ids)
    assert outcome == {"sent": 3}
    assert len(mail.outbox) == 3 * carers
    selects = [q for q in run.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    CaregiverDelivery.objects.all().delete()
    Delivery.objects.all().delete()
    mail.outbox.clear()
    for patient in children:
        patient.is_active = False
        patient.save(update_fields=["is_active"])
    return len(read.captured_queries), len(selects)


def test_a_partitions_queries_do_not_grow_with_caregivers(derm):
    # given / when: the same partition with one caregiver per child, then ten
    one = partition_statements(derm, 1)
    ten = partition_statements(derm, 10)
    # then: the same reads (claims, steps, caregivers' links, assents, check-ins); each email
    # costs only its own INSERTs
    assert one == ten
    assert one[0] == 6


def test_a_transient_failure_retries_only_the_caregivers_not_yet_emailed(derm, monkeypatch):
    # given: two parents of a child without a mailbox; the second parent's SMTP send fails once
    mia = child(derm, "Mia", age=8, mailbox=False)
    link(caregiver("Sam"), mia)
    link(caregiver("Ravi"), mia)
    original = channels.EmailChannel.send
    failures = []

    def fails_once_for_ravi(self, message):
        if message.to == "ravi@example.test" and not failures:
            failures.append(message)
            raise ConnectionError("SMTP went away")
        return original(self, message)

    monkeypatch.setattr(channels.EmailChannel, "send", fails_once_for_ravi)
    retried = []
    monkeypatch.setattr(tasks.reminder_send, "apply_async",
                        lambda args, **options: retried.append(args))
    # when: the partition, then the retry it queued
    assert dispatch() == {"retrying": 1}
    with time_machine.travel(EVENING + timedelta(seconds=10), tick=False):
        assert services.reminder_send(delivery_id=retried[0][0], now=EVENING) == "sent"
    # then: each parent emailed once
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "ravi@example.test", "sam@example.test"]


@time_machine.travel(EVENING, tick=False)
def test_a_caregiver_chooses_on_the_childs_reminders_page(client, derm):
    # given: a parent acting for Mia
    mia = child(derm, "Mia", age=8, mailbox=False)
    mum = caregiver("Sam")
    mia_link = link(mum, mia)
    client.force_login(mum)
    client.post(reverse("caregiver_act"), {"patient": mia.pk})
    # when: they look, then turn Mia's reminders to them off and ask for one per child
    page = client.get(reverse("reminder_settings")).content.decode()
    saved = client.post(reverse("reminder_settings"), {"caregiver": "1", "combined": ""})
    # then
    assert "Send me this child's reminders" in html.unescape(page)
    assert "One reminder for all the children I help" in page
    assert saved.status_code == 302
    mia_link.refresh_from_db()
    assert mia_link.receives_reminders is False
    assert CaregiverReminderSettings.objects.get(caregiver=mum).combined is False


@time_machine.travel(EVENING, tick=False)
def test_the_childs_reminder_settings_keep_who_changed_them(client, derm):
    # given
    mia = child(derm, "Mia", age=8, mailbox=False)
    mum = caregiver("Sam")
    link(mum, mia)
    client.force_login(mum)
    client.post(reverse("caregiver_act"), {"patient": mia.pk})
    # when
    response = client.post(reverse("reminder_settings"), {
        "enabled": "on", "local_time": "18:30", "weekdays": list("0123456"),
        "channel": "email"})
    # then
    assert response.status_code == 302
    settings = ReminderSettings.objects.get(patient=mia)
    assert (settings.updated_by, str(settings.local_time)) == (mum, "18:30:00")


@time_machine.travel(EVENING, tick=False)
def test_a_caregiver_sets_the_teenagers_times_but_not_their_goal_quoting(client, derm):
    # given: a teenager who asked for their goal in their own reminder emails, and their parent
    ethan = child(derm, "Ethan", age=14, mailbox=True)
    ReminderSettings.objects.create(patient=ethan, include_goal=True)
    mum = caregiver("Sam")
    assent_for(link(mum, ethan), now=EVENING - timedelta(days=3))
    client.force_login(mum)
    client.post(reverse("caregiver_act"), {"patient": ethan.pk})
    # when: the parent opens and saves Ethan's reminders
    page = html.unescape(client.get(reverse("reminder_settings")).content.decode())
    client.post(reverse("reminder_settings"), {
        "enabled": "on", "local_time": "19:00", "weekdays": list("0123456"),
        "channel": "email"})
    # then: the time is Ethan's, the goal choice is not offered and stays his
    assert "At (Ethan's local time)" in page
    assert "Quote my goal" not in page
    settings = ReminderSettings.objects.get(patient=ethan)
    assert (str(settings.local_time), settings.include_goal) == ("19:00:00", True)


def test_a_caregiver_gets_the_childs_follow_up_and_visit_reminder_per_child(derm):
    # given: the clinic sends next-morning follow-ups; Mia's visit is on Friday 27 November
    clinic = derm.membership.clinic
    clinic.reminder_follow_up = True
    clinic.save()
    mia = PatientFactory(dermatologist=derm, date_of_birth=born_aged(8),
                         user__first_name="Mia", user__email=no_login_email())
    plan_for(mia, author=derm, now=EVENING - timedelta(weeks=3),
             reviews_on=EVENING.date() + timedelta(days=2))
    link(caregiver("Sam"), mia)
    dispatch()  # Wednesday evening: the check-in reminder, not logged afterwards
    # when: Thursday morning's follow-up, Thursday evening's visit reminder
    next_morning = EVENING + timedelta(hours=12)
    next_evening = EVENING + timedelta(days=1)
    for now in (next_morning, next_evening):
        with time_machine.travel(now, tick=False):
            tasks.reminders_send_partition.run(services.reminders_claim(now=now))
    # then: each to the mother, saying whose, and nothing of the care or the clinic
    subjects = [message.subject for message in inbox("sam@example.test")]
    assert subjects[:2] == ["Time for Mia's check-in",
                            "Mia's check-in from yesterday is still open"]
    assert "Mia's visit tomorrow" in subjects
    (visit,) = [m for m in mail.outbox if m.subject == "Mia's visit tomorrow"]
    assert "Mia has a visit tomorrow, Friday 27 November." in visit.body
    assert clinic.name not in visit.body
    assert len(mail.outbox) == len(subjects)  # nothing to the child's no-login address


@pytest.mark.django_db(transaction=True)
def test_two_siblings_sent_at_once_make_one_combined_reminder(derm):
    # given: two workers take the two siblings' claims at the same moment
    mia = child(derm, "Mia", age=9, mailbox=False)
    leo = child(derm, "Leo", age=6, mailbox=False)
    mum = caregiver("Sam")
    link(mum, mia)
    link(mum, leo)
    ids = services.reminders_claim(now=EVENING)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run(part):
        try:
            barrier.wait()
            results.append(tasks.reminders_send_partition.run(part))
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            channels.EMAIL.close()
            connection.close()

    threads = [threading.Thread(target=run, args=([pk],)) for pk in ids]
    with time_machine.travel(EVENING, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    # then: both reminders sent, one email to their mother
    assert errors == []
    assert sum(r.get("sent", 0) for r in results) == 2
    (email,) = mail.outbox
    assert email.subject == "Time for check-ins: Mia and Leo"
