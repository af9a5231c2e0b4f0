"""Reads, searches, the streamed export and a patient's Bundle: always within the patients
queryset given, with a bounded number of queries per chunk of patients."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from accounts.models import Patient
from interop import selectors
from interop.selectors import (
    RESOURCE_TYPES,
    SearchError,
    patient_bundle,
    resource_read,
    resource_search,
    resources_of,
)
from tests.factories import PatientFactory, backdated_revision, item_draft

from .record import rich_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_records(now, derm, staff):
    """Two patients of the same clinic with full records, and the scope of the first only."""
    mine = rich_record(derm, staff=staff, now=now)
    theirs = rich_record(derm, staff=staff, now=now, what_matters="Their own goal")
    return mine, theirs


def _everything(clinic, patients) -> dict[str, list[dict]]:
    return {t: list(resources_of(resource_type=t, clinic=clinic, patients=patients))
            for t in RESOURCE_TYPES}


def _mentions(resource: dict, patient_id: int) -> bool:
    if resource["resourceType"] == "Patient":
        return resource["id"] == str(patient_id)
    return f'"Patient/{patient_id}"' in json.dumps(resource)


def test_another_patients_data_never_appears(two_records, clinic):
    # given two patients' records, and a scope of the first
    mine, theirs = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)
    # when everything is produced within the scope
    produced = _everything(clinic, scope)
    # then nothing refers to the other patient, and every patient-bound resource to mine
    for resource_type, resources in produced.items():
        for resource in resources:
            assert not _mentions(resource, theirs.patient.pk), resource["id"]
            if resource_type not in selectors.SHARED_TYPES:
                assert _mentions(resource, mine.patient.pk), resource["id"]
    assert "Their own goal" not in json.dumps(produced)


@pytest.mark.parametrize(("resource_type", "prefix"), [
    ("QuestionnaireResponse", "checkin-"), ("Observation", "checkin-"), ("Flag", ""),
    ("DetectedIssue", "flag-"), ("Communication", "message-"), ("Communication", "outreach-"),
    ("AuditEvent", ""), ("CarePlan", ""), ("Goal", ""), ("CareTeam", ""), ("Patient", ""),
])
def test_read_finds_each_resource_in_scope_and_none_outside(two_records, clinic,
                                                          resource_type, prefix):
    mine, _theirs = two_records
    everyone = Patient.objects.filter(clinic=clinic)
    scope = Patient.objects.filter(pk=mine.patient.pk)
    for resource in resources_of(resource_type=resource_type, clinic=clinic, patients=everyone):
        if not resource["id"].startswith(prefix):
            continue
        # when read within the scope of the patient it belongs to (or not)
        found = resource_read(resource_type=resource_type, resource_id=resource["id"],
                              clinic=clinic, patients=scope)
        # then it is the same resource, or nothing
        if _mentions(resource, mine.patient.pk):
            assert found == resource
        else:
            assert found is None, resource["id"]


def test_read_of_shared_and_unknown_ids(two_records, clinic):
    mine, _ = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)
    questionnaire = resource_read(resource_type="Questionnaire", resource_id="alliance-pulse",
                                  clinic=clinic, patients=scope)
    assert questionnaire["url"].endswith("/alliance-pulse")
    medication = resource_read(resource_type="Medication", resource_id=str(mine.medicine_id),
                               clinic=clinic, patients=scope)
    assert medication["code"]["text"] == "Doxycycline 100 mg capsule"
    for resource_type, resource_id in [("CarePlan", "x"), ("QuestionnaireResponse", "12"),
                                       ("Observation", "checkin-x-itch"), ("Flag", "99999"),
                                       ("Communication", "message-"), ("Unknown", "1"),
                                       ("Patient", "9" * 30)]:
        assert resource_read(resource_type=resource_type, resource_id=resource_id,
                             clinic=clinic, patients=scope) is None


def test_another_clinics_medications_are_not_the_clinics(two_records, clinic, other_clinic):
    mine, _ = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)
    assert resource_read(resource_type="Medication", resource_id=str(mine.medicine_id),
                         clinic=other_clinic, patients=scope) is None


def test_searches_by_patient_stay_within_the_scope(two_records, clinic):
    mine, theirs = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)
    for resource_type in ("CarePlan", "Goal", "CareTeam", "QuestionnaireResponse",
                          "Observation", "Flag", "DetectedIssue", "Communication"):
        # the patient's own, by id or reference
        for value in (str(mine.patient.pk), f"Patient/{mine.patient.pk}"):
            found = resource_search(resource_type=resource_type, clinic=clinic,
                                    patients=scope, params={"patient": value})
            assert found, resource_type
            assert all(_mentions(r, mine.patient.pk) for r in found)
        # another patient's: nothing, even when asked by name
        assert resource_search(resource_type=resource_type, clinic=clinic, patients=scope,
                               params={"patient": str(theirs.patient.pk)}) == []
    found = resource_search(resource_type="AuditEvent", clinic=clinic, patients=scope,
                            params={"entity": f"Patient/{mine.patient.pk}"})
    assert sorted(int(e["id"]) for e in found) == sorted(a.pk for a in mine.audit)
    assert resource_search(resource_type="Patient", clinic=clinic, patients=scope,
                           params={"_id": str(theirs.patient.pk)}) == []
    (patient,) = resource_search(resource_type="Patient", clinic=clinic, patients=scope,
                                 params={"_id": str(mine.patient.pk)})
    assert patient["id"] == str(mine.patient.pk)


def test_status_searches(two_records, clinic, now):
    mine, _ = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)
    active = resource_search(resource_type="CarePlan", clinic=clinic, patients=scope,
                             params={"patient": str(mine.patient.pk), "status": "active"})
    assert [p["id"] for p in active] == [str(mine.revisions[1].pk)]
    assert len(resource_search(resource_type="Flag", clinic=clinic, patients=scope,
                               params={"status": "active"})) == 1
    assert resource_search(resource_type="Flag", clinic=clinic, patients=scope,
                           params={"status": "inactive"}) == []
    mine.flag.state, mine.flag.resolved_at = "resolved", now
    mine.flag.save()
    assert resource_search(resource_type="Flag", clinic=clinic, patients=scope,
                           params={"status": "active"}) == []


def test_authored_prefixes_combine(two_records, clinic, now):
    # given check-ins saved 3, 2 and 1 days before now (2026-11-22, -23, -24 at noon UTC)
    mine, _ = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)

    def authored(*values):
        found = resource_search(resource_type="QuestionnaireResponse", clinic=clinic,
                                patients=scope, params={"patient": str(mine.patient.pk),
                                                        "authored": list(values)})
        return sorted(r["authored"][:10] for r in found if r["id"].startswith("checkin-"))

    assert authored("ge2026-11-23") == ["2026-11-23", "2026-11-24"]
    assert authored("gt2026-11-23") == ["2026-11-24"]
    assert authored("lt2026-11-23") == ["2026-11-22"]
    assert authored("le2026-11-23") == ["2026-11-22", "2026-11-23"]
    assert authored("eq2026-11-23") == authored("2026-11-23") == ["2026-11-23"]
    assert authored("ge2026-11-23", "lt2026-11-24") == ["2026-11-23"]
    assert authored("2026-11") == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert authored("ge2026-11-23T12:00:00Z") == ["2026-11-23", "2026-11-24"]
    # the pulse answered with the first check-in comes with it
    found = resource_search(resource_type="QuestionnaireResponse", clinic=clinic,
                            patients=scope, params={"authored": "lt2026-11-23"})
    assert sorted(r["id"].split("-")[0] for r in found) == ["checkin", "pulse"]


def test_observation_code_search(two_records, clinic):
    mine, _ = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)

    def codes(value):
        return sorted(o["code"]["coding"][0]["code"] for o in resource_search(
            resource_type="Observation", clinic=clinic, patients=scope, params={"code": value}))

    assert codes("itch") == ["itch"] * 3
    assert codes("satisfaction") == ["satisfaction"] * 2
    assert codes("itch,satisfaction") == ["itch"] * 3 + ["satisfaction"] * 2
    assert codes("http://loinc.org|itch") == []


@pytest.mark.parametrize(("resource_type", "params", "says"), [
    ("CarePlan", {"subject": "1"}, "Unknown search parameter"),
    ("CarePlan", {"status": "finished"}, "status must be"),
    ("Flag", {"status": "open"}, "status must be active or inactive"),
    ("QuestionnaireResponse", {"authored": "sa2026-01-01"}, "prefix 'sa'"),
    ("QuestionnaireResponse", {"authored": "ge2026-13-01"}, "not a FHIR date"),
    ("QuestionnaireResponse", {"authored": "ge2026-01-01T10:00:00"}, "not a FHIR date"),
    ("CarePlan", {"patient": "Group/1"}, "Patient id or reference"),
    ("AuditEvent", {"entity": "abc"}, "entity must be"),
    ("Bundle", {}, "not supported"),
])
def test_unsupported_searches_say_why(patient_a, clinic, resource_type, params, says):
    with pytest.raises(SearchError, match=says):
        resource_search(resource_type=resource_type, clinic=clinic,
                        patients=Patient.objects.all(), params=params)


def test_since_keeps_what_changed(two_records, clinic, now):
    mine, _ = two_records
    scope = Patient.objects.filter(pk=mine.patient.pk)

    def ids(resource_type, since):
        return [r["id"] for r in resources_of(resource_type=resource_type, clinic=clinic,
                                              patients=scope, since=since)]

    # check-ins saved 3, 2, 1 days ago: the last two since 2 days ago
    assert ids("Observation", now - timedelta(days=2)) == [
        f"checkin-{mine.checkins[1].pk}-itch", f"checkin-{mine.checkins[1].pk}-satisfaction",
        f"checkin-{mine.checkins[2].pk}-itch", f"checkin-{mine.checkins[2].pk}-satisfaction"]
    later = now + timedelta(hours=1)
    for resource_type in ("QuestionnaireResponse", "Flag", "DetectedIssue", "Communication",
                          "AuditEvent"):
        assert ids(resource_type, later) == [], resource_type
    # no timestamp of their own: always included
    for resource_type in ("Patient", "CareTeam", "Questionnaire"):
        assert ids(resource_type, later), resource_type


def _patients_with_checkins(derm, count, now):
    from checkins.models import CheckIn, StepLog

    for _ in range(count):
        patient = PatientFactory(dermatologist=derm)
        revision = backdated_revision(patient, author=derm, number=1,
                                      effective_from=now.date() - timedelta(days=10),
                                      items=[item_draft()])
        item = revision.items.get()
        for days in range(2):
            checkin = CheckIn.objects.create(
                patient=patient, local_date=now.date() - timedelta(days=days),
                revision=revision, steps_due=1, steps_done=1, itch=2, satisfaction=4)
            StepLog.objects.create(checkin=checkin, item=item, item_key=item.key,
                                   slot="evening", done=True)


@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_queries_do_not_grow_with_patients(derm, clinic, now, resource_type):
    # given 10 patients, then 60 (one chunk either way)
    def queries_for(count):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        _patients_with_checkins(derm, count, now)
        patients = Patient.objects.filter(clinic=clinic)
        with CaptureQueriesContext(connection) as captured:
            produced = list(resources_of(resource_type=resource_type, clinic=clinic,
                                         patients=patients))
        return len(captured), len(produced)

    few, few_resources = queries_for(10)
    many, many_resources = queries_for(50)  # 60 in all
    # then the queries are the same, whatever the number of resources
    assert few == many
    assert few <= 5
    if resource_type not in selectors.SHARED_TYPES and resource_type in (
            "Patient", "CarePlan", "CareTeam", "QuestionnaireResponse", "Observation"):
        assert many_resources > few_resources


def test_chunks_add_a_bounded_number_of_queries(derm, clinic, now, monkeypatch,
                                                django_assert_max_num_queries):
    # given 60 patients in chunks of 20
    _patients_with_checkins(derm, 60, now)
    monkeypatch.setattr(selectors, "CHUNK_PATIENTS", 20)
    patients = Patient.objects.filter(clinic=clinic)
    # then 1 query for the ids and at most 4 per chunk
    with django_assert_max_num_queries(1 + 3 * 4):
        responses = list(resources_of(resource_type="QuestionnaireResponse", clinic=clinic,
                                      patients=patients))
    assert len(responses) == 120


def test_patient_bundle_is_the_whole_record_and_nothing_else(two_records, clinic):
    mine, theirs = two_records
    # when the patient's Bundle is made
    bundle = patient_bundle(patient=mine.patient)
    # then it is a valid collection of the patient's record and the shared resources it uses
    Bundle.model_validate(json.loads(json.dumps(bundle)))
    assert bundle["type"] == "collection"
    resources = [entry["resource"] for entry in bundle["entry"]]
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource["id"])
        assert not _mentions(resource, theirs.patient.pk)
    assert by_type["Patient"] == [str(mine.patient.pk)]
    assert len(by_type["CarePlan"]) == 2
    assert len(by_type["QuestionnaireResponse"]) == 4
    assert sorted(by_type["Questionnaire"]) == ["alliance-checkin", "alliance-pulse"]
    assert by_type["Medication"] == [str(mine.medicine_id)]
    assert len(by_type["Communication"]) == 5  # four messages (one private) and the outreach
    assert len(by_type["AuditEvent"]) == 3
    # the clinic's early warnings and its own note on the outreach are not the patient's to see
    assert "Flag" not in by_type
    assert "DetectedIssue" not in by_type
    (outreach,) = [r for r in resources if r["id"] == f"outreach-{mine.outreach.pk}"]
    assert "note" not in outreach
    assert "about" not in outreach
    assert outreach["payload"] == [{"contentString": mine.outreach.message_to_patient}]
    assert all(entry["fullUrl"].endswith(f"/fhir/R4/{entry['resource']['resourceType']}/"
                                         f"{entry['resource']['id']}")
               for entry in bundle["entry"])


def test_a_sliced_patients_queryset_is_read_whole(two_records, clinic):
    mine, _ = two_records
    sliced = Patient.objects.filter(pk=mine.patient.pk)[:1]
    (patient,) = resources_of(resource_type="Patient", clinic=clinic, patients=sliced)
    assert patient["id"] == str(mine.patient.pk)


def test_a_new_patients_bundle_holds_what_exists(patient_a):
    # given a patient with no plan, profile, check-in or message yet
    # when their Bundle is made
    bundle = patient_bundle(patient=patient_a)
    # then it is valid and names only them and their care team
    Bundle.model_validate(json.loads(json.dumps(bundle)))
    assert sorted(e["resource"]["resourceType"] for e in bundle["entry"]) == ["CareTeam",
                                                                               "Patient"]
