"""The installable portal in Chromium, on a phone: the manifest and the service worker; a
check-in made offline (or whose sending fails midway), kept on the phone and sent once when
the connection returns; a replayed
submission saved once; signing out leaves nothing behind."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from checkins.models import CheckIn, StepLog, SubmissionKey
from checkins.services import checkin_submit
from tests.browser.conftest import assert_no_axe_violations, log_in
from tests.factories import backdated_revision, item_draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY_KEPT = "caches.keys().then(names => names.some(name => name.startsWith('today-')))"


def signed_in_and_kept(page, live_server, patient) -> None:
    """Signed in on Today, the worker in control and Today kept for offline use."""
    log_in(page, live_server, patient.user.email)
    page.wait_for_url(f"{live_server.url}/today/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_function(TODAY_KEPT)


def check_in_step_by_step(page) -> None:
    """The retinoid skipped (irritation), satisfaction 4, itch 2."""
    page.get_by_role("group", name="Adapalene 0.1% gel").get_by_label("Skipped").check()
    page.get_by_label("Why was Adapalene 0.1% gel skipped?").select_option("side_effects")
    page.get_by_role("group", name=re.compile("How satisfied")).get_by_label("4").check()
    page.get_by_label(re.compile("Itch or discomfort")).fill("2")
    page.get_by_role("button", name="Save check-in").click()


def test_the_manifest_is_valid_and_the_worker_controls_the_page(
    live_server, page, patient_a, routine_for_browser
):
    # given
    log_in(page, live_server, patient_a.user.email)
    page.wait_for_url(f"{live_server.url}/today/")
    # when
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(f"{live_server.url}{href}")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    # then
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = response.json()
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/today/", "/", "standalone")
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        image = page.request.get(f"{live_server.url}{icon['src']}")
        assert image.ok
        assert image.headers["content-type"] == "image/png"
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
    assert_no_axe_violations(page)


def test_the_start_url_opens_offline_with_the_last_today_seen(
    live_server, page, patient_a, routine_for_browser
):
    # given: Today kept with nothing checked in; then a check-in arrives the phone never saw
    signed_in_and_kept(page, live_server, patient_a)
    checkin_submit(patient=patient_a, local_date=patient_a.local_today(), answers=None,
                   now=timezone.now())
    page.context.set_offline(True)
    # when
    page.goto(f"{live_server.url}/today/")
    # then: the phone's copy (so not the server's page), with its scripts and styles
    page.get_by_role("heading", name="Today").wait_for()
    assert page.get_by_text("Checked in:").count() == 0
    assert page.evaluate("typeof PortalQueue") == "object"
    # and no other page is kept
    with pytest.raises(PlaywrightError):
        page.goto(f"{live_server.url}/history/")


def test_a_check_in_made_offline_is_sent_once_when_the_phone_is_back_online(
    live_server, page, patient_a, routine_for_browser
):
    # given: Today seen once online, then no connection at all
    signed_in_and_kept(page, live_server, patient_a)
    page.context.set_offline(True)
    # when: Today opens from the phone, and the patient checks in
    page.goto(f"{live_server.url}/today/")
    page.get_by_role("heading", name="Today").wait_for()
    check_in_step_by_step(page)
    # then: kept on the phone, not sent
    page.get_by_text("Saved on this phone, will send when online.").wait_for()
    assert_no_axe_violations(page)
    assert not CheckIn.objects.exists()
    # when: the connection returns
    page.context.set_offline(False)
    # then: sent, once, with the answers given
    page.get_by_text(re.compile("^Sent")).wait_for()
    checkin = CheckIn.objects.get()
    assert (checkin.steps_due, checkin.steps_done, checkin.satisfaction, checkin.itch) == (
        3, 2, 4, 2)
    assert StepLog.objects.get(checkin=checkin, done=False).skip_reason == "side_effects"
    assert SubmissionKey.objects.get().checkin == checkin
    assert page.evaluate("PortalQueue.all().then(entries => entries.length)") == 0


def test_a_check_in_whose_sending_fails_midway_is_kept_and_sent_on_the_next_visit(
    live_server, page, patient_a, routine_for_browser
):
    # given: the phone says it is online, but the connection drops while the check-in is
    # sent (every POST to Today fails at the network, the worker's retries too)
    signed_in_and_kept(page, live_server, patient_a)
    tried = []

    def connection_drops(route):
        tried.append(route.request.method)
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.context.route("**/today/**", connection_drops)
    # when
    page.get_by_role("button", name="I did everything").click()
    # then: kept on the phone, and the patient is told so
    page.get_by_text("Saved on this phone, will send when online.").wait_for()
    assert "POST" in tried
    assert not CheckIn.objects.exists()
    assert page.evaluate("PortalQueue.all().then(entries => entries.length)") == 1
    # when: the connection is back and the patient opens Today again
    page.context.unroute("**/today/**")
    page.reload()
    # then: sent, once
    page.get_by_text(re.compile("^Sent")).wait_for()
    checkin = CheckIn.objects.get()
    assert (checkin.steps_due, checkin.steps_done) == (3, 3)
    assert page.evaluate("PortalQueue.all().then(entries => entries.length)") == 0


REPLAY = """async (entry) => {
  const form = new FormData();
  for (const [name, value] of entry.fields) form.append(name, value);
  form.append("idempotency_key", entry.key);
  await PortalQueue.add(form, entry.user);
  return PortalQueue.flush("/today/", "X-Portal-Cache-Tag");
}"""


def test_the_same_queued_check_in_sent_twice_is_saved_once(
    live_server, page, patient_a, routine_for_browser
):
    # given: a check-in queued offline, and a copy of its queue entry
    signed_in_and_kept(page, live_server, patient_a)
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/today/")
    page.get_by_role("button", name="I did everything").click()
    page.get_by_text("Saved on this phone, will send when online.").wait_for()
    (entry,) = page.evaluate("PortalQueue.all()")
    page.context.set_offline(False)
    page.get_by_text(re.compile("^Sent")).wait_for()
    # when: the same submission arrives twice more (a lost answer, a second device sync)
    first = page.evaluate(REPLAY, entry)
    second = page.evaluate(REPLAY, entry)
    # then
    assert first["sent"] == second["sent"] == 1
    checkin = CheckIn.objects.get()
    assert (checkin.steps_due, checkin.steps_done) == (3, 3)
    assert SubmissionKey.objects.get().key.hex == entry["key"].replace("-", "")


def test_signing_out_clears_the_copies_and_the_queue(
    live_server, page, patient_a, routine_for_browser
):
    # given: Today kept, and a check-in waiting on the phone
    signed_in_and_kept(page, live_server, patient_a)
    page.evaluate("""() => {
      const form = new FormData();
      form.append("all_done", "1");
      return PortalQueue.add(form, document.getElementById("pwa-script").dataset.user);
    }""")
    assert page.evaluate("PortalQueue.all().then(entries => entries.length)") == 1
    # when
    page.locator("summary", has_text="More").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/accounts/login/"))
    # then: (the response's Clear-Site-Data, or the page's own clearing, which may still run)
    page.wait_for_function("caches.keys().then(names => names.length === 0)")
    page.wait_for_function("indexedDB.databases()"
                           ".then(dbs => !dbs.some(db => db.name === 'alliance-portal'))")
    page.wait_for_function("navigator.serviceWorker.getRegistrations()"
                           ".then(registrations => registrations.length === 0)")
    assert page.evaluate("caches.keys()") == []


def test_the_next_user_of_the_browser_finds_nothing_of_the_last(
    live_server, page, patient_a, patient_b, derm, routine_for_browser
):
    # given: patient A's Today kept and a check-in of A's waiting; A's session then ends
    # without signing out
    backdated_revision(patient_b, author=derm, number=1,
                       effective_from=routine_for_browser.effective_from,
                       items=[item_draft(name="Barrier cream", kind="skincare", position=1)])
    signed_in_and_kept(page, live_server, patient_a)
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/today/")
    page.get_by_role("button", name="I did everything").click()
    page.get_by_text("Saved on this phone, will send when online.").wait_for()
    tag_a = page.locator("#pwa-script").get_attribute("data-user")
    page.context.clear_cookies()
    page.context.set_offline(False)
    page.get_by_text("Sign in again to send it.").wait_for()  # kept for A, not sent
    # when: patient B signs in on the same browser
    log_in(page, live_server, patient_b.user.email)
    page.wait_for_url(f"{live_server.url}/today/")
    page.get_by_text("Barrier cream").first.wait_for()
    page.wait_for_function("PortalQueue.all().then(entries => entries.length === 0)")
    # then: A's copy and A's check-in are gone, and nothing was saved for either
    names = page.evaluate("caches.keys()")
    assert f"today-{tag_a}" not in names
    assert not CheckIn.objects.exists()
