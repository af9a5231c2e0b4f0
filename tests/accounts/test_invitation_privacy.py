"""Invitations give nothing away: the invitation link answers one way for every link that does
not work, whoever its id names; and inviting an address answers one way whether or not the
address already has an account, in this clinic or another."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Patient, User
from accounts.services import invitation_accept, invitation_link, patient_invite
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NONCE = re.compile(r'nonce="[^"]*"')


def _uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def _page(response) -> tuple[int, str]:
    """Status and page, without the per-response CSP nonce and CSRF token."""
    text = NONCE.sub("", response.content.decode())
    return response.status_code, re.sub(r'value="[A-Za-z0-9]{64}"', "", text)


@pytest.fixture
def invited(now, derm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        patient = patient_invite(invited_by=derm, clinic=derm.membership.clinic,
                                 email="new@example.test", first_name="Rina",
                                 last_name="Castillo", timezone_name="Europe/London")
    return patient


def test_every_link_that_does_not_work_gets_the_same_answer(
    client, now, derm, other_derm, patient_a, invited
):
    # given: a live link, to compare with
    live = invitation_link(invited.user)
    assert client.get(live).status_code == 200
    token = default_token_generator.make_token(patient_a.user)
    used_user = PatientFactory(dermatologist=derm).user
    used = reverse("invitation_accept", args=[_uid(used_user),
                                              default_token_generator.make_token(used_user)])
    invitation_accept(user=used_user, password="A-new-passw0rd-42", now=now)
    links = {
        "garbage id": reverse("invitation_accept", args=["%%%", token]),
        "nobody's id": reverse("invitation_accept", args=[_uid(User(pk=999_999)), token]),
        "a clinician's id": reverse("invitation_accept", args=[_uid(derm), token]),
        "another clinic's clinician": reverse(
            "invitation_accept", args=[_uid(other_derm),
                                       default_token_generator.make_token(other_derm)]),
        "a patient's id, wrong token": reverse("invitation_accept",
                                               args=[_uid(patient_a.user), "bad-token"]),
        "used": used,
    }
    # when
    answers = {name: _page(client.get(url)) for name, url in links.items()}
    with time_machine.travel(now + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60),
                             tick=False):
        answers["expired"] = _page(client.get(live))
    # then: one status and one page for all
    assert len(set(answers.values())) == 1, {k: v[0] for k, v in answers.items()}
    status, page = answers["used"]
    assert status == 400
    assert "This invitation link is no longer valid" in page


def _invite(client, derm, email, capture):
    client.force_login(derm)
    with capture(execute=True):
        response = client.post(reverse("patient_invite"), {
            "first_name": "Rina", "last_name": "Patel", "email": email,
            "timezone": "Europe/London"}, follow=True)
    return response


def test_inviting_an_address_in_use_elsewhere_answers_as_for_a_new_one(
    client, derm, other_derm, patient_a, django_capture_on_commit_callbacks
):
    # given: addresses with an account in another clinic, in this one, and one without
    elsewhere = PatientFactory(dermatologist=other_derm).user.email
    addresses = {"new": "brand.new@example.test", "patient elsewhere": elsewhere,
                 "clinician elsewhere": other_derm.email, "patient here": patient_a.user.email}
    # when
    answers = {}
    for name, email in addresses.items():
        response = _invite(client, derm, email.upper(), django_capture_on_commit_callbacks)
        answers[name] = (response.status_code, response.redirect_chain,
                         [m.message.replace(email.lower(), "<email>")
                          for m in response.context["messages"]])
    # then: the dermatologist sees the same thing every time
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    assert answers["new"][2] == ["Invitation sent to <email>."]
    # and only the new address got an account and an invitation link
    assert set(Patient.objects.filter(clinic=derm.membership.clinic)
               .values_list("user__email", flat=True)) == {
        "brand.new@example.test", patient_a.user.email}
    sent = {message.to[0]: message.body for message in mail.outbox}
    assert set(sent) == {email.lower() for email in addresses.values()}
    assert "/accounts/invitation/" in sent["brand.new@example.test"]
    for name in ("patient elsewhere", "clinician elsewhere", "patient here"):
        body = sent[addresses[name].lower()]
        assert "already has an account" in body
        assert "/accounts/invitation/" not in body
        assert reverse("account_login") in body


def test_the_invite_form_has_no_already_exists_error(client, derm, other_derm,
                                                     django_capture_on_commit_callbacks):
    # when
    response = _invite(client, derm, other_derm.email, django_capture_on_commit_callbacks)
    # then
    assert "already exists" not in response.content.decode()
