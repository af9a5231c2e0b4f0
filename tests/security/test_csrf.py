"""CSRF (issue #7, test 8): a POST without a valid token is refused on every endpoint.

The endpoints come from the resolver (the same enumeration as the access matrix), so a new URL
is covered the day it is added. Each one is posted to by someone who may use it (patient B for
the patient's pages, B's dermatologist for the clinic's, a clinic administrator for the admin,
anonymous and signed-in for allauth's pages), with a body that would write if the token were
not checked: ``test_the_same_posts_with_a_token_do_write`` proves that for the portal's own forms.
Every table (the session store aside) is compared row by row before and after.

The views exempt by design are listed in ``CSRF_EXEMPT_BY_DESIGN`` with the reason; a new
``csrf_exempt`` view fails ``test_only_the_documented_views_are_csrf_exempt`` until listed.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from oauth2_provider.models import Grant

from accounts.models import CaregiverLink, Patient, User
from careplans.models import Concern, PatientProfile, PlanRevision
from catalogue.models import CatalogueItem, RegimenTemplate, TemplateStep
from checkins.models import CheckIn
from flags.models import Flag, Outreach
from interop.models import ExportStatus, PatientDataExport
from messaging.models import Message, ReplyTemplate, Thread, Topic
from messaging.services import reply_template_save, thread_start
from photos.models import BodyArea, PhotoConsent, PhotoDecline, PhotoNote
from reminders.models import ReminderSettings
from reminders.services import unsubscribe_link_issue
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    CaregiverLinkFactory,
    CatalogueItemFactory,
    RegimenTemplateFactory,
    TemplateStepFactory,
    UserFactory,
    photo_for,
    unsubscribe_url,
)
from tests.interop.oauth import Pkce, authorize_params, patient_app
from tests.security.conftest import signed_in_user_id
from tests.security.test_access_matrix import (
    ALL_PATTERNS,
    NAMED,
    PUBLIC,
    _reverse,
    bulk_export_of,
    expectation,
)
from tests.security.test_tampering import (
    PLAN_ITEM,
    PROFILE,
    World,
    build_world,
    changed_tables,
    database_rows,
    plan_body,
    prefixed,
)

pytestmark = pytest.mark.django_db

# URL name -> why it may be posted to without a CSRF token.
CSRF_EXEMPT_BY_DESIGN = {
    "fhir_bulk_status": (
        "FHIR Bulk Data: an API client cancels an export with DELETE and an OAuth bearer "
        "token, without cookies. The token, never a session, authorises every method of the "
        "view (a session alone gets 401), so a forged cross-site request has nothing to ride on."
    ),
    "reminders_unsubscribe": (
        "RFC 8058 one-click unsubscribe: mail clients POST `List-Unsubscribe=One-Click` to the "
        "link without a session or a token. The signed token in the URL, not a session, "
        "authorises it, and all it can do is turn that one patient's reminders off."
    ),
    # The OAuth 2.0 endpoints an app's server calls (django-oauth-toolkit's own views): no
    # browser and no session; the client authenticates itself (its secret, or its PKCE verifier
    # with the code), so a cross-site POST carries nothing that would let it in.
    "oauth2_provider:token": (
        "OAuth 2.0 token endpoint (RFC 6749): apps' servers POST client credentials or an "
        "authorization code with its PKCE verifier; no cookie is read."
    ),
    "oauth2_provider:revoke-token": (
        "OAuth 2.0 revocation endpoint (RFC 7009): the client authenticates itself; no cookie "
        "is read."
    ),
}

ALLOWED = (200, 405, "not 5xx")


def roles_for(name: str) -> list[str]:
    """Who may use the page: the victim a forged cross-site POST would ride on."""
    if name.startswith("admin:"):
        return ["admin"]
    expect = expectation(name)
    if expect is None:  # not yet placed in the access matrix (which fails until it is)
        return ["anonymous", "patient_b", "derm"]
    if expect == PUBLIC:
        return ["anonymous", "derm"]  # sign-in pages, and a signed-in clinician's own settings
    for role in ("patient_b", "derm", "staff"):
        if getattr(expect, role) in ALLOWED:
            return [role]
    return ["patient_b"]  # open to every role (home, healthz)


CASES = [(name, role) for name in NAMED if name not in CSRF_EXEMPT_BY_DESIGN
         for role in roles_for(name)]


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def site(clinic, other_clinic, derm, staff, other_derm, other_staff, patient_a,
         patient_b) -> World:
    """Patient B's plan, concern and flag (from the tampering suite), and a clinic admin."""
    world = build_world(clinic, other_clinic, derm, staff, other_derm, other_staff, patient_a,
                        patient_b)
    world.admin = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(world.admin, TOTP_SECRET)
    # The clinic's catalogue: an item in a template's step.
    world.catalogue_step = TemplateStepFactory(
        template=RegimenTemplateFactory(clinic=clinic),
        catalogue_item=CatalogueItemFactory(clinic=clinic))
    world.photo_b = photo_for(patient_b)  # with consent given
    # A conversation of patient B's, and a reply template of the clinic (issue 19).
    world.thread_b = thread_start(patient=patient_b, by=patient_b.user, topic=Topic.PLAN,
                                  body="A question", now=timezone.now())
    world.reply_template = reply_template_save(clinic_id=clinic.pk, by=derm, title="Gel use",
                                               body="A pea-sized amount.", now=timezone.now())
    # Patient B's parent (issue 20).
    world.link_b = CaregiverLinkFactory(patient=patient_b)
    # An app patients may authorise (issue 21): the consent form's POST allows it.
    world.patient_app = patient_app()
    # Patient B's last "Download my data", expired (so a new press makes a new one; issue 21).
    world.export_b = PatientDataExport.objects.create(
        patient=patient_b, requested_by=patient_b.user, status=ExportStatus.EXPIRED)
    return world


def url_values(world: World) -> dict[str, Any]:
    """Values for every URL parameter: patient B's objects, a valid set-password link for B."""
    item = world.item(world.plan_b)
    return {
        "patient_id": world.b.pk, "flag_id": world.flag_b.pk, "concern_id": world.concern_b.pk,
        "item_key": item.key, "uidb64": urlsafe_base64_encode(force_bytes(world.b.user_id)),
        "token": default_token_generator.make_token(world.b.user), "uidb36": "1",
        "key": "not-a-key", "object_id": str(world.b.user_id), "content_type_id": "1",
        "id": str(world.b.user_id), "app_label": "accounts",
        "item_id": world.catalogue_step.catalogue_item_id,
        "template_id": world.catalogue_step.template_id, "step_id": world.catalogue_step.pk,
        "photo_id": world.photo_b.public_id, "thread_id": world.thread_b.pk,
        "reply_template_id": world.reply_template.pk, "link_id": world.link_b.pk,
        "resource_type": "Patient", "resource_id": world.b.pk,
        "clinic_id": world.b.clinic_id, "export_id": bulk_export_of(world.b.clinic).pk,
        "file_name": "Patient.ndjson",
        "data_export_id": world.export_b.pk,
    }


def actor(world: World, role: str) -> User | None:
    return {"anonymous": None, "patient_b": world.b.user, "derm": world.derm,
            "staff": world.staff, "admin": world.admin}[role]


# Bodies that write (the positive control proves it for the portal's own forms).
BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "today": lambda w: {"all_done": "1", "local_date": w.b.local_today().isoformat()},
    "raise_concern": lambda w: {"category": "no_time", "text": "Evenings are busy"},
    "my_profile": lambda w: PROFILE,
    "reminder_settings": lambda w: {"enabled": "", "local_time": "07:00", "channel": "email"},
    "language_choose": lambda w: {"language": "es"},
    "patient_invite": lambda w: {"first_name": "Rina", "last_name": "Patel",
                                 "email": "rina@example.test", "timezone": "Europe/London"},
    "plan_edit": lambda w: plan_body(w.b),
    "plan_fit": lambda w: plan_body(w.b, extra={"action": "check"}),
    "patient_profile_edit": lambda w: PROFILE,
    "concern_reply": lambda w: {"reply": "Try it every other night."},
    "flag_acknowledge": lambda w: prefixed("acknowledge", {"assignee": w.derm.pk}),
    "flag_outreach": lambda w: prefixed("outreach", {"channel": "call", "outcome": "reached"}),
    "flag_escalate": lambda w: prefixed("escalate", {"note": "Please review"}),
    "flag_resolve": lambda w: prefixed("resolve", {"resolution": "supported"}),
    "invitation_accept": lambda w: {"new_password1": "A-new-passw0rd-42",
                                    "new_password2": "A-new-passw0rd-42"},
    "account_login": lambda w: {"login": w.b.user.email, "password": PASSWORD},
    "account_logout": lambda w: {},
    "account_change_password": lambda w: {"oldpassword": PASSWORD, "password1": "N3w-pass-9x!",
                                          "password2": "N3w-pass-9x!"},
    "catalogue_item_add": lambda w: {"name": "Forged cream", "kind": "topical",
                                     "time_of_day": "evening", "frequency": "daily",
                                     "minutes": "1", "monthly_cost": "1.00"},
    "catalogue_item_retire": lambda w: {},
    "template_add": lambda w: {"name": "Forged regimen", "active": "on"},
    "template_step_add": lambda w: {"catalogue_item": w.catalogue_step.catalogue_item_id},
    "template_step_change": lambda w: {"action": "take_out"},
    "photo_consent_withdraw": lambda w: {"confirm": "on"},
    "photo_note_add": lambda w: {"text": "Less redness than last month."},
    "body_area_add": lambda w: {"name": "Left elbow crease"},
    "message_new": lambda w: {"topic": "cost", "body": "Forged question"},
    "caregivers_mine": lambda w: {"action": "invite", "email": "forged@example.test",
                                  "first_name": "For", "last_name": "Ged",
                                  "relationship": "other", "called": ""},
    "message_thread": lambda w: {"body": "Forged reply"},
    "clinic_thread_reply": lambda w: {"body": "Forged reply"},
    "clinic_thread_action": lambda w: {"action": "close"},
    "clinic_thread_start": lambda w: {"body": "Forged first message"},
    "clinic_reply_templates": lambda w: {"title": "Forged template", "body": "Forged",
                                         "active": "on"},
    "clinic_reply_template_edit": lambda w: {"title": "Gel use", "body": "Forged text",
                                             "active": "on"},
    "clinic_reply_template_active": lambda w: {"active": "0"},
    "patient_birth_date_set": lambda w: {"date_of_birth": "2015-04-03"},
    "patient_caregiver_invite": lambda w: {"first_name": "Forged", "last_name": "Parent",
                                           "email": "forged.parent@example.test",
                                           "relationship": "parent"},
    "patient_caregiver_end": lambda w: {},
    "oauth2_provider:authorize": lambda w: authorize_params(w.patient_app, Pkce.new())
    | {"allow": "on"},
    "data_export_request": lambda w: {},
}


def body_for(name: str, world: World) -> dict[str, Any]:
    """The endpoint's own writing body, or every known field at once for the rest."""
    if name in BODIES:
        return BODIES[name](world)
    merged: dict[str, Any] = {}
    for build in BODIES.values():
        merged.update(build(world))
    return {**merged, "name": "Forged", "email": "forged@example.test", "is_staff": "on",
            "is_superuser": "on", "code": "123456", "action": "delete", "post": "yes",
            "_save": "Save", "password": PASSWORD}


def a_secret() -> str:
    return get_random_string(32, allowed_chars=string.ascii_letters + string.digits)


# Ways a forged POST arrives: (cookie, form token, header token). A cross-site form carries the
# victim's cookie (if the browser sends it) but cannot read it to echo it back.
FORGERIES = {
    "no cookie, no token": (False, None, None),
    "cookie, no token": (True, None, None),
    "cookie, someone else's token": (True, "other", None),
    "cookie, malformed token": (True, "<script>", None),
    "cookie, wrong header token (htmx)": (True, None, "other"),
}


def forge(client: Client, url: str, body: dict[str, Any], how: str):
    cookie, token, header = FORGERIES[how]
    client.cookies.pop(settings.CSRF_COOKIE_NAME, None)
    if cookie:
        client.cookies[settings.CSRF_COOKIE_NAME] = a_secret()
    data = dict(body)
    if token is not None:
        data["csrfmiddlewaretoken"] = a_secret() if token == "other" else token
    headers = {"HTTP_X_CSRFTOKEN": a_secret(), "HTTP_HX_REQUEST": "true"} if header else {}
    return client.post(url, data, **headers)


@pytest.mark.parametrize(("name", "role"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_a_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(
    csrf_client, site, name, role
):
    # given
    user = actor(site, role)
    if user is not None:
        csrf_client.force_login(user)
    url = _reverse(name, url_values(site))
    body = body_for(name, site)
    before = database_rows()
    for how in FORGERIES:
        # when
        response = forge(csrf_client, url, body, how)
        # then
        assert response.status_code == 403, (how, response.status_code)
        assert b"CSRF verification failed" in response.content, how
    assert changed_tables(before, database_rows()) == []
    assert signed_in_user_id(csrf_client) == (str(user.pk) if user else None)


# The portal's writing endpoints: (role, proof that the POST wrote).
WRITES: dict[str, tuple[str, Callable[[World], bool]]] = {
    "today": ("patient_b", lambda w: CheckIn.objects.filter(patient=w.b).exists()),
    "raise_concern": ("patient_b", lambda w: Concern.objects.filter(
        patient=w.b, category="no_time").exists()),
    "my_profile": ("patient_b", lambda w: PatientProfile.objects.filter(
        patient=w.b, daily_pattern="shift_work").exists()),
    "reminder_settings": ("patient_b", lambda w: ReminderSettings.objects.filter(
        patient=w.b, enabled=False).exists()),
    "language_choose": ("patient_b", lambda w: User.objects.filter(
        pk=w.b.user_id, language="es").exists()),
    "patient_invite": ("derm", lambda w: Patient.objects.filter(
        user__email="rina@example.test").exists()),
    "plan_edit": ("derm", lambda w: PlanRevision.objects.filter(
        plan__patient=w.b, number=2).exists()),
    "patient_profile_edit": ("derm", lambda w: PatientProfile.objects.filter(
        patient=w.b, daily_pattern="shift_work").exists()),
    "concern_reply": ("derm", lambda w: Concern.objects.filter(
        pk=w.concern_b.pk, status="answered").exists()),
    "flag_acknowledge": ("derm", lambda w: Flag.objects.filter(
        pk=w.flag_b.pk, state="acknowledged").exists()),
    "flag_outreach": ("derm", lambda w: Outreach.objects.filter(flag=w.flag_b).exists()),
    "flag_escalate": ("derm", lambda w: Flag.objects.filter(
        pk=w.flag_b.pk, escalated_at__isnull=False).exists()),
    "flag_resolve": ("derm", lambda w: Flag.objects.filter(
        pk=w.flag_b.pk, state="resolved").exists()),
    "invitation_accept": ("anonymous", lambda w: User.objects.get(
        pk=w.b.user_id).check_password("A-new-passw0rd-42")),
    "catalogue_item_add": ("derm", lambda w: CatalogueItem.objects.filter(
        name="Forged cream").exists()),
    "catalogue_item_retire": ("derm", lambda w: CatalogueItem.objects.filter(
        pk=w.catalogue_step.catalogue_item_id, active=False).exists()),
    "template_add": ("derm", lambda w: RegimenTemplate.objects.filter(
        name="Forged regimen").exists()),
    "template_step_add": ("derm", lambda w: TemplateStep.objects.filter(
        template_id=w.catalogue_step.template_id).count() == 2),
    "template_step_change": ("derm", lambda w: not TemplateStep.objects.filter(
        pk=w.catalogue_step.pk).exists()),
    "photo_consent_withdraw": ("patient_b", lambda w: PhotoConsent.objects.filter(
        patient=w.b, withdrawn_at__isnull=False).exists()),
    "photo_consent_decline": ("patient_b", lambda w: PhotoDecline.objects.filter(
        patient=w.b).exists()),
    "photo_note_add": ("derm", lambda w: PhotoNote.objects.filter(
        photo=w.photo_b, text="Less redness than last month.").exists()),
    "body_area_add": ("derm", lambda w: BodyArea.objects.filter(
        clinic=w.b.clinic, name="Left elbow crease").exists()),
    "caregivers_mine": ("patient_b", lambda w: CaregiverLink.objects.filter(
        patient=w.b, caregiver__email="forged@example.test").exists()),
    "message_new": ("patient_b", lambda w: Thread.objects.filter(
        patient=w.b, topic="cost").exists()),
    "message_thread": ("patient_b", lambda w: Message.objects.filter(
        thread=w.thread_b, body="Forged reply").exists()),
    "clinic_thread_reply": ("derm", lambda w: Message.objects.filter(
        thread=w.thread_b, body="Forged reply").exists()),
    "clinic_thread_action": ("derm", lambda w: Thread.objects.filter(
        pk=w.thread_b.pk, status="closed").exists()),
    "clinic_thread_start": ("derm", lambda w: Message.objects.filter(
        thread__patient=w.b, body="Forged first message").exists()),
    "clinic_reply_templates": ("derm", lambda w: ReplyTemplate.objects.filter(
        title="Forged template").exists()),
    "clinic_reply_template_edit": ("derm", lambda w: ReplyTemplate.objects.filter(
        pk=w.reply_template.pk, body="Forged text").exists()),
    "clinic_reply_template_active": ("derm", lambda w: ReplyTemplate.objects.filter(
        pk=w.reply_template.pk, active=False).exists()),
    "patient_birth_date_set": ("staff", lambda w: Patient.objects.filter(
        pk=w.b.pk, date_of_birth="2015-04-03").exists()),
    "patient_caregiver_invite": ("staff", lambda w: CaregiverLink.objects.filter(
        patient=w.b, caregiver__email="forged.parent@example.test").exists()),
    "patient_caregiver_end": ("derm", lambda w: CaregiverLink.objects.filter(
        pk=w.link_b.pk, ended_at__isnull=False).exists()),
    "oauth2_provider:authorize": ("patient_b", lambda w: Grant.objects.filter(
        user=w.b.user, application=w.patient_app.application).exists()),
    "data_export_request": ("patient_b", lambda w: PatientDataExport.objects.filter(
        patient=w.b, status=ExportStatus.QUEUED).exists()),
}


@pytest.mark.parametrize("name", WRITES)
def test_the_same_posts_with_a_token_do_write(csrf_client, site, name):
    # given: the victim's own page gave them a token (cookie + form field)
    role, wrote = WRITES[name]
    user = actor(site, role)
    if user is not None:
        csrf_client.force_login(user)
    secret = a_secret()
    csrf_client.cookies[settings.CSRF_COOKIE_NAME] = secret
    # when
    response = csrf_client.post(_reverse(name, url_values(site)),
                                {**body_for(name, site), "csrfmiddlewaretoken": secret})
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    assert wrote(site)


@pytest.mark.parametrize(("name", "signed_in"), [("account_login", False),
                                                 ("account_logout", True)])
def test_signing_in_and_out_with_a_token_works(csrf_client, site, name, signed_in):
    # given
    if signed_in:
        csrf_client.force_login(site.b.user)
    secret = a_secret()
    csrf_client.cookies[settings.CSRF_COOKIE_NAME] = secret
    # when
    response = csrf_client.post(reverse(name),
                                {**body_for(name, site), "csrfmiddlewaretoken": secret})
    # then
    assert response.status_code == 302
    assert (signed_in_user_id(csrf_client) is None) is signed_in


def test_the_plan_fit_panel_answers_with_a_token(csrf_client, site):
    # given
    csrf_client.force_login(site.derm)
    secret = a_secret()
    csrf_client.cookies[settings.CSRF_COOKIE_NAME] = secret
    # when: htmx sends the token in its header
    response = csrf_client.post(reverse("plan_fit", args=[site.b.pk]),
                                plan_body(site.b, [PLAN_ITEM], extra={"action": "check"}),
                                HTTP_X_CSRFTOKEN=secret, HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200


def test_every_portal_writing_endpoint_is_in_the_enumeration():
    # The resolver list above must include at least the endpoints the issue names.
    named = {name for name, _ in CASES}
    assert {
        "today", "raise_concern", "my_profile", "reminder_settings", "patient_invite",
        "plan_edit", "plan_fit", "patient_profile_edit", "concern_reply", "flag_acknowledge",
        "flag_outreach", "flag_escalate", "flag_resolve", "account_login", "account_logout",
        "invitation_accept", "mfa_activate_totp", "mfa_deactivate_totp",
    } <= named
    assert any(name.startswith("admin:") for name in named)


# --- The one exemption, by design ----------------------------------------------------------

def test_only_the_documented_views_are_csrf_exempt():
    # given: every pattern the resolver knows, named or not
    exempt = sorted({f"{ns}{p.name}" if p.name else f"{ns}{p.pattern}"
                     for ns, p in ALL_PATTERNS if getattr(p.callback, "csrf_exempt", False)})
    # then
    assert exempt == sorted(CSRF_EXEMPT_BY_DESIGN)


@pytest.fixture
def subscribed(site) -> World:
    """Both patients have reminders on, so turning B's off is visible and A's must stay."""
    for patient in (site.a, site.b):
        ReminderSettings.objects.create(patient=patient)
    return site


def test_one_click_unsubscribe_needs_no_token_and_only_turns_that_patients_reminders_off(
    csrf_client, subscribed
):
    # given: a mail client, with no session and no CSRF cookie
    url = unsubscribe_url(subscribed.b)
    before = database_rows()
    # when: RFC 8058 one-click
    response = csrf_client.post(url, "List-Unsubscribe=One-Click",
                                content_type="application/x-www-form-urlencoded")
    # then
    assert response.status_code == 200
    assert changed_tables(before, database_rows()) == ["reminders.ReminderSettings"]
    assert dict(ReminderSettings.objects.values_list("patient_id", "enabled")) == {
        subscribed.a.pk: True, subscribed.b.pk: False}
    assert signed_in_user_id(csrf_client) is None


@pytest.mark.parametrize("method", ["get", "head"])
def test_opening_the_unsubscribe_link_changes_nothing(csrf_client, subscribed, method):
    # given: link scanners and prefetchers open links without the user
    url = unsubscribe_url(subscribed.b)
    before = database_rows()
    # when
    response = getattr(csrf_client, method)(url)
    # then
    assert response.status_code == 200
    assert changed_tables(before, database_rows()) == []


@pytest.mark.parametrize("token", [
    "tampered", "", "x" * 10_000, "MQ:forged:signature",
], ids=["garbage", "empty-ish", "huge", "forged-signature"])
def test_unsubscribing_without_a_valid_signed_token_changes_nothing(csrf_client, subscribed,
                                                                    token):
    # given
    valid = unsubscribe_link_issue(patient_id=subscribed.b.pk, now=timezone.now())
    token = {"tampered": valid[:-2] + ("aa" if not valid.endswith("aa") else "bb"),
             "": " "}.get(token, token)
    before = database_rows()
    # when
    response = csrf_client.post(reverse("reminders_unsubscribe", args=[token]))
    # then
    assert response.status_code == 400
    assert changed_tables(before, database_rows()) == []


def test_the_exempt_view_has_no_session_powers(csrf_client, subscribed):
    # given: B is signed in and an attacker forges a POST to A's unsubscribe link
    csrf_client.force_login(subscribed.b.user)
    url = unsubscribe_url(subscribed.a)
    # when: with fields another form would use
    response = csrf_client.post(url, {"enabled": "on", "local_time": "03:00", "weekdays": ["0"],
                                      "patient": subscribed.b.pk})
    # then: only the token's patient is affected, and only switched off
    assert response.status_code == 200
    assert dict(ReminderSettings.objects.values_list("patient_id", "enabled")) == {
        subscribed.a.pk: False, subscribed.b.pk: True}
    assert ReminderSettings.objects.get(patient=subscribed.a).weekdays == "0123456"
