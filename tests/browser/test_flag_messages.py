"""The flag of a severe side effect the patient wrote about: on a desktop, the page says in
words where it was reported and points to the conversation, never quoting it (issue 19)."""

import pytest

from checkins.models import AttentionRequest
from checkins.services import attention_dispatch_one
from flags.models import Flag
from messaging.models import Topic
from messaging.services import Attachment, thread_start
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_flags import DESKTOP, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_severe_message_flag_reads_in_words_with_its_conversation(live_server, browser, staff,
                                                                    patient_a, now):
    # given: the patient wrote about a severe side effect of a step of their plan
    thread_start(patient=patient_a, by=patient_a.user, topic=Topic.SIDE_EFFECT,
                 severity="severe", body="My lips are swollen since this morning", now=now,
                 attachment=Attachment(plan_item_key="6f1e1a56-1b9a-4a4e-9a43-0f0b2a2c5e11",
                                       plan_item_name="Adapalene 0.1% gel"))
    attention_dispatch_one(request_id=AttentionRequest.objects.get().pk, now=now)
    flag = Flag.objects.get()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, live_server, staff)
    # when
    page.goto(f"{live_server.url}/clinic/flags/{flag.pk}/")
    # then
    evidence = page.locator("section[aria-labelledby='evidence-heading']").inner_text()
    assert "Severe side effect reported in a message on" in evidence
    assert "(step: Adapalene 0.1% gel)" in evidence
    assert "a message to the care team" in evidence
    assert "The messages behind it" in evidence
    assert "swollen" not in page.locator("main").inner_text()
    assert_no_axe_violations(page)

    # and when staff write to the patient from the flag
    page.get_by_label("Portal message").check()
    page.get_by_label("Message sent").check()
    page.get_by_label("Message to the patient (optional)").fill(
        "Please stop the gel tonight; we will call you this afternoon.")
    page.get_by_role("button", name="Log outreach").click()
    page.locator("#flag-notice").get_by_text("Outreach logged.").wait_for()
    # then: the flag lists the conversation the patient can answer
    work = page.locator("#flag-work").inner_text()
    assert "Conversations with the patient" in work
    assert "(Waiting on the patient)" in work
    assert_no_axe_violations(page)
    context.close()
