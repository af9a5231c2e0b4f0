"""A staff member works a flag on a phone: queue, flag page, acknowledge, outreach, resolve.
Once with htmx (JavaScript on) and once as plain forms (JavaScript off). And on a desktop, the
flag page of every rule: its chart of the rule's own signal, no two labels overlapping."""

import re

import pytest

from flags.charts import evidence_charts
from tests.browser.conftest import PHONE, assert_no_axe_violations
from tests.factories import PASSWORD, adherence_drop_flag
from tests.flags.conftest import flags_of_every_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user) -> None:
    """Through the real sign-in form; clinicians enrolled in two-step verification are asked
    for their authenticator code next (the factories' secret)."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.IGNORECASE)).click()
    page.wait_for_load_state()
    if "/2fa/authenticate/" in page.url:
        from tests.factories import totp_code

        page.get_by_label(re.compile("code", re.IGNORECASE)).first.fill(totp_code())
        page.get_by_role("button", name=re.compile("sign in|verify|continue",
                                                   re.IGNORECASE)).first.click()
        page.wait_for_load_state()


@pytest.fixture
def flag(patient_a, derm):
    """An adherence drop over five weeks of check-ins, one of them with a note."""
    return adherence_drop_flag(patient_a, author=derm, note="Work has been hectic",
                               note_days_ago=3, unlogged_every=4, satisfaction=3)


def test_staff_works_a_flag_from_the_queue_to_resolved(live_server, page, staff, flag,
                                                      patient_a):
    # given: the staff member signs in and lands on the queue
    name = patient_a.user.display_name
    log_in(page, live_server, staff)
    page.wait_for_url(f"{live_server.url}/clinic/flagged/")
    assert page.get_by_role("heading", level=1).inner_text() == "Flagged patients"
    assert_no_axe_violations(page)

    # when: they open the flag
    page.get_by_role("link", name=f"{name}: Adherence falling").click()
    page.wait_for_url(f"{live_server.url}/clinic/flags/{flag.pk}/")
    assert "Adherence 33% in the last 7 days" in page.locator("main").inner_text()
    assert page.get_by_role("img", name=re.compile("Steps done each day")).is_visible()
    assert_no_axe_violations(page)

    # and acknowledge it (assigned to themselves by default)
    page.get_by_role("button", name="Acknowledge").click()
    notice = page.locator("#flag-notice")
    notice.get_by_text("Acknowledged and assigned to you.").wait_for()
    # htmx moves the focus to the notice (its autofocus) once the swap has settled, a moment
    # after the text appears: wait for it (fails after the default timeout if it never moves)
    page.wait_for_function("document.activeElement && document.activeElement.id === "
                           "'flag-notice'")

    # and log a phone call with a message for the patient
    page.get_by_label("Phone call").check()
    page.get_by_label("Reached the patient").check()
    page.get_by_label("Message to the patient (optional)").fill(
        "Thanks for the chat. Try the gel every other night for now.")
    page.get_by_role("button", name="Log outreach").click()
    notice.get_by_text("Outreach logged.").wait_for()

    # and resolve it
    page.get_by_label("Reached and supported").check()
    page.get_by_role("button", name="Resolve").click()
    notice.get_by_text("Resolved: Reached and supported.").wait_for()
    history = page.locator("#flag-work").inner_text()
    assert "Acknowledged by" in history
    assert "Outreach logged by" in history
    assert "Resolved by" in history
    assert_no_axe_violations(page)

    # then: the queue no longer lists it
    page.get_by_role("link", name="Back to flagged patients").click()
    page.wait_for_url(f"{live_server.url}/clinic/flagged/")
    main = page.locator("main").inner_text()
    assert name not in main
    assert "No patient needs outreach right now." in main
    assert_no_axe_violations(page)


def test_without_javascript_the_forms_post_and_redirect_back(live_server, browser, staff, flag,
                                                           patient_a):
    # given: a phone browser with JavaScript turned off
    # (axe runs as JavaScript, so it is not run in this context.)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, staff)
    page.goto(f"{live_server.url}/clinic/flags/{flag.pk}/")

    # when: a form is sent incomplete, then complete
    page.get_by_label("Portal message").check()
    page.get_by_label("Message sent").check()
    page.get_by_role("button", name="Log outreach").click()
    assert "Write the message for a portal message." in page.locator("main").inner_text()
    page.get_by_label("Portal message").check()
    page.get_by_label("Message sent").check()
    page.get_by_label("Message to the patient (optional)").fill("We are here if you need us.")
    page.get_by_role("button", name="Log outreach").click()

    # then: back on the flag page with the message
    page.wait_for_url(f"{live_server.url}/clinic/flags/{flag.pk}/")
    assert "Outreach logged." in page.locator(".messages").inner_text()
    context.close()

    # and the patient reads the message under "Messages", with no mention of a flag
    patient_context = browser.new_context(viewport=PHONE)
    patient_page = patient_context.new_page()
    patient_page.set_default_timeout(15_000)
    log_in(patient_page, live_server, patient_a.user)
    patient_page.get_by_role("link", name="Messages").click()
    main = patient_page.locator("main").inner_text()
    assert "We are here if you need us." in main
    assert "flag" not in patient_page.content().lower()
    assert_no_axe_violations(patient_page)
    # and opens it: signed by the staff member, answerable
    patient_page.get_by_role("link", name="From your care team").click()
    main = patient_page.locator("main").inner_text()
    assert staff.display_name in main
    assert "We are here if you need us." in main
    assert patient_page.get_by_role("button", name="Send").is_visible()
    assert "flag" not in patient_page.content().lower()
    assert_no_axe_violations(patient_page)
    patient_context.close()


DESKTOP = {"width": 1366, "height": 900}

# Every evidence chart on the page: its signal, how many text labels it has and each pair of
# labels whose rendered boxes intersect (as Chromium lays them out).
CHART_LABELS = """() => [...document.querySelectorAll("svg.evidence-chart")].map(svg => {
  const boxes = [...svg.querySelectorAll("text")].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  });
  const overlaps = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
      overlaps.push([a.text, b.text]);
    }
  }));
  return {signal: svg.dataset.signal, labels: boxes.length, overlaps: overlaps};
})"""


def test_every_rules_chart_plots_its_signal_and_no_labels_overlap(live_server, browser, staff,
                                                                 derm):
    # given: a flag of every rule (and branch), a staff member on a desktop screen
    flags = flags_of_every_rule(derm)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, staff)
    assert_no_axe_violations(page)  # the queue
    for title, flag in flags.items():
        # when
        page.goto(f"{live_server.url}/clinic/flags/{flag.pk}/")
        found = page.evaluate(CHART_LABELS)
        # then
        assert page.get_by_role("heading", level=1).inner_text().endswith(f": {title}")
        assert [chart["signal"] for chart in found] == [
            chart.signal for chart in evidence_charts(flag)]
        for chart in found:
            assert chart["labels"] >= 4, (title, chart)  # three scale ticks and a window
            assert chart["overlaps"] == [], (title, chart)
        assert_no_axe_violations(page)
    context.close()
