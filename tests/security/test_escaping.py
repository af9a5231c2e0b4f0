"""Script and HTML typed into any free-text field render as text on every page that shows it,
for the patient and for the clinic. Rows are written through the services, never the forms, so
nothing is cleaned on the way in: escaping on the way out is what is tested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from careplans.services import concern_raise, concern_reply, profile_update
from checkins.models import SideEffect
from checkins.services import Wellbeing, checkin_submit
from flags.findings import Finding, evidence
from flags.models import Flag, Rule
from flags.services import flag_escalate, flag_resolve, flags_apply, outreach_log
from messaging.models import Thread, Topic
from messaging.services import Attachment, message_post, thread_start
from tests.factories import item_draft, plan_for

pytestmark = pytest.mark.django_db


def payload(field: str) -> str:
    """The attack, tagged with its field so each page can be checked field by field."""
    return f"<script>alert(1)</script><b>{field}</b>"


@dataclass
class Seeded:
    patient: object
    flag: Flag
    thread: Thread


@pytest.fixture
def seeded(patient_a, derm, staff, now) -> Seeded:
    """Every free-text field a person can write, filled with ``payload(field)`` (the clock held
    at ``now`` for the pages)."""
    profile_update(patient=patient_a, actor=derm, preferences=None, data={
        "what_matters": payload("goal"),
        "lifestyle_notes": payload("lifestyle-notes"),
        "preference_notes": payload("preference-notes"),
        "monthly_budget": Decimal("30"),  # the plan below goes over it: a note to escape
    })
    revision = plan_for(
        patient_a, author=derm, reason=payload("plan-reason"),
        items=[item_draft(name=payload("item-name"), instructions=payload("item-instructions"),
                          monthly_cost=Decimal("500.00"))],
        accepted={"budget": payload("accepted-warning-note")}, now=now,
    )
    assert revision.accepted_warnings, "the budget warning must exist to carry a note"
    item = revision.items.get()
    checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), answers=None, now=now,
                   wellbeing=Wellbeing(side_effect=SideEffect.MILD, side_effect_item_id=item.pk,
                                       side_effect_text=payload("side-effect"),
                                       note=payload("checkin-note")))
    concern = concern_raise(patient=patient_a, revision=revision, item=item, category="other",
                            text=payload("concern"))
    concern_reply(concern=concern, author=derm, reply=payload("concern-reply"), now=now)
    thread = thread_start(patient=patient_a, by=patient_a.user, topic=Topic.PLAN, now=now,
                          body=payload("message-patient"),
                          attachment=Attachment(plan_item_key=item.key,
                                                plan_item_name=item.name))
    message_post(thread=thread, by=staff, from_clinic=True, body=payload("message-clinic"),
                 now=now)
    return Seeded(patient=patient_a, flag=_worked_flag(patient_a, staff, now), thread=thread)


def _worked_flag(patient, staff, now) -> Flag:
    """A flag with outreach (clinic note, message to the patient), escalated, then resolved."""
    flags_apply(patient_ids=[patient.pk], now=now, findings=[Finding(
        patient_id=patient.pk, rule=Rule.ADHERENCE_DROP, severity=2,
        evidence=evidence(rule=Rule.ADHERENCE_DROP, title="Adherence is low",
                          summary="Adherence 40%",
                          as_of=patient.local_date(now) - timedelta(days=1), windows=[],
                          numbers={"recent_percent": 40.0}, checkin_ids=[]),
        evidence_at=now,
    )])
    flag = Flag.objects.get(patient=patient)
    outreach_log(flag=flag, actor=staff, channel="call", outcome="reached", now=now,
                 note=payload("outreach-note"), message_to_patient=payload("outreach-message"))
    flag_escalate(flag=flag, actor=staff, note=payload("escalation-note"), now=now)
    return flag_resolve(flag=flag, actor=staff, resolution="other", now=now,
                        note=payload("resolution-note"))


PATIENT_PAGES = {
    "today": ["checkin-note", "side-effect", "item-name"],
    "checkin_history": ["checkin-note", "side-effect"],
    "my_plan": ["goal", "plan-reason", "item-name", "item-instructions",
                "accepted-warning-note", "concern", "concern-reply"],
    "my_plan_history": ["plan-reason", "item-name", "accepted-warning-note"],
    "my_profile": ["goal", "lifestyle-notes", "preference-notes"],
    "clinic_messages": ["message-clinic"],  # the latest message's start
}
CLINIC_PAGES = {
    "patient_detail": ["goal", "lifestyle-notes", "preference-notes", "plan-reason",
                       "item-name", "item-instructions", "accepted-warning-note", "concern",
                       "concern-reply", "checkin-note", "side-effect"],
    "plan_history": ["plan-reason", "item-name", "accepted-warning-note"],
    "plan_edit": ["item-name", "item-instructions", "accepted-warning-note"],
    "patient_profile_edit": ["goal", "lifestyle-notes", "preference-notes"],
    "flag_detail": ["outreach-note", "outreach-message", "escalation-note", "resolution-note"],
}


def assert_escaped(body: str, fields: list[str], page: str) -> None:
    assert "<script>alert(1)" not in body, page
    for field in fields:
        assert f"<b>{field}</b>" not in body, (page, field)
        assert escape(payload(field)) in body, (page, field)


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_patient_pages_show_free_text_escaped(client, seeded, page):
    client.force_login(seeded.patient.user)
    response = client.get(reverse(page))
    assert response.status_code == 200
    assert_escaped(response.content.decode(), PATIENT_PAGES[page], page)


def test_a_message_thread_shows_free_text_escaped(client, seeded):
    client.force_login(seeded.patient.user)
    response = client.get(reverse("message_thread", args=[seeded.thread.pk]))
    assert response.status_code == 200
    assert_escaped(response.content.decode(),
                   ["message-patient", "message-clinic", "item-name"], "message_thread")


@pytest.mark.parametrize("page", CLINIC_PAGES)
def test_clinic_pages_show_free_text_escaped(client, seeded, derm, page):
    client.force_login(derm)
    kwargs = ({"flag_id": seeded.flag.pk} if page == "flag_detail"
              else {"patient_id": seeded.patient.pk})
    response = client.get(reverse(page, kwargs=kwargs))
    assert response.status_code == 200
    assert_escaped(response.content.decode(), CLINIC_PAGES[page], page)


@pytest.mark.parametrize("page", ["my_patients", "flagged_patients"])
def test_clinic_lists_never_show_raw_markup(client, seeded, staff, page):
    client.force_login(staff)
    body = client.get(reverse(page), {"state": "resolved"}).content.decode()
    assert "<script>alert(1)" not in body
    assert "<b>" not in body


def test_catalogue_templates_and_visit_notes_show_free_text_escaped(client, patient_a, derm,
                                                                    staff, now):
    # given: every free-text field of the catalogue, its templates and a recorded visit
    from careplans.visits import visit_record
    from tests.factories import CatalogueItemFactory, RegimenTemplateFactory, TemplateStepFactory

    clinic = derm.membership.clinic
    generic = CatalogueItemFactory(clinic=clinic, name=payload("generic-name"),
                                   monthly_cost=Decimal("2.00"))
    item = CatalogueItemFactory(clinic=clinic, name=payload("catalogue-name"),
                                instructions=payload("catalogue-instructions"),
                                monthly_cost=Decimal("9.00"), generic_alternative=generic)
    template = RegimenTemplateFactory(clinic=clinic, name=payload("template-name"),
                                      description=payload("template-description"))
    TemplateStepFactory(template=template, catalogue_item=item,
                        instructions=payload("step-instructions"))
    plan_for(patient_a, author=derm, now=now, items=[item_draft(name=item.name,
                                                               monthly_cost=Decimal("9.00"))])
    visit_record(patient=patient_a, recorded_by=staff, happened_on=patient_a.local_date(now),
                 note=payload("visit-note"), now=now, today=patient_a.local_date(now))
    pages = {
        reverse("catalogue_list"): ["catalogue-name", "catalogue-instructions", "generic-name"],
        reverse("template_list"): ["template-name", "template-description"],
        reverse("template_detail", args=[template.pk]): [
            "template-name", "template-description", "catalogue-name", "step-instructions"],
        reverse("patient_detail", args=[patient_a.pk]): ["visit-note", "template-name",
                                                         "generic-name"],
        reverse("plan_edit", args=[patient_a.pk]) + f"?template={template.pk}": [
            "catalogue-name", "step-instructions"],
    }
    client.force_login(derm)
    for url, fields in pages.items():
        # when
        response = client.get(url)
        # then
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), fields, url)


def test_messages_and_reply_templates_show_free_text_escaped(client, patient_a, derm, staff,
                                                            now):
    # given: a patient's message mentioning a plan step, the clinic's answer, a reply template
    from uuid import uuid4

    from messaging.models import Topic
    from messaging.services import Attachment, message_post, reply_template_save, thread_start

    thread = thread_start(patient=patient_a, by=patient_a.user, topic=Topic.PLAN, now=now,
                          body=payload("message-body"), attachment=Attachment(
                              plan_item_key=uuid4(), plan_item_name=payload("step-mention")))
    message_post(thread=thread, by=staff, from_clinic=True, body=payload("clinic-reply"),
                 now=now)
    template = reply_template_save(clinic_id=patient_a.clinic_id, by=staff,
                                   title=payload("template-title"),
                                   body=payload("template-body"), now=now)
    thread_url = reverse("clinic_thread", args=[thread.pk])
    pages = {
        thread_url: ["message-body", "step-mention", "clinic-reply", "template-title"],
        f"{thread_url}?template={template.pk}": ["template-body"],
        reverse("clinic_reply_templates"): ["template-title", "template-body"],
        reverse("clinic_reply_template_edit", args=[template.pk]): ["template-title",
                                                                   "template-body"],
    }
    client.force_login(derm)
    for url, fields in pages.items():
        # when
        response = client.get(url)
        # then
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), fields, url)
    # and the lists show no message text at all, nor markup
    for url in (reverse("clinic_inbox"), reverse("patient_detail", args=[patient_a.pk])):
        body = client.get(url).content.decode()
        for text in ("<script>alert(1)", "<b>", "message-body", "clinic-reply"):
            assert text not in body, (url, text)


def test_photo_notes_and_clinic_body_areas_show_free_text_escaped(client, patient_a, derm, now):
    # given: a clinic's own body area and a dermatologist's note on a photo of it
    from photos.services import body_area_add, photo_note_add
    from tests.factories import photo_for

    area = body_area_add(clinic=patient_a.clinic, name=payload("area"))
    photo = photo_for(patient_a, now=now)
    photo.area = area
    photo.save(update_fields=["area"])
    photo_note_add(photo=photo, author=derm, text=payload("photo-note"), now=now)
    pages = {
        (derm, reverse("patient_photos", args=[patient_a.pk])): ["photo-note"],
        (derm, reverse("patient_detail", args=[patient_a.pk])): [],
        (patient_a.user, reverse("photos")): ["photo-note"],
    }
    for (user, url), fields in pages.items():
        client.force_login(user)
        # when
        body = client.get(url).content.decode()
        # then: the note and the area's name shown as text
        assert_escaped(body, fields, url)
        assert "<b>area" not in body, url
        assert escape(area.name) in body, url


def test_caregivers_names_and_what_the_patient_calls_them_show_escaped(client, patient_a, derm,
                                                                      now):
    # given: a caregiver whose name and "called" hold script, who logged a check-in, wrote a
    # message and opened the record (issue 20)
    from accounts.services import audit_record
    from tests.factories import CaregiverLinkFactory

    plan_for(patient_a, author=derm, now=now)
    link = CaregiverLinkFactory(patient=patient_a, called=payload("called"),
                                caregiver__first_name=payload("caregiver-name"))
    checkin_submit(patient=patient_a, local_date=patient_a.local_date(now), answers=None,
                   now=now, submitted_by=link.caregiver)
    thread = thread_start(patient=patient_a, by=link.caregiver, topic=Topic.PLAN, now=now,
                          body="Her cheeks are red.")
    audit_record(actor=link.caregiver, patient=patient_a, action="view",
                 object_type="caregiver_checkins", object_id=str(link.pk))
    pages = {
        reverse("patient_detail", args=[patient_a.pk]): ["caregiver-name", "called"],
        reverse("clinic_thread", args=[thread.pk]): ["caregiver-name", "called"],
        reverse("clinic_audit_log"): ["caregiver-name", "called"],
    }
    client.force_login(derm)
    for url, fields in pages.items():
        # when
        response = client.get(url)
        # then
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), fields, url)


def test_caregiver_names_show_escaped_on_every_page_that_names_them(client, now):
    # given a teenager and a child whose names, and the parent's name and what they are called,
    # carry markup (issue 20)
    from datetime import date

    from accounts.middleware import ACTING_FOR_SESSION_KEY
    from tests.factories import CaregiverFactory, CaregiverLinkFactory, PatientFactory

    parent = CaregiverFactory(first_name=payload("parent-name"))
    teen = PatientFactory(date_of_birth=date(2012, 6, 1), user__first_name=payload("teen"))
    child = PatientFactory(date_of_birth=date(2018, 5, 1), user__first_name=payload("child"))
    plan_for(teen, author=teen.dermatologist, now=now)
    plan_for(child, author=child.dermatologist, now=now)
    CaregiverLinkFactory(caregiver=parent, patient=teen, called=payload("called"))
    CaregiverLinkFactory(caregiver=parent, patient=child, called=payload("called"))
    thread = thread_start(patient=child, by=parent, topic=Topic.PLAN, now=now, body="Hello")
    thread_start(patient=teen, by=teen.user, topic=Topic.PLAN, now=now, body="Hi")
    # when the teen opens Today and "People who help me", and the parent the chooser, then
    # the child's pages
    client.force_login(teen.user)
    teen_pages = {reverse("today"): ["called"], reverse("caregivers_mine"): ["called"]}
    for url, fields in teen_pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), fields, url)
    client.force_login(parent)
    chooser = client.get(reverse("caregiver_choose")).content.decode()
    assert_escaped(chooser, ["teen", "child"], "caregiver_choose")
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = child.pk
    session.save()
    page = client.get(reverse("message_thread", args=[thread.pk])).content.decode()
    # then each shows as text
    assert_escaped(page, ["child"], "message_thread (the bar)")


def test_app_names_show_escaped_on_the_consent_page_and_in_the_audit_pages(client, patient_a,
                                                                           derm):
    # given: a patient's app and a clinic's system client whose names are markup
    from tests.interop.oauth import (
        Pkce,
        authorize_params,
        authorize_url,
        fhir_get,
        patient_app,
        patient_app_token,
        system_client,
        system_token,
    )
    app = patient_app(name=payload("patient-app"))
    bridge = system_token(client, system_client(patient_a.clinic, name=payload("system-client")))
    own = patient_app_token(client, patient_a.user, app)
    fhir_get(client, f"Patient/{patient_a.pk}", bridge)
    fhir_get(client, f"Patient/{patient_a.pk}", own)
    client.force_login(patient_a.user)
    # when
    pages = {
        "consent": client.get(authorize_url(authorize_params(app, Pkce.new()))),
        "access log": client.get(reverse("access_log")),
    }
    client.force_login(derm)
    pages["clinic audit log"] = client.get(reverse("clinic_audit_log"))
    # then
    for name, response in pages.items():
        page = response.content.decode()
        assert response.status_code == 200, name
        assert "<script>alert(1)</script>" not in page, name
    assert escape(payload("patient-app")) in pages["consent"].content.decode()
    assert escape(payload("system-client")) in pages["access log"].content.decode()
    assert escape(payload("patient-app")) in pages["clinic audit log"].content.decode()
def test_the_download_my_data_summary_shows_free_text_escaped(seeded, now, settings, tmp_path):
    # given: the patient's download, built from the record above
    from zipfile import ZipFile

    from interop.patient_export import data_export_build, data_export_request, exports_folder

    settings.EXPORTS_DIR = tmp_path / "exports"
    patient = seeded.patient
    export = data_export_request(patient=patient, requested_by=patient.user, now=now)
    # when
    data_export_build(export_id=export.pk, now=now)
    # then: summary.html (opened from a phone's files, outside the portal's CSP) is text only
    export.refresh_from_db()
    with ZipFile(exports_folder() / export.file_name) as archive:
        summary = archive.read("summary.html").decode()
    assert_escaped(summary, ["plan-reason", "item-name", "item-instructions",
                             "accepted-warning-note", "checkin-note", "side-effect",
                             "message-patient", "message-clinic"], "summary.html")
