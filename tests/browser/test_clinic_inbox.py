"""Clinic staff on a desktop (1366x900) work the clinic's inbox (issue 19): the inbox with
conversations in several states, a waiting question opened, a reply template put in and adapted,
the reply sent, the thread assigned, handed to the dermatologist and closed. Every page
axe-clean (BROWSER_SCREENSHOTS=<folder> keeps a screenshot of each)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Severity, Status, Thread, Topic
from messaging.services import (
    Attachment,
    message_post,
    reply_template_save,
    thread_assign,
    thread_set_status,
    thread_start,
    thread_start_from_clinic,
)
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import PatientFactory, photo_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def test_staff_answer_a_waiting_question_from_the_inbox(live_server, browser, derm, staff):
    # given: a question with a diary photo (two days waiting), a severe side effect (three
    # hours), one with the dermatologist, one waiting on the patient, one closed
    now = timezone.now()

    def patient(first, last):
        return PatientFactory(dermatologist=derm, user__first_name=first, user__last_name=last)

    asker = patient("Amira", "Haddad")
    photo = photo_for(asker, now=now - timedelta(days=3))
    question = thread_start(
        patient=asker, by=asker.user, topic=Topic.PLAN, now=now - timedelta(days=2, hours=1),
        body="The gel stings a little at night.\nShould I use it every other night for now?",
        attachment=Attachment(photo=photo))
    severe = patient("Ben", "Okafor")
    thread_start(patient=severe, by=severe.user, topic=Topic.SIDE_EFFECT,
                 severity=Severity.SEVERE, body="My skin is peeling badly.",
                 now=now - timedelta(hours=3))
    with_derm = patient("Chloe", "Martin")
    derm_thread = thread_start(patient=with_derm, by=with_derm.user, topic=Topic.COST,
                               body="Is there a cheaper cream?", now=now - timedelta(hours=20))
    thread_assign(thread=derm_thread, by=staff, assignee=derm, now=now)
    thread_start_from_clinic(patient=patient("Dev", "Patel"), by=staff,
                             body="How is the new routine going?", now=now - timedelta(days=1))
    closed = patient("Eva", "Novak")
    done = thread_start(patient=closed, by=closed.user, topic=Topic.OTHER,
                        body="Can I come on Friday instead?", now=now - timedelta(days=4))
    message_post(thread=done, by=staff, from_clinic=True, body="Yes, Friday at 10.",
                 now=now - timedelta(days=4) + timedelta(hours=2))
    thread_set_status(thread=done, by=staff, status=Status.CLOSED, now=now - timedelta(days=3))
    reply_template_save(clinic_id=asker.clinic_id, by=derm, title="Stinging from the gel",
                        body="Some stinging is common in the first weeks. Use it every other "
                             "night for two weeks, then every night if your skin is calm.",
                        now=now)
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, staff.email)

    # when: the inbox
    page.goto(f"{live_server.url}/clinic/messages/")
    # then: waiting first, newest waiting first; the nav counts what waits for staff
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 3
    assert "Ben Okafor" in rows.nth(0).inner_text()
    assert "Severe" in rows.nth(0).inner_text()
    assert "Chloe Martin" in rows.nth(1).inner_text()
    assert "waiting 2 days" in rows.nth(2).inner_text()
    assert page.locator("#inbox-count").inner_text().startswith("2")
    assert_no_axe_violations(page)

    # when: the clinic's reply templates
    page.get_by_role("link", name="Reply templates").click()
    # then
    assert page.get_by_role("heading", name="Stinging from the gel").is_visible()
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Back to messages").click()

    # when: the other tabs
    page.get_by_role("link", name="Waiting on the patient").click()
    assert "Dev Patel" in page.locator("table.inbox tbody").inner_text()
    page.get_by_role("link", name="Closed").click()
    assert "Eva Novak" in page.locator("table.inbox tbody").inner_text()
    assert_no_axe_violations(page)

    # when: the waiting question
    page.get_by_role("link", name="Waiting for us").click()
    page.get_by_role("link", name="Amira Haddad").click()
    # then: its history, with the photo
    assert page.get_by_text("Should I use it every other night for now?").is_visible()
    assert page.get_by_role("img", name=re.compile("Photo of Face")).is_visible()

    # when: a template is chosen (htmx fills the reply in place), adapted, sent
    page.get_by_label("Use a template").select_option(label="Stinging from the gel")
    page.get_by_role("button", name="Put it in the reply").click()
    reply = page.get_by_label("Your message")
    page.wait_for_function(
        "() => document.querySelector('#reply-form textarea').value.includes('stinging')")
    assert "/clinic/messages/" in page.url
    assert "template=" not in page.url  # filled in place, no page load
    reply.fill(reply.input_value() + " Amira, the photo looks fine.")
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Send reply").click()
    # then
    assert page.get_by_text("Reply sent.").is_visible()
    assert page.get_by_text("Amira, the photo looks fine.").is_visible()

    # when: assigned, handed to the dermatologist, closed
    page.get_by_label("Assign to").select_option(label=f"{staff.display_name} (Clinic staff)")
    page.get_by_role("button", name="Assign", exact=True).click()
    assert page.get_by_text(f"Assigned to {staff.display_name}.").is_visible()
    page.get_by_role("button", name="Hand to the dermatologist").click()
    assert page.get_by_text("Handed to").is_visible()
    page.get_by_role("button", name="Close").click()
    # then
    assert page.get_by_text("Conversation closed.").is_visible()
    assert page.get_by_role("button", name="Reopen").is_visible()
    question.refresh_from_db()
    assert (question.status, question.assignee_id, question.for_dermatologist) == (
        Status.CLOSED, derm.pk, True)
    assert question.waiting_since is None
    assert Thread.objects.filter(status=Status.OPEN, waiting_since__isnull=False).count() == 2

    # when: the patient's page, from the thread
    page.get_by_role("link", name="Amira Haddad").click()
    # then: the conversation in its "Messages", and a way to write to her
    messages = page.get_by_role("region", name="Messages")
    assert messages.get_by_role("link", name="A question about my plan").is_visible()
    assert "Closed" in messages.inner_text()
    page.get_by_text("Write to the patient").click()
    assert messages.get_by_label("Your message").is_visible()
    assert_no_axe_violations(page)
