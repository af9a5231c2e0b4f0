"""The portal's record as FHIR R4 (4.0.1) resources, defined once; US Core 6.1.0 profiles
where one exists (``meta.profile``).

Every producer (the read API, the bulk export, a patient's "Download my data") goes through
``interop/selectors.py``, which reads plain rows (``.values()`` dicts) and calls these
functions; each returns the resource as a JSON-ready dict (no model instances, no pydantic:
an export maps millions of rows).

Ids are valid FHIR ids, stable, and prefixed where one FHIR type comes from several tables or
several resources come from one row:

====================== ================================ =======================================
FHIR type              from                             id
====================== ================================ =======================================
Patient                accounts.Patient                 ``12``
CarePlan               careplans.PlanRevision           ``34`` (the revision)
Goal                   careplans.PatientProfile         ``12`` (the patient's own goal)
CareTeam               Patient + dermatologist + links  ``12``
Medication             catalogue.CatalogueItem          ``56`` (a medicine: topical/oral/injection)
Questionnaire          interop/questionnaires.py        ``alliance-checkin``, ``alliance-pulse``
QuestionnaireResponse  checkins.CheckIn / AlliancePulse ``checkin-5``, ``pulse-7``
Observation            checkins.CheckIn                 ``checkin-5-itch``, ``-satisfaction``
Flag                   flags.Flag                       ``8``
DetectedIssue          flags.Flag (its evidence)        ``flag-8``
Communication          messaging.Message / Outreach     ``message-9``, ``outreach-3``
AuditEvent             accounts.AuditEvent              ``123``
====================== ================================ =======================================

Representation choices (the lead's docs repeat these):

- **Step logs**: an item group per step in the check-in's QuestionnaireResponse
  (``interop/questionnaires.py`` says why).
- **Schedules** (as needed, ramp-ups, windows, day of month): ``interop/timing.py``.
- **Flag evidence**: a Flag carries the extension ``flag-detail`` pointing at a DetectedIssue
  ``flag-<id>``, which holds the rule's summary, severity, the evidence numbers (extension
  ``EVIDENCE_NUMBER``: name + value), the windows compared (``EVIDENCE_WINDOW``: label +
  period) and references to the check-ins and messages behind it; never a message's text.
- **Sex**: the portal stores none, so ``gender`` is ``unknown`` on every Patient.
- **People without a FHIR resource of their own** (dermatologists, staff, caregivers, the
  clinic) are references with a ``display`` only; the record does not publish Practitioner,
  RelatedPerson or Organization resources.
- **Shared parts**: resources made here may share constant parts (a coding, an answer such
  as "done: true"): they are made to be serialised; a caller never edits one in place.
- **Private conversations** are part of the patient's record and exported; they carry
  ``meta.security`` R (restricted: never shown to a caregiver).
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from interop import questionnaires, timing

FHIR_VERSION = "4.0.1"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
US_CORE_PATIENT = US_CORE + "us-core-patient"
US_CORE_CAREPLAN = US_CORE + "us-core-careplan"
US_CORE_GOAL = US_CORE + "us-core-goal"
US_CORE_CARETEAM = US_CORE + "us-core-careteam"
US_CORE_MEDICATION = US_CORE + "us-core-medication"
US_CORE_QUESTIONNAIRE_RESPONSE = US_CORE + "us-core-questionnaireresponse"
US_CORE_SURVEY = US_CORE + "us-core-observation-screening-assessment"

PORTAL = "https://alliance-portal.example/fhir/"
PATIENT_IDENTIFIER_SYSTEM = PORTAL + "identifier/patient"
ITEM_KIND_SYSTEM = PORTAL + "CodeSystem/plan-item-kind"
CATALOGUE_SYSTEM = PORTAL + "CodeSystem/catalogue-item"
OBSERVATION_SYSTEM = PORTAL + "CodeSystem/checkin-observation"
FLAG_RULE_SYSTEM = PORTAL + "CodeSystem/flag-rule"
MESSAGE_TOPIC_SYSTEM = PORTAL + "CodeSystem/message-topic"
COMMUNICATION_CATEGORY_SYSTEM = PORTAL + "CodeSystem/communication-category"
OUTREACH_SYSTEM = PORTAL + "CodeSystem/outreach"
AUDIT_OBJECT_SYSTEM = PORTAL + "CodeSystem/audit-object-type"
EVIDENCE_NUMBER = PORTAL + "StructureDefinition/flag-evidence-number"
EVIDENCE_WINDOW = PORTAL + "StructureDefinition/flag-evidence-window"
REVISION_REASON = PORTAL + "StructureDefinition/plan-revision-reason"
FLAG_DETAIL = "http://hl7.org/fhir/StructureDefinition/flag-detail"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PORTAL_OBSERVER = {"display": "Alliance Portal"}

MEDICINE_KINDS = ("topical", "oral", "injection")
ITEM_KIND_DISPLAY = {
    "skincare": "Skincare step", "topical": "Topical medication", "oral": "Oral medication",
    "injection": "Injection", "procedure": "Procedure or appointment", "lifestyle": "Lifestyle",
}
OBSERVATIONS = {  # code: (display, low, high)
    "itch": ("Itch or discomfort (0-10)", 0, 10),
    "satisfaction": ("Satisfaction with the plan (1-5)", 1, 5),
}
RESTRICTED = {"security": [{"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}]}


def instant(value: datetime) -> str:
    """An aware datetime as FHIR ``instant``/``dateTime`` (seconds, with its offset)."""
    return value.isoformat(timespec="seconds")


def ref(resource_type: str, resource_id: object) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def _narrative(*lines: str) -> dict[str, str]:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    return {"status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body or "<p/>"}</div>'}


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def person_name(first_name: str, last_name: str, email: str) -> str:
    """How the portal names a person (``accounts.models.name_to_display``)."""
    return f"{first_name} {last_name}".strip() or email


# --- Patient --------------------------------------------------------------------------------


def patient_resource(row: Any) -> dict[str, Any]:
    """Patient (US Core Patient: identifier, name, gender).

    ``row``: ``id``, ``first_name``, ``last_name``, ``email``, ``language``,
    ``date_of_birth``, ``is_active``, ``clinic_name`` (a Patient instance is accepted too)."""
    if not isinstance(row, dict):
        row = {"id": row.pk, "first_name": row.user.first_name, "last_name": row.user.last_name,
               "email": row.user.email, "language": row.user.language,
               "date_of_birth": row.date_of_birth, "is_active": row.is_active,
               "clinic_name": row.clinic.name}
    name: dict[str, Any] = {"use": "official"}
    if row["last_name"]:
        name["family"] = row["last_name"]
    if row["first_name"]:
        name["given"] = [row["first_name"]]
    if "family" not in name and "given" not in name:  # a name never given (US Core us-core-6)
        name["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                              "valueCode": "unknown"}]
    else:
        name["text"] = person_name(row["first_name"], row["last_name"], "")
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(row["id"]),
        "meta": {"profile": [US_CORE_PATIENT]},
        "identifier": [{"system": PATIENT_IDENTIFIER_SYSTEM, "value": str(row["id"])}],
        "active": row["is_active"],
        "name": [name],
        # The portal records no sex or gender: "unknown" says so (not a guess).
        "gender": "unknown",
        "managingOrganization": {"display": row["clinic_name"]},
    }
    if row["email"] and not row["email"].endswith("@no-login.invalid"):
        resource["telecom"] = [{"system": "email", "value": row["email"]}]
    if row["date_of_birth"]:
        resource["birthDate"] = row["date_of_birth"].isoformat()
    if row["language"]:
        resource["communication"] = [{"language": {
            "coding": [{"system": "urn:ietf:bcp:47", "code": row["language"]}],
            "text": row["language"]}, "preferred": True}]
    return resource


# --- CarePlan, Goal, CareTeam, Medication ---------------------------------------------------


def careplan_status(*, is_current: bool, replaced_on: date | None, reviews_on: date) -> str:
    """active: the revision in effect; a replaced one is completed when it ran to its review
    date, revoked when a new revision replaced it before then."""
    if is_current:
        return "active"
    return "completed" if replaced_on is not None and replaced_on >= reviews_on else "revoked"


def careplan_resource(revision: dict[str, Any], items: list[dict[str, Any]], *, patient_id: int,
                      previous_id: int | None, next_effective_from: date | None,
                      has_goal: bool, medication_ids: dict[str, int]) -> dict[str, Any]:
    """A plan revision (US Core CarePlan). ``items``: its PlanItem rows in order;
    ``medication_ids``: the clinic's medicine catalogue ids by lower-cased name."""
    is_current = next_effective_from is None
    status = careplan_status(is_current=is_current, replaced_on=next_effective_from,
                             reviews_on=revision["reviews_on"])
    period = {"start": revision["effective_from"].isoformat()}
    if next_effective_from is not None:
        period["end"] = max(next_effective_from - timedelta(days=1),
                            revision["effective_from"]).isoformat()
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(revision["id"]),
        "meta": {"profile": [US_CORE_CAREPLAN]},
        "text": _narrative(
            f"Care plan, revision {revision['number']} ({status}), from "
            f"{revision['effective_from'].isoformat()}; review on "
            f"{revision['reviews_on'].isoformat()}.",
            f"Why: {revision['reason']}",
            *(f"{item['name']}: {item['instructions']}".rstrip(": ") for item in items),
        ),
        "identifier": [{"system": PORTAL + "identifier/plan-revision",
                        "value": f"{revision['plan_id']}-{revision['number']}"}],
        "status": status,
        "intent": "plan",
        "category": [{"coding": [{"system": CAREPLAN_CATEGORY, "code": "assess-plan"}]}],
        "title": f"Care plan, revision {revision['number']}",
        "description": revision["reason"],
        "subject": ref("Patient", patient_id),
        "period": period,
        "created": instant(revision["created_at"]),
        "author": {"display": person_name(revision["author__first_name"],
                                          revision["author__last_name"],
                                          revision["author__email"])},
        "careTeam": [ref("CareTeam", patient_id)],
        "note": [{"text": f"Reason for this revision: {revision['reason']}",
                  "time": instant(revision["created_at"])}],
        "activity": [activity for item in items
                     for activity in careplan_activities(item, status=status,
                                                         medication_ids=medication_ids)],
    }
    if previous_id is not None:
        resource["replaces"] = [ref("CarePlan", previous_id)]
    if has_goal:
        resource["goal"] = [ref("Goal", patient_id)]
    return resource


ACTIVITY_STATUS = {"active": "in-progress", "completed": "completed", "revoked": "stopped"}


def careplan_activities(item: dict[str, Any], *, status: str,
                        medication_ids: dict[str, int]) -> list[dict[str, Any]]:
    """One activity per phase of a step (a ramp-up, then its schedule: ``timing.phases``)."""
    kind = item["kind"]
    base: dict[str, Any] = {
        "status": ACTIVITY_STATUS[status],
        "doNotPerform": False,
        "code": {"coding": [{"system": ITEM_KIND_SYSTEM, "code": kind,
                             "display": ITEM_KIND_DISPLAY.get(kind, kind)}],
                 "text": item["name"]},
        "description": item["instructions"] or item["name"],
    }
    if kind in MEDICINE_KINDS:
        base["kind"] = "MedicationRequest"
        medication_id = medication_ids.get(item["name"].lower())
        if medication_id is not None:
            base["productReference"] = {**ref("Medication", medication_id),
                                        "display": item["name"]}
        else:
            base["productCodeableConcept"] = {"text": item["name"]}
    activities = []
    for element_id, phase_timing in timing.phases(item):
        activities.append({"id": element_id, "detail": {**base, "scheduledTiming": phase_timing}})
    return activities


def goal_resource(*, patient_id: int, what_matters: str, start: date,
                  due: date | None) -> dict[str, Any]:
    """The patient's own goal, in their words (PatientProfile.what_matters; US Core Goal)."""
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": str(patient_id),
        "meta": {"profile": [US_CORE_GOAL]},
        "lifecycleStatus": "active",
        "description": {"text": what_matters},
        "subject": ref("Patient", patient_id),
        "expressedBy": ref("Patient", patient_id),
        "startDate": start.isoformat(),
    }
    if due is not None:
        resource["target"] = [{"dueDate": due.isoformat()}]
    return resource


DERMATOLOGIST_ROLE = {"coding": [{"system": SNOMED, "code": "18803008",
                                  "display": "Dermatologist"}], "text": "Dermatologist"}
CAREGIVER_ROLE = {"coding": [{"system": SNOMED, "code": "133932002", "display": "Caregiver"}],
                  "text": "Caregiver"}


def careteam_resource(*, patient_id: int, active: bool, dermatologist_name: str,
                      caregivers: list[dict[str, Any]]) -> dict[str, Any]:
    """The patient's care team (US Core CareTeam): the dermatologist, and caregivers by the
    names the patient calls them (``name``, ``relationship``, ``since``, ``until``)."""
    participants: list[dict[str, Any]] = [{"role": [DERMATOLOGIST_ROLE],
                                           "member": {"display": dermatologist_name}}]
    for caregiver in caregivers:
        period = {"start": instant(caregiver["since"])}
        if caregiver["until"] is not None:
            period["end"] = instant(caregiver["until"])
        participants.append({"role": [{**CAREGIVER_ROLE, "text": f"Caregiver "
                                       f"({caregiver['relationship']})"}],
                             "member": {"display": caregiver["name"]}, "period": period})
    return {
        "resourceType": "CareTeam",
        "id": str(patient_id),
        "meta": {"profile": [US_CORE_CARETEAM]},
        "status": "active" if active else "inactive",
        "name": "Care team",
        "subject": ref("Patient", patient_id),
        "participant": participants,
    }


def medication_resource(row: dict[str, Any]) -> dict[str, Any]:
    """A catalogue item that is a medicine (US Core Medication). The catalogue holds no RxNorm
    code: the code is the item's name as text, with the clinic's catalogue id as a coding."""
    resource = {
        "resourceType": "Medication",
        "id": str(row["id"]),
        "meta": {"profile": [US_CORE_MEDICATION]},
        "code": {"coding": [{"system": CATALOGUE_SYSTEM, "code": str(row["id"]),
                             "display": row["name"]}], "text": row["name"]},
        "status": "active" if row["active"] else "inactive",
        "form": {"text": ITEM_KIND_DISPLAY[row["kind"]]},
    }
    return resource


# --- Check-ins ------------------------------------------------------------------------------


def _answer(link_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    return {"linkId": link_id, "answer": [answer]}


@lru_cache(maxsize=4096)
def _shared_answer(link_id: str, kind: str, value: Any) -> dict[str, Any]:
    """An answer item many responses give alike (``steps.due`` 3, ``step.done`` true), made
    once and shared: resources are read-only once made (see the module's docstring)."""
    return _answer(link_id, {kind: value})


SLOT_CODINGS = {slot: {"system": questionnaires.SLOT_SYSTEM, "code": slot, "display": label}
                for slot, label in questionnaires.SLOTS.items()}


@lru_cache(maxsize=4096)
def _skip_reason_answer(reason: str) -> dict[str, Any]:
    return _answer("step.skip-reason", {"valueCoding": {
        "system": questionnaires.SKIP_REASON_SYSTEM, "code": reason}})


@lru_cache(maxsize=65536)
def _step_answers(key: str, name: str, slot: str, done: bool, skip_reason: str,
                  counted: bool) -> dict[str, Any]:
    """A step log's group without a date: the same for every day it is logged so."""
    answers = [_answer("step.key", {"valueString": key}),
               _answer("step.name", {"valueString": name}),
               _answer("step.slot", {"valueCoding": SLOT_CODINGS.get(slot) or {"code": slot}}),
               _shared_answer("step.done", "valueBoolean", done)]
    if skip_reason:
        answers.append(_skip_reason_answer(skip_reason))
    answers.append(_shared_answer("step.counted", "valueBoolean", counted))
    return {"linkId": "step", "item": answers}


def step_group(key: str, name: str, slot: str, done: bool, skip_reason: str,
               taken_on: date | None, counted: bool) -> dict[str, Any]:
    """A step log as the ``step`` item group of its check-in's response."""
    group = _step_answers(key, name, slot, done, skip_reason, counted)
    if taken_on is None:
        return group
    answers = list(group["item"])
    answers.insert(-1, _answer("step.taken-on", {"valueDate": taken_on.isoformat()}))
    return {"linkId": "step", "item": answers}


@lru_cache(maxsize=64)
def _side_effect_answer(severity: str) -> dict[str, Any]:
    return _answer("side-effect.severity", {"valueCoding": {
        "system": questionnaires.SIDE_EFFECT_SYSTEM, "code": severity}})


@lru_cache(maxsize=65536)
def _patient_ref(patient_id: int) -> dict[str, str]:
    return ref("Patient", patient_id)


@lru_cache(maxsize=65536)
def _based_on(revision_id: int) -> list[dict[str, str]]:
    return [ref("CarePlan", revision_id)]


@lru_cache(maxsize=4096)
def _checkin_date(day: date) -> list[dict[str, str]]:
    """The day a check-in is about (the patient's calendar date), not when it was sent."""
    return [{"url": CHECKIN_DATE, "valueDate": day.isoformat()}]


@lru_cache(maxsize=16)
def _partnership_question(question: str) -> dict[str, Any]:
    return _answer("partnership.question", {"valueCoding": {
        "system": questionnaires.PARTNERSHIP_SYSTEM, "code": question}})


CHECKIN_DATE = PORTAL + "StructureDefinition/checkin-date"
QUESTIONNAIRE_RESPONSE_META = {"profile": [US_CORE_QUESTIONNAIRE_RESPONSE]}
NO_SIDE_EFFECT = {"linkId": "side-effect", "item": [_side_effect_answer("none")]}


def checkin_response(row: dict[str, Any], steps: list[dict[str, Any]], *,
                     author: dict[str, str] | None, side_effect_step: str | None
                     ) -> dict[str, Any]:
    """A check-in as a QuestionnaireResponse to the portal's check-in Questionnaire.
    ``steps``: its step logs as ``step_group``s; ``author``: None for the patient, else the
    caregiver who logged it (display)."""
    patient = _patient_ref(row["patient_id"])
    items: list[dict[str, Any]] = [{"linkId": "steps", "item": [
        _shared_answer("steps.due", "valueInteger", row["steps_due"]),
        _shared_answer("steps.done", "valueInteger", row["steps_done"]),
        *steps,
    ]}]
    if row["satisfaction"] is not None:
        items.append(_shared_answer("satisfaction", "valueInteger", row["satisfaction"]))
    if row["itch"] is not None:
        items.append(_shared_answer("itch", "valueInteger", row["itch"]))
    if row["side_effect"] == "none" and not side_effect_step and not row["side_effect_text"]:
        items.append(NO_SIDE_EFFECT)
    else:
        side_effect = [_side_effect_answer(row["side_effect"])]
        if side_effect_step:
            side_effect.append(_answer("side-effect.step", {"valueString": side_effect_step}))
        if row["side_effect_text"]:
            side_effect.append(_answer("side-effect.text",
                                       {"valueString": row["side_effect_text"]}))
        items.append({"linkId": "side-effect", "item": side_effect})
    if row["note"]:
        items.append(_answer("note", {"valueString": row["note"]}))
    if row["partnership_question"]:
        partnership = [_partnership_question(row["partnership_question"])]
        if row["partnership"] is not None:
            partnership.append(_shared_answer("partnership.answer", "valueInteger",
                                              row["partnership"]))
        items.append({"linkId": "partnership", "item": partnership})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"checkin-{row['id']}",
        "meta": QUESTIONNAIRE_RESPONSE_META,
        "extension": _checkin_date(row["local_date"]),
        "questionnaire": questionnaires.CHECKIN_CANONICAL,
        "status": "completed",
        "subject": patient,
        "basedOn": _based_on(row["revision_id"]),
        "authored": instant(row["updated_at"]),
        "author": author or patient,
        "source": patient,
        "item": items,
    }


def pulse_response(row: dict[str, Any], *, authored: datetime) -> dict[str, Any]:
    """An alliance pulse as a QuestionnaireResponse to the pulse Questionnaire."""
    patient_id = row["patient_id"]
    items = [_answer(link_id, {"valueInteger": row[link_id]})
             for link_id in questionnaires.PULSE_LINK_IDS]
    items.append(_answer("total", {"valueInteger": row["total"]}))
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"pulse-{row['id']}",
        "meta": {"profile": [US_CORE_QUESTIONNAIRE_RESPONSE]},
        "questionnaire": questionnaires.PULSE_CANONICAL,
        "status": "completed",
        "subject": ref("Patient", patient_id),
        "authored": instant(authored),
        "author": ref("Patient", patient_id),
        "item": items,
        "extension": _checkin_date(row["local_date"]),
    }


SURVEY_CATEGORY = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey",
                                "display": "Survey"}], "text": "Survey"}]
SURVEY_META = {"profile": [US_CORE_SURVEY]}
OBSERVATION_CODES = {code: _concept(OBSERVATION_SYSTEM, code, display)
                     for code, (display, _low, _high) in OBSERVATIONS.items()}


def checkin_observation(row: dict[str, Any], code: str) -> dict[str, Any]:
    """Itch (0-10) or satisfaction (1-5) from a check-in, as a survey Observation
    (``row["issued"]``: the check-in's ``updated_at`` as an instant)."""
    checkin_id = row["id"]
    patient = _patient_ref(row["patient_id"])
    return {
        "resourceType": "Observation",
        "id": f"checkin-{checkin_id}-{code}",
        "meta": SURVEY_META,
        "status": "final",
        "category": SURVEY_CATEGORY,
        "code": OBSERVATION_CODES[code],
        "subject": patient,
        "effectiveDateTime": row["local_date"].isoformat(),
        "issued": row["issued"],
        "performer": [patient],
        "valueInteger": row[code],
        "derivedFrom": [{"reference": f"QuestionnaireResponse/checkin-{checkin_id}"}],
    }


# --- Flags ----------------------------------------------------------------------------------

FLAG_RULE_DISPLAY = {
    "adherence_drop": "Adherence falling",
    "below_expected": "Below expected adherence (earlier rule)",
    "satisfaction_drop": "Satisfaction falling",
    "alliance_drop": "Partnership falling",
    "gone_quiet": "Stopped checking in",
    "severe_side_effect": "Severe side effect",
    "alliance_at_risk": "Alliance at risk",
    "missed_dose": "Missed injection or dated task",
}
SEVERITY_CODES = {1: "low", 2: "moderate", 3: "high"}


def _rule_concept(rule: str, title: str | None) -> dict[str, Any]:
    display = FLAG_RULE_DISPLAY.get(rule, rule)
    return {"coding": [{"system": FLAG_RULE_SYSTEM, "code": rule, "display": display}],
            "text": title or display}


def flag_resource(row: dict[str, Any]) -> dict[str, Any]:
    """A flag (active until resolved), its evidence in the DetectedIssue ``flag-<id>``."""
    evidence = row["evidence"] if isinstance(row["evidence"], dict) else {}
    category = "clinical" if row["rule"] == "severe_side_effect" else "behavioral"
    period = {"start": instant(row["opened_at"])}
    if row["resolved_at"] is not None:
        period["end"] = instant(row["resolved_at"])
    return {
        "resourceType": "Flag",
        "id": str(row["id"]),
        "extension": [{"url": FLAG_DETAIL, "valueReference": ref("DetectedIssue",
                                                                 f"flag-{row['id']}")}],
        "status": "inactive" if row["state"] == "resolved" else "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY, "code": category}]}],
        "code": _rule_concept(row["rule"], evidence.get("title")),
        "subject": ref("Patient", row["patient_id"]),
        "period": period,
        "author": {"display": row["clinic_name"]},
    }


def _evidence_numbers(numbers: Any, prefix: str = "") -> list[dict[str, Any]]:
    """The evidence numbers, flattened to (name, value) extensions: nested lists and dicts get
    dotted names ("steps.0"); text values are codes and step names the rules wrote."""
    found: list[dict[str, Any]] = []
    entries = (numbers.items() if isinstance(numbers, dict)
               else enumerate(numbers) if isinstance(numbers, list) else ())
    for key, value in entries:
        name = f"{prefix}{key}"
        if isinstance(value, (dict, list)):
            found.extend(_evidence_numbers(value, prefix=f"{name}."))
            continue
        if value is None:
            continue
        if isinstance(value, bool):
            typed = {"valueBoolean": value}
        elif isinstance(value, int):
            typed = {"valueInteger": value}
        elif isinstance(value, float):
            typed = {"valueDecimal": value}
        else:
            typed = {"valueString": str(value)[:200]}
        found.append({"url": EVIDENCE_NUMBER, "extension": [
            {"url": "name", "valueString": name}, {"url": "value", **typed}]})
    return found


def _evidence_windows(windows: Any) -> list[dict[str, Any]]:
    found = []
    for window in windows if isinstance(windows, list) else ():
        if not isinstance(window, dict) or not window.get("start") or not window.get("end"):
            continue
        parts = [{"url": "label", "valueString": str(window.get("label", ""))},
                 {"url": "period", "valuePeriod": {"start": window["start"],
                                                   "end": window["end"]}}]
        if window.get("signal"):
            parts.append({"url": "signal", "valueString": str(window["signal"])})
        found.append({"url": EVIDENCE_WINDOW, "extension": parts})
    return found


def detected_issue_resource(row: dict[str, Any]) -> dict[str, Any]:
    """A flag's evidence: what the rule compared, the check-ins and messages it rests on
    (references, never a message's text)."""
    evidence = row["evidence"] if isinstance(row["evidence"], dict) else {}
    references = [ref("QuestionnaireResponse", f"checkin-{pk}")
                  for pk in evidence.get("checkin_ids") or () if isinstance(pk, int)]
    references += [ref("Communication", f"message-{pk}")
                   for pk in evidence.get("message_ids") or () if isinstance(pk, int)]
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": f"flag-{row['id']}",
        "extension": (_evidence_numbers(evidence.get("numbers") or {})
                      + _evidence_windows(evidence.get("windows"))),
        "status": "final",
        "code": _rule_concept(row["rule"], evidence.get("title")),
        "severity": SEVERITY_CODES.get(row["severity"], "moderate"),
        "patient": ref("Patient", row["patient_id"]),
        "identifiedDateTime": instant(row["evidence_at"]),
        "author": {"display": "Alliance Portal flag rules"},
    }
    if evidence.get("summary"):
        resource["detail"] = str(evidence["summary"])
    if references:
        resource["evidence"] = [{"detail": references}]
    if not resource["extension"]:
        del resource["extension"]
    return resource


# --- Communications -------------------------------------------------------------------------

TOPIC_DISPLAY = {"plan": "A question about my plan", "side_effect": "A side effect",
                 "cost": "Cost or supply", "other": "Something else",
                 "from_clinic": "From your care team"}
MESSAGE_CATEGORY = [_concept(COMMUNICATION_CATEGORY_SYSTEM, "message", "Portal message")]
OUTREACH_CATEGORY = [_concept(COMMUNICATION_CATEGORY_SYSTEM, "outreach",
                              "Care team outreach")]
OUTREACH_MEDIUM = {"call": ("VORAL", "voice"), "email": ("EMAILWRIT", "email"),
                   "message": ("WRITTEN", "written")}


def message_resource(row: dict[str, Any], *, first_id: int, previous_id: int | None,
                     clinic_name: str, author_name: str, author_is_patient: bool
                     ) -> dict[str, Any]:
    """A message: part of its conversation (``partOf`` its first message) and in response to
    the message before it. The patient's own or a caregiver's from the patient's side."""
    patient_id = row["thread__patient_id"]
    patient = ref("Patient", patient_id)
    clinic = {"display": clinic_name}
    if row["from_clinic"]:
        sender, recipient = {"display": author_name}, patient
    else:
        sender = patient if author_is_patient else {"display": author_name}
        recipient = clinic
    topic = row["thread__topic"]
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": f"message-{row['id']}",
        "identifier": [{"system": PORTAL + "identifier/message-thread",
                        "value": str(row["thread_id"])}],
        "status": "completed",
        "category": MESSAGE_CATEGORY,
        "subject": patient,
        "topic": _concept(MESSAGE_TOPIC_SYSTEM, topic, TOPIC_DISPLAY.get(topic, topic)),
        "sent": instant(row["created_at"]),
        "sender": sender,
        "recipient": [recipient],
        "payload": [{"contentString": row["body"]}],
    }
    if row["thread__private"]:
        resource["meta"] = RESTRICTED
    if row["id"] != first_id:
        resource["partOf"] = [ref("Communication", f"message-{first_id}")]
    if previous_id is not None:
        resource["inResponseTo"] = [ref("Communication", f"message-{previous_id}")]
    if row["photo_id"] is not None:
        resource["payload"].append({"contentString": "(A photo from the patient's diary was "
                                                     "attached.)"})
    if row["plan_item_name"]:
        resource["about"] = [{"display": row["plan_item_name"]}]
    return resource


def outreach_resource(row: dict[str, Any], *, by_name: str) -> dict[str, Any]:
    """A staff member's attempt to reach the patient about a flag (a call, an email, a portal
    message). ``note`` is the clinic's note; the payload is what the patient was told."""
    patient = ref("Patient", row["patient_id"])
    medium_code, medium_display = OUTREACH_MEDIUM.get(row["channel"], ("WRITTEN", "written"))
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": f"outreach-{row['id']}",
        "status": "completed",
        "category": OUTREACH_CATEGORY,
        "medium": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                          "v3-ParticipationMode",
                                "code": medium_code, "display": medium_display}]}],
        "subject": patient,
        "about": [ref("Flag", row["flag_id"])],
        "sent": instant(row["at"]),
        "sender": {"display": by_name},
        "recipient": [patient],
        "statusReason": {"coding": [{"system": OUTREACH_SYSTEM, "code": row["outcome"]}],
                         "text": row["outcome"].replace("_", " ")},
    }
    if row["message_to_patient"]:
        resource["payload"] = [{"contentString": row["message_to_patient"]}]
    if row["note"]:
        resource["note"] = [{"text": row["note"]}]
    return resource


# --- Audit ----------------------------------------------------------------------------------

AUDIT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
# action: (type, subtype, FHIR action)
AUDIT_ACTIONS = {
    "view": ({"system": AUDIT_TYPE_SYSTEM, "code": "rest", "display": "RESTful Operation"},
             {"system": RESTFUL, "code": "read", "display": "read"}, "R"),
    "create": ({"system": AUDIT_TYPE_SYSTEM, "code": "rest", "display": "RESTful Operation"},
               {"system": RESTFUL, "code": "create", "display": "create"}, "C"),
    "change": ({"system": AUDIT_TYPE_SYSTEM, "code": "rest", "display": "RESTful Operation"},
               {"system": RESTFUL, "code": "update", "display": "update"}, "U"),
    "delete": ({"system": AUDIT_TYPE_SYSTEM, "code": "rest", "display": "RESTful Operation"},
               {"system": RESTFUL, "code": "delete", "display": "delete"}, "D"),
    "login": ({"system": DICOM, "code": "110114", "display": "User Authentication"},
              {"system": DICOM, "code": "110122", "display": "Login"}, "E"),
    "login_failed": ({"system": DICOM, "code": "110114", "display": "User Authentication"},
                     {"system": DICOM, "code": "110122", "display": "Login"}, "E"),
    "logout": ({"system": DICOM, "code": "110114", "display": "User Authentication"},
               {"system": DICOM, "code": "110123", "display": "Logout"}, "E"),
}
SEARCH_SUBTYPE = {"system": RESTFUL, "code": "search-type", "display": "search-type"}
# Reads of a list of a patient's things (a search, in FHIR's words) rather than one thing.
LIST_OBJECT_TYPES = frozenset({"photos", "plan_history", "audit_log"})
PATIENT_ROLE = {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1",
                "display": "Patient"}
PERSON_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
               "code": "1", "display": "Person"}
OBJECT_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
               "code": "2", "display": "System Object"}
DOMAIN_RESOURCE_ROLE = {"system": "http://terminology.hl7.org/CodeSystem/object-role",
                        "code": "4", "display": "Domain Resource"}
SERVER_SOURCE = [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                  "code": "4", "display": "Application Server"}]


def audit_event_resource(row: dict[str, Any], *, actor_name: str | None) -> dict[str, Any]:
    """An audit event about a patient, in the IHE Basic Audit Log Patterns' shape for reads
    (type rest, subtype read or search-type, action R, outcome 0 or 4 when refused, the
    person as requestor, the portal as observer, the patient as entity with role Patient)."""
    event_type, subtype, action = AUDIT_ACTIONS.get(
        row["action"], ({"system": AUDIT_TYPE_SYSTEM, "code": "rest"},
                        {"system": RESTFUL, "code": "read"}, "E"))
    if row["action"] == "view" and row["object_type"] in LIST_OBJECT_TYPES:
        subtype = SEARCH_SUBTYPE
    entities: list[dict[str, Any]] = [{"what": ref("Patient", row["patient_id"]),
                                       "type": PERSON_TYPE, "role": PATIENT_ROLE}]
    what = row["object_type"] + (f" {row['object_id']}" if row["object_id"] else "")
    entities.append({"what": {"display": what}, "type": OBJECT_TYPE,
                     "role": DOMAIN_RESOURCE_ROLE,
                     "description": row["object_type"]})
    return {
        "resourceType": "AuditEvent",
        "id": str(row["id"]),
        "type": event_type,
        "subtype": [subtype],
        "action": action,
        "recorded": instant(row["at"]),
        "outcome": "0" if row["allowed"] else "4",
        "agent": [{"who": {"display": actor_name or "Unknown"}, "requestor": True}],
        "source": {"observer": PORTAL_OBSERVER, "type": SERVER_SOURCE},
        "entity": entities,
    }
