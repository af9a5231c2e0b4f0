"""The mapping: every resource of a rich record validates as FHIR R4 (fhir.resources R4B
models), carries the US Core required elements (FHIRPath), and says what the record means."""

from __future__ import annotations

import importlib
import json

import pytest
from fhirpathpy import evaluate as fhirpath_evaluate
from fhirpathpy.models import models

from accounts.models import Patient
from interop import mapping, questionnaires, selectors
from interop.selectors import RESOURCE_TYPES, resources_of

from .record import rich_record

pytestmark = pytest.mark.django_db

# FHIRPath expressions each US Core profile requires (the 1..1 / 1..* elements).
US_CORE_REQUIRED = {
    mapping.US_CORE_PATIENT: ["identifier.exists()", "name.exists()", "gender.exists()",
                              "name.all(given.exists() or family.exists() or "
                              "extension.exists())"],
    mapping.US_CORE_CAREPLAN: ["status.exists()", "intent.exists()", "subject.exists()",
                               "text.status.exists()", "text.`div`.exists()",
                               "category.coding.where(code = 'assess-plan').exists()"],
    mapping.US_CORE_GOAL: ["lifecycleStatus.exists()", "description.exists()",
                           "subject.exists()",
                           "startDate.exists() or target.dueDate.exists()"],
    mapping.US_CORE_CARETEAM: ["status.exists()", "subject.exists()",
                               "participant.all(role.exists() and member.exists())"],
    mapping.US_CORE_MEDICATION: ["code.exists()"],
    mapping.US_CORE_QUESTIONNAIRE_RESPONSE: ["questionnaire.exists()", "status.exists()",
                                             "subject.exists()", "authored.exists()"],
    mapping.US_CORE_SURVEY: ["status.exists()", "category.coding.where(code = 'survey')"
                             ".exists()", "code.exists()", "subject.exists()",
                             "effective.exists()", "value.exists()"],
}


def evaluate(resource: dict, expression: str) -> list:
    """FHIRPath over R4 (its model resolves choice elements such as ``value[x]``)."""
    return fhirpath_evaluate(resource, expression, model=models["r4"])


def _model(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def _all(record, clinic) -> dict[str, list[dict]]:
    patients = Patient.objects.filter(pk=record.patient.pk)
    return {t: list(resources_of(resource_type=t, clinic=clinic, patients=patients))
            for t in RESOURCE_TYPES}


@pytest.fixture
def record(now, derm, staff):
    return rich_record(derm, staff=staff, now=now)


def test_every_resource_validates_and_carries_us_core_required_elements(record, clinic):
    # given a rich record
    # when every type is produced
    produced = _all(record, clinic)
    # then each type has resources, each validates, and its profile's required elements exist
    for resource_type, resources in produced.items():
        assert resources, resource_type
        for resource in resources:
            assert resource["resourceType"] == resource_type
            _model(resource_type).model_validate(json.loads(json.dumps(resource)))
            for profile in resource.get("meta", {}).get("profile", []):
                for expression in US_CORE_REQUIRED[profile]:
                    assert evaluate(resource, expression) == [True], (resource["id"],
                                                                      expression)
    for resource_type in ("Patient", "CarePlan", "Goal", "CareTeam", "Medication",
                          "QuestionnaireResponse", "Observation"):
        assert all(r["meta"]["profile"] for r in produced[resource_type]), resource_type


def test_ids_are_valid_fhir_ids_and_unique_per_type(record, clinic):
    import re

    for resource_type, resources in _all(record, clinic).items():
        ids = [r["id"] for r in resources]
        assert len(ids) == len(set(ids)), resource_type
        assert all(re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", i) for i in ids), ids


def test_patient_says_what_is_known_and_no_sex(record, clinic):
    (patient,) = _all(record, clinic)["Patient"]
    assert patient["gender"] == "unknown"
    assert patient["birthDate"] == "2000-05-17"
    assert patient["name"][0]["family"] == "Lovelace"
    assert evaluate(patient, "communication.language.coding.code") == ["fr"]
    assert patient["managingOrganization"] == {"display": "Riverside Dermatology"}


def test_revisions_are_careplans_in_sequence_with_their_reason(record, clinic):
    first, second = record.revisions
    plans = {p["id"]: p for p in _all(record, clinic)["CarePlan"]}
    old, current = plans[str(first.pk)], plans[str(second.pk)]
    assert current["status"] == "active"
    assert old["status"] == "revoked"  # replaced a week in, before its review date
    assert current["replaces"] == [{"reference": f"CarePlan/{first.pk}"}]
    assert "replaces" not in old
    assert old["period"] == {"start": "2026-09-01", "end": "2026-09-07"}
    assert "Add the full routine" in current["text"]["div"]
    assert current["note"][0]["text"].endswith("Add the full routine")
    assert current["goal"] == [{"reference": f"Goal/{record.patient.pk}"}]
    assert current["intent"] == "plan"


def _activities(record, clinic) -> dict[str, list[dict]]:
    plans = {p["id"]: p for p in _all(record, clinic)["CarePlan"]}
    found: dict[str, list[dict]] = {}
    for activity in plans[str(record.revisions[1].pk)]["activity"]:
        found.setdefault(activity["detail"]["code"]["text"], []).append(activity)
    return found


def test_timings_mean_the_schedule(record, clinic):
    activities = _activities(record, clinic)

    def timing(name, index=0):
        return activities[name][index]["detail"]["scheduledTiming"]

    def kind(name, index=0):
        return timing(name, index)["code"]["coding"][0]["code"]

    # a course: daily in the morning, bounded by its last day
    doxy = timing("Doxycycline 100 mg capsule")["repeat"]
    assert (doxy["frequency"], doxy["period"], doxy["periodUnit"]) == (1, 1, "d")
    assert doxy["when"] == ["MORN"]
    assert doxy["boundsPeriod"] == {"start": "2026-09-08", "end": "2026-11-24"}
    # morning and evening: twice a day
    assert timing("Cleanser")["repeat"]["frequency"] == 2
    assert timing("Cleanser")["repeat"]["when"] == ["MORN", "EVE"]
    # Monday, Wednesday, Friday
    assert timing("Azelaic acid")["repeat"]["dayOfWeek"] == ["mon", "wed", "fri"]
    assert kind("Azelaic acid") == "weekdays"
    # every 3 days
    tret = timing("Tretinoin 0.025% cream")["repeat"]
    assert (tret["period"], tret["periodUnit"]) == (3, "d")
    # a ramp-up: alternate days for 14 days, then daily
    ramp, steady = activities["Adapalene 0.1% gel"]
    assert ramp["id"].endswith("-ramp-up")
    assert steady["id"] == ramp["id"][:-len("-ramp-up")]
    ramp_repeat = ramp["detail"]["scheduledTiming"]["repeat"]
    assert (ramp_repeat["period"], ramp_repeat["periodUnit"]) == (2, "d")
    assert ramp_repeat["boundsPeriod"] == {"start": "2026-09-08", "end": "2026-09-21"}
    assert steady["detail"]["scheduledTiming"]["repeat"]["boundsPeriod"] == {
        "start": "2026-09-22"}
    assert steady["detail"]["scheduledTiming"]["repeat"]["period"] == 1
    # an injection every 2 weeks with a 3-day window
    injection = timing("Dupilumab injection")
    assert (injection["repeat"]["period"], injection["repeat"]["periodUnit"]) == (2, "wk")
    assert evaluate(injection, f"extension.where(url = '{mapping.timing.DOSE_WINDOW_DAYS}')"
                               ".value") == [3]
    assert activities["Dupilumab injection"][0]["detail"]["kind"] == "MedicationRequest"
    # monthly on the 31st (a short month's last day), with a window
    monthly = timing("Photo of the face")
    assert monthly["repeat"]["periodUnit"] == "mo"
    assert evaluate(monthly, f"extension.where(url = '{mapping.timing.DAY_OF_MONTH}')"
                             ".value") == [31]
    # once on a date, with its window as the bounds
    once = timing("Blood test")
    assert once["event"] == ["2026-09-11"]
    assert once["repeat"]["count"] == 1
    assert once["repeat"]["boundsPeriod"] == {"start": "2026-09-11", "end": "2026-09-16"}
    # as needed: no rhythm, only the kind
    as_needed = timing("Hydrocortisone 1% cream")
    assert kind("Hydrocortisone 1% cream") == "as-needed"
    assert not {"frequency", "period", "event"} & (set(as_needed["repeat"]) | set(as_needed))


def test_a_medicine_in_the_catalogue_is_a_medication_reference(record, clinic):
    activities = _activities(record, clinic)
    doxy = activities["Doxycycline 100 mg capsule"][0]["detail"]
    assert doxy["productReference"]["reference"] == f"Medication/{record.medicine_id}"
    # a medicine not in the catalogue is named, a skincare step has no product
    assert activities["Dupilumab injection"][0]["detail"]["productCodeableConcept"] == {
        "text": "Dupilumab injection"}
    assert "productReference" not in activities["Cleanser"][0]["detail"]
    medications = _all(record, clinic)["Medication"]
    assert [m["id"] for m in medications] == [str(record.medicine_id)]  # not the cleanser
    assert medications[0]["code"]["text"] == "Doxycycline 100 mg capsule"


def test_goal_is_the_patients_own_words_and_careteam_names_the_caregiver(record, clinic):
    produced = _all(record, clinic)
    (goal,) = produced["Goal"]
    assert goal["description"]["text"] == "Clear skin for my wedding"
    (team,) = produced["CareTeam"]
    members = evaluate(team, "participant.member.display")
    assert "Mum" in members
    assert len(members) == 2
    assert evaluate(team, "participant.role.coding.code") == ["18803008", "133932002"]


def _link_ids(items: list[dict]) -> set[str]:
    found = set()
    for item in items:
        found.add(item["linkId"])
        found |= _link_ids(item.get("item", []))
    return found


def test_responses_answer_only_the_published_questionnaires_items(record, clinic):
    produced = _all(record, clinic)
    published = {f"{q['url']}|{q['version']}": questionnaires.link_ids(q)
                 for q in produced["Questionnaire"]}
    responses = produced["QuestionnaireResponse"]
    assert len(responses) == 4  # three check-ins and one pulse
    for response in responses:
        assert _link_ids(response["item"]) <= published[response["questionnaire"]]
    pulse = next(r for r in responses if r["id"].startswith("pulse-"))
    assert evaluate(pulse, "item.where(linkId = 'total').answer.value") == [30]


def test_step_logs_are_a_group_per_step_with_done_skipped_and_reason(record, clinic):
    responses = {r["id"]: r for r in _all(record, clinic)["QuestionnaireResponse"]}
    response = responses[f"checkin-{record.checkins[0].pk}"]
    steps = evaluate(response, "item.where(linkId = 'steps').item.where(linkId = 'step')")
    assert len(steps) == 3
    answers = [{item["linkId"]: next(iter(item["answer"][0].values())) for item in step["item"]}
               for step in steps]
    assert answers[1]["step.done"] is False
    assert answers[1]["step.skip-reason"]["code"] == "forgot"
    assert answers[1]["step.slot"]["code"] == "evening"
    as_needed = answers[2]
    assert (as_needed["step.name"], as_needed["step.counted"]) == ("Hydrocortisone 1% cream",
                                                                   False)
    assert as_needed["step.taken-on"] == "2026-11-20"
    assert response["author"] == {"reference": f"Patient/{record.patient.pk}"}


def test_itch_and_satisfaction_are_survey_observations(record, clinic):
    observations = {o["id"]: o for o in _all(record, clinic)["Observation"]}
    first, second, _ = record.checkins
    assert observations[f"checkin-{first.pk}-itch"]["valueInteger"] == 3
    assert f"checkin-{first.pk}-satisfaction" not in observations  # not rated that day
    assert observations[f"checkin-{second.pk}-satisfaction"]["valueInteger"] == 4
    assert observations[f"checkin-{second.pk}-itch"]["effectiveDateTime"] == "2026-11-21"
    assert len(observations) == 5


def test_flag_links_its_evidence_numbers_without_message_text(record, clinic):
    produced = _all(record, clinic)
    (flag,) = produced["Flag"]
    (issue,) = produced["DetectedIssue"]
    assert flag["status"] == "active"
    assert flag["extension"][0]["valueReference"] == {"reference": f"DetectedIssue/{issue['id']}"}
    assert flag["code"]["coding"][0]["code"] == "severe_side_effect"
    numbers = {
        evaluate(e, "extension.where(url = 'name').value")[0]:
        evaluate(e, "extension.where(url = 'value').value")[0]
        for e in issue["extension"] if e["url"] == mapping.EVIDENCE_NUMBER}
    assert numbers == {"side_effect": "severe", "item": "Adapalene 0.1% gel", "steps.0": 1,
                       "steps.1": 2, "percent": 50.0, "nested.n": 3}
    assert issue["severity"] == "high"
    assert evaluate(issue, "evidence.detail.reference") == [
        f"QuestionnaireResponse/checkin-{record.checkins[2].pk}",
        f"Communication/message-{record.messages[0].pk}"]
    assert "Can I use the gel" not in json.dumps(issue) + json.dumps(flag)


def test_resolved_flag_is_inactive_with_its_period(record, clinic, now):
    record.flag.state, record.flag.resolved_at = "resolved", now
    record.flag.save()
    (flag,) = _all(record, clinic)["Flag"]
    assert flag["status"] == "inactive"
    assert flag["period"]["end"] == mapping.instant(now)


def test_messages_thread_and_private_threads_are_kept_restricted(record, clinic):
    communications = {c["id"]: c for c in _all(record, clinic)["Communication"]}
    first, reply, thanks, secret = (communications[f"message-{m.pk}"] for m in record.messages)
    assert "partOf" not in first
    assert "inResponseTo" not in first
    assert reply["partOf"] == [{"reference": f"Communication/message-{record.messages[0].pk}"}]
    assert thanks["inResponseTo"] == [
        {"reference": f"Communication/message-{record.messages[1].pk}"}]
    assert first["sender"] == {"reference": f"Patient/{record.patient.pk}"}
    assert reply["recipient"] == [{"reference": f"Patient/{record.patient.pk}"}]
    assert secret["meta"]["security"][0]["code"] == "R"
    assert "meta" not in first
    outreach = communications[f"outreach-{record.outreach.pk}"]
    assert outreach["about"] == [{"reference": f"Flag/{record.flag.pk}"}]
    assert outreach["payload"][0]["contentString"] == "Please pause the gel for 3 days."


def test_audit_events_follow_the_basic_audit_log_pattern_for_reads(record, clinic):
    events = {e["id"]: e for e in _all(record, clinic)["AuditEvent"]}
    read, listing, change = (events[str(a.pk)] for a in record.audit)
    assert read["type"]["code"] == "rest"
    assert read["subtype"][0] == {"system": "http://hl7.org/fhir/restful-interaction",
                                  "code": "read", "display": "read"}
    assert listing["subtype"][0]["code"] == "search-type"
    assert (read["action"], read["outcome"]) == ("R", "0")
    assert change["action"] == "U"
    assert evaluate(read, "agent.where(requestor = true).who.display").__len__() == 1
    assert evaluate(read, "entity.where(role.code = '1').what.reference") == [
        f"Patient/{record.patient.pk}"]
    assert read["source"]["observer"]["display"] == "Alliance Portal"


def test_a_refused_read_has_outcome_4(record, clinic, derm, now):
    from tests.factories import AuditEventFactory

    refused = AuditEventFactory(actor=derm, patient=record.patient, allowed=False, at=now)
    found = selectors.resource_read(resource_type="AuditEvent", resource_id=str(refused.pk),
                                    clinic=clinic, patients=Patient.objects.all())
    assert found["outcome"] == "4"


def test_a_resources_meta_is_its_own(record, clinic):
    # given two responses and two observations
    produced = _all(record, clinic)
    for resource_type in ("QuestionnaireResponse", "Observation"):
        first, second = produced[resource_type][:2]
        # when a server stamps one
        first["meta"]["lastUpdated"] = "2026-11-25T12:00:00+00:00"
        # then the other is untouched, and so is the next one made
        assert "lastUpdated" not in second["meta"]
        again = list(resources_of(resource_type=resource_type, clinic=clinic,
                                  patients=Patient.objects.filter(pk=record.patient.pk)))
        assert all("lastUpdated" not in r["meta"] for r in again)


@pytest.mark.parametrize(("frequency", "every", "ramp_days"),
                         [("every_n_days", 3, 10), ("every_n_days", 4, 8),
                          ("every_n_weeks", 2, 10), ("daily", None, 10)])
def test_the_steady_phase_after_a_ramp_up_starts_on_the_schedules_first_dose(
        frequency, every, ramp_days):
    # given: a step that ramps up every 2 days, then keeps its rhythm counted from its start
    from datetime import date, timedelta
    from types import SimpleNamespace

    from careplans.schedule import scheduled_on
    from interop.timing import phases

    item = {"key": "k", "starts_on": date(2027, 1, 1), "ends_on": None,
            "ramp_days": ramp_days, "ramp_every_n_days": 2, "frequency": frequency,
            "every_n_days": every if frequency == "every_n_days" else None,
            "every_n_weeks": every if frequency == "every_n_weeks" else None,
            "weekdays": "", "day_of_month": None, "window_days": 0, "time_of_day": "morning"}
    # when
    (_ramp_id, _ramp), (_steady_id, steady) = phases(item)
    # then: the Timing's first day is the schedule's first dose after the ramp-up
    ramp_end = item["starts_on"] + timedelta(days=ramp_days)
    first_dose = next(day for day in (ramp_end + timedelta(days=n) for n in range(30))
                      if scheduled_on(SimpleNamespace(**item), day))
    assert steady["repeat"]["boundsPeriod"]["start"] == first_dose.isoformat()
