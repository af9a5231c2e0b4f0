"""The access matrix: every URL pattern the project resolves x every role -> the expected status.

URLs are enumerated from the resolver, so a new URL fails ``test_every_url_has_an_expectation``
until someone decides who may open it. Every object id in a URL belongs to patient B (of the
clinic of ``derm``/``staff``); patient A is patient B's neighbour in the same clinic. Foreign
objects are 404, anonymous visitors are sent to the login page.

Caregivers (issue 20) are three more roles. Patients A and B are siblings, both young children
(CHILD tier, by their dates of birth), so a caregiver acting for either opens every section:

- ``caregiver_b``: B's current caregiver, acting for B (their only open link, so they act for
  B without choosing). Patient pages without ids are 200 (B's), pages about B's objects 200.
- ``sibling_caregiver``: A's current caregiver, acting for A. Patient pages without ids are 200
  (A's); B's objects are 404 (not the child they act for).
- ``former_caregiver_b``: B's caregiver whose link has ended. They keep a current link to a third
  patient, a teenager who has not agreed yet (``Standing.NEEDS_ASSENT``), so they are still a
  caregiver but act for nobody. Decided: a caregiver acting for nobody gets 404 on every patient
  page (with or without ids, as any non-patient does) and their home redirects to the chooser
  (``caregiver_choose``). B's objects are 404 to them as to any outsider.

All three get clinic pages as 404, ``caregiver_choose`` 200 and ``caregiver_act`` 405 on GET
(POST only). A new URL's ``Expect`` leaves them at 404 unless it says otherwise: a patient page
open to caregivers adds ``**CAREGIVERS_ON_OWN_CHILDS_PAGE`` (no ids) or ``caregiver_b=200`` (one of
B's objects), and must be in ``accounts.caregiving.SECTION_BY_URL_NAME``.

The admin site has its own matrix below (``ADMIN_MATRIX``): every registered model's
changelist, add, change, delete and history pages (and a user's password page), with an object
of each clinic, for a clinic administrator of either clinic, the platform operator (a
superuser), and the portal's roles; a newly registered model fails until it has a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape
from oauth2_provider.models import Application

from accounts.caregiving import SECTION_BY_URL_NAME
from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent, Invitation
from accounts.services import audit_record, caregiver_link_end
from careplans.models import ClinicVisit, Concern, PlanRevision, Preference
from careplans.services import concern_raise
from flags.models import Flag, FlagSettings
from interop.models import BulkExport, ExportStatus
from interop.services import clinic_client_register
from messaging.models import Message, ReplyTemplate, Thread, Topic
from messaging.services import reply_template_save, thread_start
from reminders.services import unsubscribe_link_issue
from tests.factories import (
    CaregiverLinkFactory,
    CatalogueItemFactory,
    ClinicAdminFactory,
    FlagFactory,
    OperatorFactory,
    PatientFactory,
    RegimenTemplateFactory,
    TemplateStepFactory,
    photo_for,
    plan_for,
)

pytestmark = pytest.mark.django_db

CAREGIVER_ROLES = ("caregiver_b", "former_caregiver_b", "sibling_caregiver")
ROLES = ("anonymous", "patient_a", "patient_b", "derm", "other_derm", "staff", "other_staff",
         "clinic_admin", "other_clinic_admin", "operator", *CAREGIVER_ROLES)
PORTAL_ROLES = ROLES[:7]
ADMIN_ROLES = ("clinic_admin", "other_clinic_admin", "operator")
LOGIN = "login"  # a redirect to the login page
REDIRECT = "redirect"  # a redirect elsewhere (e.g. a role's home)
ANY_BUT_5XX = "not 5xx"  # allauth's own pages: they decide; they must never fail


@dataclass(frozen=True)
class Expect:
    anonymous: str | int = LOGIN
    patient_a: str | int = 404
    patient_b: str | int = 404
    derm: str | int = 404
    other_derm: str | int = 404
    staff: str | int = 404
    other_staff: str | int = 404
    # The admin site's roles: a clinic administrator of either clinic, the platform operator.
    # The portal shows them no record (they have no clinician role).
    clinic_admin: str | int = 404
    other_clinic_admin: str | int = 404
    operator: str | int = 404
    # Caregivers (see the module's docstring): B's current one acting for B, B's former one
    # acting for nobody, and A's (B's sibling's) acting for A.
    caregiver_b: str | int = 404
    former_caregiver_b: str | int = 404
    sibling_caregiver: str | int = 404


def everyone(expected: str | int, **overrides: str | int) -> Expect:
    """The same answer for every role (some overridden by keyword)."""
    return Expect(**{role: expected for role in ROLES} | overrides)


def portal_and_admin(portal: str | int, admin: str | int, **overrides: str | int) -> Expect:
    """One answer for the portal's roles (anonymous included) and the caregivers, another for
    the admin site's roles."""
    return everyone(portal, **{role: admin for role in ADMIN_ROLES} | overrides)


# A patient page without ids: a caregiver acting for a child is on that child's page.
CAREGIVERS_ON_OWN_CHILDS_PAGE = {"caregiver_b": 200, "sibling_caregiver": 200}
CAREGIVERS_POST_ONLY = {"caregiver_b": 405, "sibling_caregiver": 405}


# The patient's own pages, no ids (and a caregiver's, on the child they act for).
PATIENT_PAGE = Expect(patient_a=200, patient_b=200, **CAREGIVERS_ON_OWN_CHILDS_PAGE)
# A page about one of patient B's own objects (and B's caregiver's, acting for B).
PATIENT_B_OBJECT = Expect(patient_b=200, caregiver_b=200)
CLINIC_PAGE = Expect(derm=200, other_derm=200, staff=200, other_staff=200)  # no ids: own clinic
CLINIC_DERM_PAGE = Expect(derm=200, other_derm=200)
B_RECORD = Expect(derm=200, staff=200)  # patient B's record: clinicians of B's clinic
B_RECORD_DERM = Expect(derm=200)  # changes to B's plan/profile: B's dermatologist's clinic
B_RECORD_DERM_POST_ONLY = Expect(derm=405)
B_FLAG_POST_ONLY = Expect(derm=405, staff=405)
B_RECORD_POST_ONLY = Expect(derm=405, staff=405)  # e.g. record a visit: the clinic's clinicians
PATIENT_POST_ONLY = Expect(patient_a=405, patient_b=405,  # the patient's own, no ids
                           **CAREGIVERS_POST_ONLY)
# The clinic's own objects holding no patient data (e.g. its reply templates; ids of B's clinic).
B_CLINIC_OBJECT = Expect(derm=200, staff=200)
B_CLINIC_OBJECT_POST_ONLY = Expect(derm=405, staff=405)
PUBLIC = everyone(ANY_BUT_5XX)
# The catalogue and templates (no patient data): read by the clinic's dermatologists, staff and
# administrators; changed by dermatologists and administrators; ids are of derm's clinic.
CATALOGUE_PAGE = Expect(derm=200, other_derm=200, staff=200, other_staff=200, clinic_admin=200,
                        other_clinic_admin=200)
CATALOGUE_EDIT_PAGE = Expect(derm=200, other_derm=200, clinic_admin=200,
                             other_clinic_admin=200)
CATALOGUE_OBJECT = Expect(derm=200, staff=200, clinic_admin=200)
CATALOGUE_OBJECT_EDIT = Expect(derm=200, clinic_admin=200)
CATALOGUE_OBJECT_POST_ONLY = Expect(derm=405, clinic_admin=405)
# The portal's roles are sent to the admin's login; the admin's own roles are checked object
# by object in ADMIN_MATRIX (these URLs carry placeholder ids here).
ADMIN = portal_and_admin(REDIRECT, ANY_BUT_5XX)

EXPECTED: dict[str, Expect] = {
    # Each role's home (a caregiver acting for nobody: the chooser).
    "home": everyone(REDIRECT),
    "healthz": everyone(200),
    # The installable portal (core/pwa.py): browsers fetch both without cookies.
    "pwa_manifest": everyone(200),
    "pwa_service_worker": everyone(200),
    "access_log": PATIENT_PAGE,
    # A caregiver's own pages (issue 20): nobody else's.
    "caregiver_choose": Expect(**dict.fromkeys(CAREGIVER_ROLES, 200)),
    "caregiver_act": Expect(**dict.fromkeys(CAREGIVER_ROLES, 405)),
    "caregiver_stop": Expect(**dict.fromkeys(CAREGIVER_ROLES, 405)),
    # "People who help me": the patient's own page (never a caregiver's, tests/accounts).
    "caregivers_mine": Expect(patient_a=200, patient_b=200),
    # The Account page's language form: anyone signed in, their own account only; POST only.
    "language_choose": everyone(405, anonymous=LOGIN),
    "patient_invite": CLINIC_DERM_PAGE,
    "invitation_accept": PUBLIC,
    "reminders_unsubscribe": PUBLIC,
    "my_plan": PATIENT_PAGE,
    "my_plan_history": PATIENT_PAGE,
    "my_profile": PATIENT_PAGE,
    "today": PATIENT_PAGE,
    "checkin_history": PATIENT_PAGE,
    "reminder_settings": PATIENT_PAGE,
    # The patient's own phones: a caregiver's reminders come by email (404 for them).
    "push_subscribe": Expect(patient_a=405, patient_b=405),
    "push_unsubscribe": Expect(patient_a=405, patient_b=405),
    # Messages (the patient's): their conversations, a new one, one of them, the nav's count.
    "clinic_messages": PATIENT_PAGE,
    "message_new": PATIENT_PAGE,
    "messages_unread": PATIENT_PAGE,
    "message_thread": PATIENT_B_OBJECT,
    "raise_concern": PATIENT_B_OBJECT,
    "flagged_patients": CLINIC_PAGE,
    "my_patients": CLINIC_PAGE,
    "clinic_audit_log": CLINIC_PAGE,
    "flag_detail": B_RECORD,
    "flag_acknowledge": B_FLAG_POST_ONLY,
    "flag_outreach": B_FLAG_POST_ONLY,
    "flag_escalate": B_FLAG_POST_ONLY,
    "flag_resolve": B_FLAG_POST_ONLY,
    "patient_detail": B_RECORD,
    "plan_history": B_RECORD,
    "patient_profile_edit": B_RECORD_DERM,
    "plan_edit": B_RECORD_DERM,
    "plan_fit": B_RECORD_DERM_POST_ONLY,
    "concern_reply": B_RECORD_DERM_POST_ONLY,
    "catalogue_list": CATALOGUE_PAGE,
    "catalogue_export": CATALOGUE_PAGE,
    "catalogue_item_add": CATALOGUE_EDIT_PAGE,
    "catalogue_import": CATALOGUE_EDIT_PAGE,
    "catalogue_item_edit": CATALOGUE_OBJECT_EDIT,
    "catalogue_item_retire": CATALOGUE_OBJECT_POST_ONLY,
    "catalogue_item_restore": CATALOGUE_OBJECT_POST_ONLY,
    "template_list": CATALOGUE_PAGE,
    "template_add": CATALOGUE_EDIT_PAGE,
    "template_detail": CATALOGUE_OBJECT,
    "template_edit": CATALOGUE_OBJECT_EDIT,
    "template_step_add": CATALOGUE_OBJECT_POST_ONLY,
    "template_step_change": CATALOGUE_OBJECT_POST_ONLY,
    "visit_record": B_RECORD_POST_ONLY,
    # Family and caregivers (issue 20): the date of birth, invite a caregiver, end one's access.
    "patient_birth_date_set": Expect(derm=405, staff=405),
    "patient_login_give": Expect(derm=405, staff=405),
    "patient_caregiver_invite": Expect(derm=405, staff=405),
    "patient_caregiver_end": Expect(derm=405, staff=405),
    # The photo diary: the patient's page and consent; images by a photo's random id.
    "photos": PATIENT_PAGE,
    "photo_consent_give": PATIENT_POST_ONLY,
    "photo_consent_withdraw": PATIENT_POST_ONLY,
    "photo_consent_decline": PATIENT_POST_ONLY,
    "my_photo_image": PATIENT_B_OBJECT,
    "my_photo_thumbnail": PATIENT_B_OBJECT,
    "clinic_photo_image": B_RECORD,
    "clinic_photo_thumbnail": B_RECORD,
    # The clinic's photos page; notes and the clinic's own areas: its dermatologists, POST.
    "patient_photos": B_RECORD,
    "photo_note_add": B_RECORD_DERM_POST_ONLY,
    "body_area_add": B_RECORD_DERM_POST_ONLY,
    # The clinic's inbox (issue 19): threads by patient B's thread id; reply templates of B's
    # clinic; writing to patient B from their page.
    "clinic_inbox": CLINIC_PAGE,
    "clinic_inbox_count": CLINIC_PAGE,
    "clinic_thread": B_RECORD,
    "clinic_thread_reply": B_RECORD_POST_ONLY,
    "clinic_thread_action": B_RECORD_POST_ONLY,
    "clinic_thread_start": B_RECORD_POST_ONLY,
    "clinic_reply_templates": CLINIC_PAGE,
    "clinic_reply_template_edit": B_CLINIC_OBJECT,
    "clinic_reply_template_active": B_CLINIC_OBJECT_POST_ONLY,
    # The FHIR API (issue 21): discovery is open; reads take a bearer token, so a session (or
    # nothing) is the API's 401. The OAuth endpoints: token and revocation are POST only; the
    # consent page is a patient's, for themself (no request parameters here: the page's
    # "cannot connect" answer, 400); everyone else signed in is refused (403, a page).
    "fhir_metadata": everyone(200),
    "fhir_smart_configuration": everyone(200),
    "fhir_read": everyone(401),
    "fhir_search": everyone(401),
    "oauth2_provider:token": everyone(405),
    "oauth2_provider:revoke-token": everyone(405),
    "oauth2_provider:authorize": everyone(403, anonymous=LOGIN, patient_a=400, patient_b=400),
    # "Download my data" (issue 21): the patient's own page and button (a young child's
    # caregiver's too, Section.DATA_EXPORT), and patient B's ready zip by its id.
    "data_export": PATIENT_PAGE,
    "data_export_request": PATIENT_POST_ONLY,
    "data_export_download": PATIENT_B_OBJECT,
    # The admin signs in through allauth; a signed-in non-administrator is refused outright.
    "admin:login": portal_and_admin(403, REDIRECT, anonymous=LOGIN),
    # FHIR Bulk Data export (issue 21): an OAuth bearer token, never a session, opens these, so
    # every role is 401; a system client's reach is in tests/interop/test_bulk_export.py.
    "fhir_bulk_export_group": everyone(401),
    "fhir_bulk_export_patient": everyone(401),
    "fhir_bulk_status": everyone(401),
    "fhir_bulk_file": everyone(401),
}


def _url_patterns(resolver: URLResolver | None = None, namespace: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _url_patterns(entry, inner)
        elif isinstance(entry, URLPattern):
            yield namespace, entry


ALL_PATTERNS = [(ns, p) for ns, p in _url_patterns()]
NAMED = sorted({f"{ns}{p.name}" for ns, p in ALL_PATTERNS if p.name})


def expectation(name: str) -> Expect | None:
    if name in EXPECTED:
        return EXPECTED[name]
    if name.startswith("admin:"):
        return ADMIN
    if name.startswith(("account_", "mfa_")):
        return PUBLIC
    return None


def test_every_url_has_an_expectation():
    # A new URL must be placed in the matrix before it can ship.
    missing = [name for name in NAMED if expectation(name) is None]
    unnamed = [str(p.pattern) for ns, p in ALL_PATTERNS if not p.name and not ns]
    assert missing == []
    assert unnamed == []
    assert len(NAMED) > 40


@pytest.fixture
def clinic_admin(clinic):
    return ClinicAdminFactory(membership=clinic)


@pytest.fixture
def other_clinic_admin(other_clinic):
    return ClinicAdminFactory(membership=other_clinic)


@pytest.fixture
def operator():
    return OperatorFactory()


def born_years_ago(years: int, *, now=None):
    """A date of birth ``years`` and a half before ``now``'s date (half a year away from any
    birthday, so the tier holds whatever the day)."""
    today = timezone.localdate(now or timezone.now())
    return today.replace(year=today.year - years, day=1) - timedelta(days=182)


def caregivers_of_siblings(derm, patient_a, patient_b) -> dict:
    """Patients A and B as young siblings, and their caregivers (see the module's docstring):
    B's current one, B's former one (still caring for a teenager who has not agreed yet), A's."""
    now = timezone.now()
    for child in (patient_a, patient_b):
        child.date_of_birth = born_years_ago(8, now=now)
        child.save(update_fields=["date_of_birth"])
    caregiver_b = CaregiverLinkFactory(patient=patient_b, called="Mum").caregiver
    former = CaregiverLinkFactory(patient=patient_b, called="Dad")
    caregiver_link_end(link=former, ended_by=derm, now=now)
    teen = PatientFactory(dermatologist=derm, date_of_birth=born_years_ago(14, now=now))
    CaregiverLinkFactory(patient=teen, caregiver=former.caregiver, called="Dad")
    sibling = CaregiverLinkFactory(patient=patient_a, called="Nan").caregiver
    return {"caregiver_b": caregiver_b, "former_caregiver_b": former.caregiver,
            "sibling_caregiver": sibling}


@pytest.fixture
def world(client, patient_a, patient_b, derm, other_derm, staff, other_staff, clinic_admin,
          other_clinic_admin, operator, settings, tmp_path):
    """Patient B's objects: a plan, a concern on one of its steps, a flag, a conversation, a
    ready "Download my data" zip; and a catalogue item, template and template step, and a reply
    template, of their clinic. And the caregivers' roles."""
    from interop.patient_export import data_export_build, data_export_request

    revision = plan_for(patient_b, author=derm)
    item = revision.items.first()
    concern = concern_raise(patient=patient_b, revision=revision, item=item, category="cost",
                            text="Too dear")
    flag = FlagFactory(patient=patient_b)
    photo = photo_for(patient_b)
    thread = thread_start(patient=patient_b, by=patient_b.user, topic=Topic.PLAN,
                          body="A question", now=timezone.now())
    reply_template = reply_template_save(clinic_id=patient_b.clinic_id, by=derm, title="Gel use",
                                         body="A pea-sized amount.", now=timezone.now())
    settings.EXPORTS_DIR = tmp_path / "exports"
    export = data_export_request(patient=patient_b, requested_by=patient_b.user,
                                 now=timezone.now())
    data_export_build(export_id=export.pk, now=timezone.now())
    step = TemplateStepFactory(template=RegimenTemplateFactory(clinic=patient_b.clinic),
                               catalogue_item=CatalogueItemFactory(clinic=patient_b.clinic))
    users = {"anonymous": None, "patient_a": patient_a.user, "patient_b": patient_b.user,
             "derm": derm, "other_derm": other_derm, "staff": staff, "other_staff": other_staff,
             "clinic_admin": clinic_admin, "other_clinic_admin": other_clinic_admin,
             "operator": operator, **caregivers_of_siblings(derm, patient_a, patient_b)}
    values = {
        "patient_id": patient_b.pk, "flag_id": flag.pk, "concern_id": concern.pk,
        "item_key": item.key, "uidb64": "MQ",
        "token": unsubscribe_link_issue(patient_id=patient_b.pk, now=timezone.now()),
        "uidb36": "1", "key": "not-a-key", "object_id": "1", "content_type_id": "1", "id": "1",
        "app_label": "accounts",
        "item_id": step.catalogue_item_id, "template_id": step.template_id, "step_id": step.pk,
        "photo_id": photo.public_id, "thread_id": thread.pk,
        "reply_template_id": reply_template.pk,
        "link_id": CaregiverLinkFactory(patient=patient_b).pk,
        "resource_type": "Patient", "resource_id": patient_b.pk,
        "clinic_id": patient_b.clinic_id, "export_id": bulk_export_of(patient_b.clinic).pk,
        "file_name": "Patient.ndjson",
        "data_export_id": export.pk,
    }
    return users, values, flag


def bulk_export_of(clinic) -> BulkExport:
    """A done bulk export of ``clinic`` by one of its system clients."""
    application = Application.objects.create(
        name="EHR", client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS)
    return BulkExport.objects.create(
        application=application, clinic=clinic, level=BulkExport.Level.GROUP,
        resource_types=["Patient"], request_url="https://portal.test/fhir/R4/Patient/$export",
        status=ExportStatus.DONE, files=[{"type": "Patient", "name": "Patient.ndjson",
                                          "count": 1}],
        finished_at=timezone.now(), expires_at=timezone.now() + timedelta(hours=1))


def _reverse(name: str, values: dict) -> str:
    """The URL of ``name`` with patient B's ids (and harmless values for the rest)."""
    namespace, _, short = name.rpartition(":")
    resolver = get_resolver()
    if namespace:
        resolver = resolver.namespace_dict[namespace][1]
    params = resolver.reverse_dict.getlist(short)[0][0][0][1]
    return reverse(name, kwargs={param: values[param] for param in params})


def _matches(expected: str | int, response) -> bool:
    status = response.status_code
    if expected == LOGIN:
        return status == 302 and reverse("account_login") in response.url
    if expected == REDIRECT:
        return status == 302
    if expected == ANY_BUT_5XX:
        return status < 500
    return status == expected


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_expected(client, world, role):
    # given
    users, values, _flag = world
    if users[role] is not None:
        client.force_login(users[role])
    # when
    wrong = []
    for name in NAMED:
        expected = getattr(expectation(name), role)
        response = client.get(_reverse(name, values))
        if not _matches(expected, response):
            wrong.append((name, expected, response.status_code))
        if users[role] is not None:  # a page may end the session (e.g. sign-out): start over
            client.force_login(users[role])
    # then
    assert wrong == []


@pytest.mark.parametrize("role", ["patient_a", "other_derm", "other_staff", "anonymous",
                                  "clinic_admin", "operator", "former_caregiver_b",
                                  "sibling_caregiver"])
def test_posting_to_patient_b_urls_changes_nothing_for_outsiders(client, world, role):
    # given
    users, values, flag = world
    if users[role] is not None:
        client.force_login(users[role])
    before = Flag.objects.values().get(pk=flag.pk)
    thread_before = Thread.objects.values().get(pk=values["thread_id"])
    template_before = ReplyTemplate.objects.values().get(pk=values["reply_template_id"])
    # when
    statuses = {}
    for name in NAMED:
        url = _reverse(name, values)
        if not re.search(r"<(int|uuid):(patient_id|flag_id|concern_id|item_key|photo_id|"
                         r"thread_id|reply_template_id)>", _route(name)):
            continue
        statuses[name] = client.post(url, {"state": "resolved", "resolution": "other",
                                           "note": "x", "channel": "call", "outcome": "reached",
                                           "category": "cost", "text": "x", "reply": "xx",
                                           "happened_on": "2026-01-05", "body": "xx",
                                           "action": "close", "title": "x", "active": "0"}
                                     ).status_code
    # then
    expected = 302 if role == "anonymous" else 404
    assert statuses
    assert set(statuses.values()) == {expected}
    assert Flag.objects.values().get(pk=flag.pk) == before
    assert not flag.events.exists()
    assert Concern.objects.get(pk=values["concern_id"]).reply == ""
    assert Concern.objects.filter(patient_id=values["patient_id"]).count() == 1
    assert PlanRevision.objects.filter(plan__patient_id=values["patient_id"]).count() == 1
    assert not ClinicVisit.objects.exists()
    assert Thread.objects.values().get(pk=values["thread_id"]) == thread_before
    assert Message.objects.filter(thread_id=values["thread_id"]).count() == 1
    assert ReplyTemplate.objects.values().get(pk=values["reply_template_id"]) == template_before


def test_a_caregiver_cannot_switch_to_a_child_who_is_not_theirs(client, world, patient_a,
                                                                 patient_b):
    # given
    users, _values, _flag = world
    client.force_login(users["caregiver_b"])
    assert client.get(reverse("today")).status_code == 200  # acting for B, their only child
    # when
    response = client.post(reverse("caregiver_act"), {"patient": patient_a.pk})
    # then
    assert response.status_code == 404
    assert client.session[ACTING_FOR_SESSION_KEY] == patient_b.pk
    assert client.get(reverse("today")).status_code == 200
    latest = AuditEvent.objects.filter(actor=users["caregiver_b"]).latest("at", "id")
    assert latest.patient_id == patient_b.pk


def test_each_caregiver_request_to_a_patient_page_is_an_audit_event_with_both_people(
        client, world, patient_b):
    # given
    users, values, _flag = world
    caregiver = users["caregiver_b"]
    client.force_login(caregiver)
    opened = [name for name in NAMED if name in SECTION_BY_URL_NAME
              and expectation(name).caregiver_b == 200]
    # when
    unaudited = []
    for name in opened:
        before = set(AuditEvent.objects.values_list("pk", flat=True))
        assert client.get(_reverse(name, values)).status_code == 200, name
        new = AuditEvent.objects.exclude(pk__in=before)
        if not new.filter(actor=caregiver, patient=patient_b,
                          object_type=f"caregiver_{SECTION_BY_URL_NAME[name]}").exists():
            unaudited.append(name)
    # then
    assert len(opened) >= 14
    assert unaudited == []


def _route(name: str) -> str:
    for ns, pattern in ALL_PATTERNS:
        if f"{ns}{pattern.name}" == name:
            return str(pattern.pattern)
    return ""


# --- The admin site -----------------------------------------------------------------------------
# Per registered model, what a clinic administrator gets on their own clinic's object, and what
# the platform operator gets (either clinic). Another clinic's object is never shown to a clinic
# administrator: its change and history pages are 404, its delete page 403 (as their own; nobody
# of a clinic deletes here). Nobody sets a password here: the password page is 403 for all.

ADMIN_PAGES = ("changelist", "add", "change", "delete", "history")


@dataclass(frozen=True)
class AdminExpect:
    clinic_admin: tuple[int, int, int, int, int]  # the pages above, own clinic's object
    operator: tuple[int, int, int, int, int]


SECRET = AdminExpect(clinic_admin=(403,) * 5, operator=(200, 403, 200, 200, 200))
ADMIN_MATRIX: dict[str, AdminExpect] = {
    "accounts.User": AdminExpect((200, 200, 200, 403, 200), (200, 200, 200, 200, 200)),
    "accounts.Clinic": AdminExpect((200, 403, 200, 403, 200), (200, 200, 200, 200, 200)),
    "accounts.ClinicMembership": AdminExpect((200, 403, 200, 403, 200), (200,) * 5),
    "accounts.Patient": AdminExpect((200, 403, 200, 403, 200), (200,) * 5),
    "accounts.Invitation": AdminExpect((200, 403, 200, 403, 200), (200, 403, 200, 200, 200)),
    "accounts.AuditEvent": AdminExpect((200, 403, 200, 403, 200), (200, 403, 200, 403, 200)),
    "careplans.Preference": AdminExpect((200, 200, 200, 403, 200), (200, 200, 200, 403, 200)),
    # Retired or taken out of use, never deleted: plans and templates were made from them.
    "catalogue.CatalogueItem": AdminExpect((200, 200, 200, 403, 200), (200, 200, 200, 403, 200)),
    "catalogue.RegimenTemplate": AdminExpect((200, 200, 200, 403, 200),
                                             (200, 200, 200, 403, 200)),
    # Add is 403 once the clinic has its row (one per clinic).
    "flags.FlagSettings": AdminExpect((200, 403, 200, 403, 200), (200, 200, 200, 403, 200)),
    # Secrets and sign-in addresses: the operator only (and no secret even then).
    "mfa.Authenticator": SECRET,
    "account.EmailAddress": AdminExpect((403,) * 5, (200,) * 5),
    "auth.Group": AdminExpect((403,) * 5, (200,) * 5),
    # A clinic's FHIR system clients: registered and revoked, never deleted (their reads stay
    # in the audit trail); the secret is shown once, on the page after adding.
    "interop.ClinicClient": AdminExpect((200, 200, 200, 403, 200), (200, 200, 200, 403, 200)),
}


@pytest.fixture
def admin_world(world, patient_b, derm, other_derm, clinic, other_clinic):
    """One object of each clinic per registered model: (clinic's, other clinic's)."""
    other_patient = PatientFactory(dermatologist=other_derm)
    group = Group.objects.create(name="Auditors")

    def per_clinic(make):
        return make(patient_b, derm, clinic), make(other_patient, other_derm, other_clinic)

    objects = {
        "accounts.User": (derm, other_derm),
        "accounts.Clinic": (clinic, other_clinic),
        "accounts.ClinicMembership": (derm.membership, other_derm.membership),
        "accounts.Patient": (patient_b, other_patient),
        "accounts.Invitation": per_clinic(
            lambda p, d, c: Invitation.objects.create(patient=p, invited_by=d)),
        "accounts.AuditEvent": per_clinic(lambda p, d, c: audit_record(
            actor=d, patient=p, action=AuditEvent.Action.VIEW, object_type="patient")),
        "careplans.Preference": per_clinic(lambda p, d, c: Preference.objects.create(
            key=f"clinic-{c.pk}", label=f"Preference of clinic {c.pk}", clinic=c)),
        "flags.FlagSettings": per_clinic(lambda p, d, c: FlagSettings.objects.create(clinic=c)),
        "catalogue.CatalogueItem": per_clinic(
            lambda p, d, c: CatalogueItemFactory(clinic=c, name=f"Cream of clinic {c.pk}")),
        "catalogue.RegimenTemplate": per_clinic(
            lambda p, d, c: RegimenTemplateFactory(clinic=c, name=f"Regimen of clinic {c.pk}")),
        "mfa.Authenticator": (Authenticator.objects.get(user=derm, type="totp"),
                              Authenticator.objects.get(user=other_derm, type="totp")),
        "account.EmailAddress": (EmailAddress.objects.get(user=derm),
                                 EmailAddress.objects.get(user=other_derm)),
        "auth.Group": (group, group),
        "interop.ClinicClient": per_clinic(lambda p, d, c: clinic_client_register(
            clinic=c, name=f"Bridge of clinic {c.pk}", scopes="system/*.rs",
            registered_by=None).client),
    }
    users, _values, _flag = world
    return users, objects


def _admin_url(model, page: str, obj=None) -> str:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
    return reverse(name, args=[obj.pk] if page in ("change", "delete", "history") else [])


def test_every_registered_model_has_an_admin_expectation():
    registered = {model._meta.label for model in admin.site._registry}
    assert registered == set(ADMIN_MATRIX)


@pytest.mark.parametrize("role", ["clinic_admin", "other_clinic_admin", "operator"])
def test_admin_pages_answer_each_administrator_as_expected(client, admin_world, role):
    # given
    users, objects = admin_world
    client.force_login(users[role])
    mine = 1 if role == "other_clinic_admin" else 0
    # when
    wrong, shown = [], []
    for model in admin.site._registry:
        label = model._meta.label
        expect = getattr(ADMIN_MATRIX[label], "operator" if role == "operator" else "clinic_admin")
        own, foreign = objects[label][mine], objects[label][1 - mine]
        for page, expected in zip(ADMIN_PAGES, expect, strict=True):
            status = client.get(_admin_url(model, page, own)).status_code
            if status != expected:
                wrong.append((label, page, "own", expected, status))
            if page not in ("change", "delete", "history") or foreign == own:
                continue
            response = client.get(_admin_url(model, page, foreign))
            if role == "operator":
                expected_foreign = expected
            else:
                expected_foreign = {"delete": 403}.get(page, 404 if expected == 200 else expected)
            if response.status_code != expected_foreign:
                wrong.append((label, page, "other clinic's", expected_foreign,
                              response.status_code))
        # The changelist links this clinic's object and, for a clinic administrator, never the
        # other clinic's.
        if expect[0] == 200:
            listing = client.get(_admin_url(model, "changelist")).content.decode()
            if _admin_url(model, "change", own) not in listing:
                wrong.append((label, "changelist", "own not listed", 200, 200))
            if role != "operator" and foreign != own and (
                    _admin_url(model, "change", foreign) in listing
                    or (str(foreign) != str(own) and escape(str(foreign)) in listing)):
                shown.append(label)
    # then
    assert wrong == []
    assert shown == []


@pytest.mark.parametrize("role", ["clinic_admin", "other_clinic_admin", "operator"])
def test_no_administrator_opens_a_password_page(client, admin_world, role):
    # given
    users, objects = admin_world
    client.force_login(users[role])
    # when
    statuses = {str(user.pk): client.get(reverse("admin:auth_user_password_change",
                                                 args=[user.pk])).status_code
                for user in objects["accounts.User"]}
    # then
    assert set(statuses.values()) == {403}


@pytest.mark.parametrize("role", ["patient_b", "derm", "staff"])
def test_the_portals_roles_get_no_admin_page(client, admin_world, role):
    # given
    users, objects = admin_world
    client.force_login(users[role])
    # when
    refused = []
    for model in admin.site._registry:
        for page in ADMIN_PAGES:
            response = client.get(_admin_url(model, page, objects[model._meta.label][0]))
            if not ((response.status_code == 302
                    and response.url.startswith(reverse("admin:login")))
                    or response.status_code == 403):
                refused.append((model._meta.label, page, response.status_code))
    # then
    assert refused == []
