"""The FHIR R4 read API: what each caller reaches (a clinic's system client its clinic, a
patient's app that patient), the answers for everything else (401, 403, 404, 400), searches and
their paging, the CapabilityStatement and SMART discovery, and the audit of every read.

Tests that walk the resource types loop over ``RESOURCE_TYPES``, so they cover every type the
mapping serves."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from accounts.models import AuditEvent, Patient
from accounts.record_visits import api_read_type
from accounts.services import audit_record
from checkins.services import Wellbeing, checkin_submit
from interop.api_documents import MAX_COUNT, search_params_of
from interop.api_views import PER_PATIENT_SEARCH
from interop.questionnaires import CHECKIN_URL
from interop.selectors import (
    CLINIC_ONLY_TYPES,
    RESOURCE_TYPES,
    SearchError,
    resource_search,
    resources_of,
)
from interop.services import patient_ids_in
from messaging.models import Topic
from messaging.services import thread_start
from tests.factories import FlagFactory, PatientFactory, plan_for
from tests.interop.oauth import (
    body,
    fhir_get,
    patient_app,
    patient_app_token,
    system_client,
    system_token,
)

pytestmark = pytest.mark.django_db


def a_whole_record(patient, derm, now) -> None:
    """A plan, a check-in, a flag, a conversation and a clinician's read: something of every
    kind the mapping turns into resources."""
    plan_for(patient, author=derm, now=now)
    checkin_submit(patient=patient, local_date=patient.local_date(now), answers=None, now=now,
                   wellbeing=Wellbeing(satisfaction=7, itch=3))
    FlagFactory(patient=patient)
    thread_start(patient=patient, by=patient.user, topic=Topic.PLAN, body="A question", now=now)
    audit_record(actor=derm, patient=patient, action=AuditEvent.Action.VIEW,
                 object_type="patient")


@pytest.fixture
def records(now, derm, patient_a, patient_b):
    for patient in (patient_a, patient_b):
        a_whole_record(patient, derm, now)
    return patient_a, patient_b


def ids_about(patient: Patient) -> list[tuple[str, str]]:
    """(type, id) of every resource about ``patient`` (the clinic's shared ones left out)."""
    found = []
    for resource_type in RESOURCE_TYPES:
        for resource in resources_of(resource_type=resource_type, clinic=patient.clinic,
                                     patients=Patient.objects.filter(pk=patient.pk)):
            if patient.pk in patient_ids_in(resource):
                found.append((resource_type, resource["id"]))
    return found


# --- Discovery -----------------------------------------------------------------------------------


def test_the_capability_statement_is_valid_r4_and_lists_every_type(client):
    # when: no token needed
    response = client.get(reverse("fhir_metadata"))
    # then
    statement = body(response)
    CapabilityStatement.model_validate(statement)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    assert statement["kind"] == "instance"
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["format"] == ["json"]
    rest = statement["rest"][0]
    assert rest["mode"] == "server"
    assert rest["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in rest["security"]["extension"][0]["extension"]}
    assert uris == {"token": "http://testserver/o/token/",
                    "authorize": "http://testserver/o/authorize/",
                    "revoke": "http://testserver/o/revoke_token/"}
    listed = {r["type"]: r for r in rest["resource"]}
    assert set(listed) == set(RESOURCE_TYPES)
    for resource_type, entry in listed.items():
        assert {i["code"] for i in entry["interaction"]} == {"read", "search-type"}
        assert {p["name"] for p in entry["searchParam"]} == set(search_params_of(resource_type))


def test_every_search_parameter_the_statement_lists_is_accepted(now, patient_a):
    # given: a value of each parameter type
    values = {"reference": f"Patient/{patient_a.pk}", "date": "ge2026-01-01",
              "token": "active", "uri": CHECKIN_URL}
    # when
    refused = []
    for resource_type in RESOURCE_TYPES:
        for name, kind in search_params_of(resource_type).items():
            value = str(patient_a.pk) if name == "_id" else values[kind]
            try:
                resource_search(resource_type=resource_type, clinic=patient_a.clinic,
                                patients=Patient.objects.filter(pk=patient_a.pk),
                                params={name: value})
            except SearchError as error:
                refused.append((resource_type, name, str(error)))
    # then
    assert refused == []


def test_the_smart_configuration_names_the_endpoints_and_pkce_s256(client):
    # when
    response = client.get(reverse("fhir_smart_configuration"))
    # then
    config = response.json()
    assert response.status_code == 200
    assert config["token_endpoint"] == "http://testserver/o/token/"
    assert config["authorization_endpoint"] == "http://testserver/o/authorize/"
    assert config["revocation_endpoint"] == "http://testserver/o/revoke_token/"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert set(config["grant_types_supported"]) == {"authorization_code", "client_credentials"}
    assert {"system/*.rs", "patient/*.rs", "launch/patient"} <= set(config["scopes_supported"])
    assert "permission-v2" in config["capabilities"]


# --- A clinic's system client --------------------------------------------------------------------


def test_a_system_client_reads_every_resource_of_its_clinics_patients(client, clinic, records):
    # given
    token = system_token(client, system_client(clinic))
    wanted = ids_about(records[1])
    # when
    statuses = {(kind, rid): fhir_get(client, f"{kind}/{rid}", token).status_code
                for kind, rid in wanted}
    # then
    assert wanted
    assert set(statuses.values()) == {200}


def test_another_clinics_client_gets_404_for_every_id_of_every_type(client, clinic, other_clinic,
                                                                    records):
    # given: every id that exists in the first clinic, of every type
    ours = system_token(client, system_client(clinic))
    theirs = system_token(client, system_client(other_clinic, name="Hilltop bridge"))
    wanted = [pair for patient in records for pair in ids_about(patient)]
    missing = fhir_get(client, "Patient/999999", theirs)
    # when
    answers = {(kind, rid): fhir_get(client, f"{kind}/{rid}", theirs) for kind, rid in wanted}
    # then: 404, the same body as an id that does not exist; and they do exist
    assert {kind for kind, _rid in wanted} >= {"Patient"}
    assert {r.status_code for r in answers.values()} == {404}
    assert {r.content for r in answers.values()} == {missing.content}
    assert {fhir_get(client, f"{k}/{i}", ours).status_code for k, i in wanted} == {200}
    assert not AuditEvent.objects.filter(object_type__startswith="api_read_",
                                         patient__in=records,
                                         actor__fhir_client__clinic=other_clinic).exists()


def test_another_clinics_client_finds_none_of_the_first_clinics_patients(client, clinic,
                                                                         other_clinic, records):
    # given
    theirs = system_token(client, system_client(other_clinic, name="Hilltop bridge"))
    first_clinic = {patient.pk for patient in records}
    # when
    seen = set()
    for resource_type in RESOURCE_TYPES:
        response = fhir_get(client, resource_type, theirs)
        if resource_type in PER_PATIENT_SEARCH:  # one patient at a time, or $export
            assert response.status_code == 400, resource_type
            continue
        assert response.status_code == 200, (resource_type, response.content)
        for entry in body(response).get("entry", []):
            seen |= patient_ids_in(entry["resource"])
        for record in records:
            if "patient" in search_params_of(resource_type):
                narrowed = body(fhir_get(client, resource_type, theirs, patient=record.pk))
                assert narrowed["total"] == 0, resource_type
    # then
    assert seen & first_clinic == set()


# --- A patient's app -----------------------------------------------------------------------------


def test_a_patient_authorised_app_sees_only_that_patient(client, records):
    # given
    patient_a, patient_b = records
    token = patient_app_token(client, patient_a.user, patient_app())
    # when
    others = {(kind, rid): fhir_get(client, f"{kind}/{rid}", token).status_code
              for kind, rid in ids_about(patient_b)}
    own = {(kind, rid): fhir_get(client, f"{kind}/{rid}", token).status_code
           for kind, rid in ids_about(patient_a)}
    seen = set()
    for resource_type in set(RESOURCE_TYPES) - CLINIC_ONLY_TYPES:
        response = fhir_get(client, resource_type, token)
        assert response.status_code == 200, resource_type
        for entry in body(response).get("entry", []):
            seen |= patient_ids_in(entry["resource"])
    # then: the clinic's early warnings are never shown to a patient's app (403 for the type)
    assert {status for (kind, _), status in others.items() if kind not in CLINIC_ONLY_TYPES
            } == {404}
    assert {status for (kind, _), status in own.items() if kind not in CLINIC_ONLY_TYPES
            } == {200}
    assert {status for (kind, _), status in own.items() if kind in CLINIC_ONLY_TYPES} == {403}
    assert {fhir_get(client, kind, token).status_code for kind in CLINIC_ONLY_TYPES} == {403}
    assert seen == {patient_a.pk}


def test_a_patient_app_searching_another_patient_finds_nothing(client, records):
    # given
    patient_a, patient_b = records
    token = patient_app_token(client, patient_a.user, patient_app())
    # when
    response = fhir_get(client, "Patient", token, _id=patient_b.pk)
    # then
    assert response.status_code == 200
    assert body(response)["total"] == 0


# --- Refusals ------------------------------------------------------------------------------------


def test_a_token_without_the_scope_for_the_interaction_gets_403(client, clinic, patient_a):
    # given: read by id only, no search
    token = system_token(client, system_client(clinic, scopes="system/Patient.r"))
    # when
    read = fhir_get(client, f"Patient/{patient_a.pk}", token)
    search = fhir_get(client, "Patient", token)
    # then
    assert read.status_code == 200
    assert search.status_code == 403
    assert body(search)["issue"][0]["code"] == "forbidden"


def test_a_patient_app_with_a_narrower_scope_gets_403_elsewhere(client, patient_a):
    # given
    token = patient_app_token(client, patient_a.user, patient_app(), scope="patient/Patient.s")
    # when
    response = fhir_get(client, f"Patient/{patient_a.pk}", token)
    # then
    assert response.status_code == 403


def test_an_unknown_type_is_404_with_an_operation_outcome(client, clinic):
    # given
    token = system_token(client, system_client(clinic))
    # when
    read = fhir_get(client, "Spaceship/1", token)
    search = fhir_get(client, "Spaceship", token)
    # then
    assert read.status_code == search.status_code == 404
    assert body(read)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("params", [{"colour": "red"}, {"_count": "many"}, {"_offset": "-1"}])
def test_an_unsupported_search_is_400(client, clinic, params):
    # given
    token = system_token(client, system_client(clinic))
    # when
    response = fhir_get(client, "Patient", token, **params)
    # then
    assert response.status_code == 400
    assert body(response)["resourceType"] == "OperationOutcome"


def test_only_json_is_served(client, clinic, patient_a):
    # given
    token = system_token(client, system_client(clinic))
    # when
    xml = fhir_get(client, f"Patient/{patient_a.pk}", token, _format="xml")
    json_ = fhir_get(client, f"Patient/{patient_a.pk}", token, _format="json")
    # then
    assert xml.status_code == 406
    assert json_.status_code == 200


def test_a_signed_in_session_is_no_token(client, derm, patient_a):
    # given
    client.force_login(derm)
    # when
    response = client.get(f"/fhir/R4/Patient/{patient_a.pk}")
    # then
    assert response.status_code == 401


# --- Searches and paging -------------------------------------------------------------------------


def test_a_search_pages_with_count_and_next_links(client, clinic, derm):
    # given
    patients = [PatientFactory(dermatologist=derm) for _ in range(5)]
    token = system_token(client, system_client(clinic))
    # when
    first = body(fhir_get(client, "Patient", token, _count=2))
    links = {link["relation"]: link["url"] for link in first["link"]}
    following = []
    url = links.get("next")
    while url:
        page = body(client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}"))
        following += page["entry"]
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    # then
    Bundle.model_validate(first)
    assert first["type"] == "searchset"
    assert first["total"] == 5
    assert len(first["entry"]) == 2
    assert parse_qs(urlparse(links["self"]).query)["_count"] == ["2"]
    seen = [e["resource"]["id"] for e in first["entry"] + following]
    assert sorted(seen) == sorted(str(p.pk) for p in patients)


def test_count_is_capped_at_200(client, clinic, patient_a):
    # given
    token = system_token(client, system_client(clinic))
    # when
    page = body(fhir_get(client, "Patient", token, _count=5000))
    # then
    self_link = next(link["url"] for link in page["link"] if link["relation"] == "self")
    assert parse_qs(urlparse(self_link).query)["_count"] == [str(MAX_COUNT)]


# --- Audit ---------------------------------------------------------------------------------------


def test_every_read_and_search_is_audited_per_patient_naming_the_app(client, clinic, records):
    # given
    patient_a, patient_b = records
    registered = system_client(clinic, name="Epic bridge")
    token = system_token(client, registered)
    # when
    fhir_get(client, f"Patient/{patient_a.pk}", token)
    for resource_type in RESOURCE_TYPES:
        narrowed = ({PER_PATIENT_SEARCH[resource_type]: f"Patient/{patient_a.pk}"}
                    if resource_type in PER_PATIENT_SEARCH else {})
        assert fhir_get(client, resource_type, token, **narrowed).status_code == 200
    # then
    events = AuditEvent.objects.filter(actor=registered.client.service_user)
    reads = events.filter(object_type=api_read_type("Patient"))
    assert reads.filter(patient=patient_a).count() == 2  # the read and the search
    assert reads.filter(patient=patient_b).count() == 1
    assert {e.object_id for e in events} == {str(registered.client.application_id)}
    assert {e.clinic_id for e in events} == {clinic.pk}
    # every type with something about a patient (a clinic's shared Medication or Questionnaire
    # is nobody's record)
    about_patients = {resource_type for resource_type, _id in ids_about(patient_a)}
    assert {e.object_type for e in events} == {api_read_type(t) for t in about_patients}


def test_nothing_returned_is_nothing_audited(client, clinic, patient_a):
    # given
    token = system_token(client, system_client(clinic))
    # when
    fhir_get(client, "Patient/999999", token)
    fhir_get(client, "Patient", token, _id="999999")
    # then
    assert not AuditEvent.objects.filter(object_type__startswith="api_read_").exists()


def test_the_patient_sees_the_apps_in_who_viewed_my_record(client, clinic, patient_a):
    # given: the clinic's bridge and the patient's own app read the record
    bridge = system_token(client, system_client(clinic, name="Epic bridge"))
    own = patient_app_token(client, patient_a.user, patient_app(name="My Skin Diary"))
    fhir_get(client, f"Patient/{patient_a.pk}", bridge)
    fhir_get(client, f"Patient/{patient_a.pk}", own)
    client.force_login(patient_a.user)
    # when
    page = client.get(reverse("access_log")).content.decode()
    # then
    assert "Epic bridge (app), connected by your clinic" in page
    assert "My Skin Diary (app), allowed by you" in page
    assert "Your name and details" in page


def test_the_clinics_audit_log_names_the_app(client, clinic, derm, patient_a):
    # given
    token = system_token(client, system_client(clinic, name="Epic bridge"))
    fhir_get(client, f"Patient/{patient_a.pk}", token)
    client.force_login(derm)
    # when
    page = client.get(reverse("clinic_audit_log")).content.decode()
    # then
    assert "Epic bridge (app)" in page
    assert "The clinic&#x27;s system client" in page
    assert "Patient (FHIR API)" in page



def test_a_system_client_searches_check_ins_one_patient_at_a_time(client, clinic, records):
    # given: the clinic's client
    patient_a, _ = records
    token = system_token(client, system_client(clinic, name="Epic bridge"))
    # when: it asks for every check-in of the clinic, then for one patient's
    everyone = fhir_get(client, "QuestionnaireResponse", token)
    one = fhir_get(client, "QuestionnaireResponse", token, patient=f"Patient/{patient_a.pk}")
    # then: the whole clinic is the export's (a clear 400), one patient is a search
    assert everyone.status_code == 400
    assert "$export" in body(everyone)["issue"][0]["diagnostics"]
    assert one.status_code == 200
    assert body(one)["total"] > 0
