"""No copy of a signed-in page is kept (issue 13, point 8): every response to a signed-in
request is ``Cache-Control: no-store`` and private, pages, htmx partials, redirects and errors
alike, so neither a shared computer's back button nor a proxy keeps health data. Static files
keep their own caching headers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.cache import get_max_age

from tests.factories import plan_for

pytestmark = pytest.mark.django_db


def assert_not_kept(response) -> None:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= directives, (response.status_code,
                                                  response.get("Cache-Control"))
    assert "public" not in directives


def test_a_patients_pages_are_not_kept(client, derm, patient_a):
    # given
    plan_for(patient_a, author=derm)
    client.force_login(patient_a.user)
    # when
    responses = [client.get(reverse(name)) for name in
                 ("today", "checkin_history", "my_plan", "my_profile", "access_log")]
    # then
    assert [r.status_code for r in responses] == [200] * 5
    for response in responses:
        assert_not_kept(response)


def test_a_clinicians_pages_partials_and_redirects_are_not_kept(client, derm, patient_a):
    # given
    plan_for(patient_a, author=derm)
    client.force_login(derm)
    patient_page = reverse("patient_detail", kwargs={"patient_id": patient_a.pk})
    # when
    responses = {
        "patient page": client.get(patient_page),
        "patient list": client.get(reverse("my_patients")),
        "flag queue": client.get(reverse("flagged_patients")),
        "audit log": client.get(reverse("clinic_audit_log")),
        "htmx fit panel": client.post(reverse("plan_fit", kwargs={"patient_id": patient_a.pk}),
                                      {"action": "check"}, HTTP_HX_REQUEST="true"),
        "redirect": client.get(reverse("home")),
        "not found": client.get(reverse("patient_detail", kwargs={"patient_id": 999999})),
    }
    # then
    assert {name: r.status_code for name, r in responses.items()} == {
        "patient page": 200, "patient list": 200, "flag queue": 200, "audit log": 200,
        "htmx fit panel": 200, "redirect": 302, "not found": 404}
    for response in responses.values():
        assert_not_kept(response)


def test_signing_in_is_not_kept(patient_a):
    # given
    client = Client()
    # when: the response that sets the session cookie
    response = client.post(reverse("account_login"),
                           {"login": patient_a.user.email, "password": "wrong password"})
    signed_in_page = client.get(reverse("account_login"))
    # then
    assert_not_kept(response)
    assert_not_kept(signed_in_page)


def test_static_files_keep_their_caching(client, patient_a):
    # given: a signed-in visitor; static files are answered before the session is read
    client.force_login(patient_a.user)
    # when
    response = client.get("/static/css/portal.css")
    # then
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert get_max_age(response) != 0
