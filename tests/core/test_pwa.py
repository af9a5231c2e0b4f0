"""The installable portal over HTTP: the manifest, the service worker, the user tag on Today,
and Clear-Site-Data on sign-out."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from core.pwa import PWA_USER_HEADER, pwa_user_tag
from tests.factories import plan_for

pytestmark = pytest.mark.django_db


def test_the_manifest_installs_at_today_with_its_icons(client):
    # when
    response = client.get("/manifest.webmanifest")
    # then
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == reverse("today") == "/today/"
    assert (manifest["scope"], manifest["display"]) == ("/", "standalone")
    assert manifest["name"]
    assert manifest["short_name"]
    assert manifest["theme_color"] == "#0b5c6b"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        with open(path, "rb") as png:
            head = png.read(24)
        width = int.from_bytes(head[16:20], "big")
        assert head.startswith(b"\x89PNG")
        assert f"{width}x{width}" == icon["sizes"]


def test_the_service_worker_is_served_from_the_root_uncached(client):
    # when
    response = client.get("/sw.js")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]  # (no-store too, on a request with a session)
    body = response.content.decode()
    assert '"today": "/today/"' in body
    assert "/static/js/sw-push.js" in body
    assert "importScripts(CONFIG.push)" in body


def test_today_carries_the_users_tag_and_no_other_page_does(client, patient_a, derm):
    # given
    plan_for(patient_a, author=derm)
    client.force_login(patient_a.user)
    # when
    today = client.get(reverse("today"))
    history = client.get(reverse("checkin_history"))
    # then
    assert today[PWA_USER_HEADER] == pwa_user_tag(patient_a.user) != ""
    assert PWA_USER_HEADER not in history
    assert f'data-user="{pwa_user_tag(patient_a.user)}"' in today.content.decode()


def test_two_users_have_different_tags(patient_a, patient_b):
    assert pwa_user_tag(patient_a.user) != pwa_user_tag(patient_b.user)
    assert pwa_user_tag(None) == ""


def test_signing_out_clears_the_site_data(client, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    response = client.post(reverse("account_logout"))
    # then
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_other_responses_clear_nothing(client, patient_a):
    client.force_login(patient_a.user)
    assert "Clear-Site-Data" not in client.get(reverse("today"))
    assert "Clear-Site-Data" not in client.get(reverse("account_logout"))
