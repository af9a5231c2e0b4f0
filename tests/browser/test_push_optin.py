"""The Reminders page's "this phone" section in Chromium: push.js subscribes through the Push
API and posts the subscription under the real CSP and CSRF; without a service worker or
JavaScript only the sentence shows. (The browser's push service itself is faked: a headless
browser cannot reach one, so the PushManager below answers as Chromium's would.)"""

import json

import pytest
from django.conf import settings
from django.test import Client

from reminders.management.commands.vapid_keys import vapid_key_pair
from reminders.models import PushSubscription
from tests.browser.conftest import PHONE, assert_no_axe_violations
from tests.factories import push_browser_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ENDPOINT = "https://fcm.googleapis.com/fcm/send/browser-test"

# A service worker registration whose PushManager subscribes at once, and a granted permission.
FAKE_PUSH = """
(() => {
  const json = %s;
  let current = null;
  const subscription = {endpoint: json.endpoint, toJSON: () => json,
                        unsubscribe: () => { current = null; return Promise.resolve(true); }};
  const registration = {pushManager: {
    getSubscription: () => Promise.resolve(current),
    subscribe: (options) => {
      window.__serverKeyLength = options.applicationServerKey.length;
      current = subscription; return Promise.resolve(subscription);
    }}};
  Object.defineProperty(ServiceWorkerContainer.prototype, "getRegistration",
                        {value: () => Promise.resolve(registration)});
  Object.defineProperty(ServiceWorkerContainer.prototype, "ready",
                        {get: () => Promise.resolve(registration)});
  Notification.requestPermission = () => Promise.resolve("granted");
})();
"""


@pytest.fixture
def push_on(settings):
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = vapid_key_pair()
    settings.VAPID_SUBJECT = "mailto:reminders@clinic.example"
    settings.WEBPUSH_ENABLED = True


def _tab(browser, live_server, user, *, javascript=True, init_script=None):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def test_the_installed_app_subscribes_this_phone_and_can_stop(browser, live_server, patient_a,
                                                              push_on):
    # given: the installed app (a service worker and the Push API)
    keys = push_browser_keys()[2]
    page = _tab(browser, live_server, patient_a.user, init_script=FAKE_PUSH % json.dumps(
        {"endpoint": ENDPOINT, "expirationTime": None, "keys": keys}))
    page.goto(f"{live_server.url}/reminders/")
    # when
    page.get_by_role("button", name="Send reminders to this phone").click()
    # then
    page.get_by_role("status").filter(has_text="Reminders will come to this phone.").wait_for()
    assert page.evaluate("window.__serverKeyLength") == 65
    saved = PushSubscription.objects.get()
    assert (saved.patient, saved.endpoint, saved.p256dh) == (patient_a, ENDPOINT,
                                                            keys["p256dh"])
    assert page.get_by_text("need the portal installed as an app").is_hidden()
    assert_no_axe_violations(page)
    # when
    page.get_by_role("button", name="Stop reminders on this phone").click()
    # then
    page.get_by_role("status").filter(has_text="no longer come to this phone").wait_for()
    assert not PushSubscription.objects.exists()
    page.get_by_role("button", name="Send reminders to this phone").wait_for()


@pytest.mark.parametrize("javascript", [True, False], ids=["no service worker", "no JS"])
def test_a_plain_browser_is_told_it_needs_the_installed_app(browser, live_server, patient_a,
                                                            push_on, javascript):
    # given: a browser tab, not the installed app
    page = _tab(browser, live_server, patient_a.user, javascript=javascript)
    # when
    page.goto(f"{live_server.url}/reminders/")
    # then
    page.get_by_text("need the portal installed as an app on your phone").wait_for()
    assert page.get_by_role("button", name="Send reminders to this phone").is_hidden()
    if javascript:
        assert_no_axe_violations(page)
