"""Reads of the record as FHIR resources, always within a queryset of patients the caller may
see (``interop/auth.py`` builds it from the token: a clinic's patients or one patient).

How it stays fast for a bulk export (10,000 patients, ~600,000 check-ins): ``resources_of``
walks the patients in chunks of ``CHUNK_PATIENTS`` ids and, per chunk, runs a fixed number of
``.values()`` queries for the type (at most 3: e.g. check-ins, their step logs, their pulses),
then maps the rows with plain dicts (``interop/mapping.py``). Memory is one chunk's rows.

``since`` (Bulk Data ``_since``) is honoured by the row's own timestamp: CarePlan (a plan
whose newest revision was saved since: all its revisions, their statuses may have changed),
Goal (profile ``updated_at``), Medication (``updated_at``), QuestionnaireResponse and
Observation (check-in ``updated_at``), Flag and DetectedIssue (``updated_at``), Communication
(a message's ``created_at``, an outreach's ``at``), AuditEvent (``at``). Patient, CareTeam
and Questionnaire have no such timestamp and are always included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet

from accounts.models import AuditEvent, CaregiverLink, Clinic, Patient, name_to_display
from careplans.models import PatientProfile, PlanItem, PlanRevision
from catalogue.models import CatalogueItem
from checkins.models import AlliancePulse, CheckIn, StepLog
from flags.models import Flag, Outreach
from interop import mapping, questionnaires
from messaging.models import Message

# Every type the API serves and an export may contain, in export order.
RESOURCE_TYPES: tuple[str, ...] = (
    "Patient", "CarePlan", "Goal", "CareTeam", "Medication", "Questionnaire",
    "QuestionnaireResponse", "Observation", "Flag", "DetectedIssue", "Communication",
    "AuditEvent",
)
# Types about no one patient: the clinic's (an export writes them once).
SHARED_TYPES = frozenset({"Medication", "Questionnaire"})
CHUNK_PATIENTS = 250

Scope = list[int] | QuerySet[Any]


class SearchError(ValueError):
    """A search the API does not support (unknown parameter or bad value): 400 with an
    OperationOutcome saying which."""


# --- Producers: one per type, a fixed number of queries for any number of patients ----------


def _patients(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
              ) -> Iterator[dict[str, Any]]:
    rows = (Patient.objects.filter(where, pk__in=scope).order_by("pk")
            .values("id", "date_of_birth", "is_active", first_name=F("user__first_name"),
                    last_name=F("user__last_name"), email=F("user__email"),
                    language=F("user__language"), clinic_name=F("clinic__name")))
    for row in rows:
        yield mapping.patient_resource(row)


def _medication_ids(clinic: Clinic) -> dict[str, int]:
    return {name.lower(): pk for pk, name in CatalogueItem.objects.filter(
        clinic=clinic, kind__in=mapping.MEDICINE_KINDS).values_list("pk", "name")}


ITEM_FIELDS = ("revision_id", "key", "position", "kind", "name", "instructions", "time_of_day",
               "frequency", "weekdays", "every_n_days", "ramp_every_n_days", "ramp_days",
               "starts_on", "every_n_weeks", "day_of_month", "window_days", "ends_on")


def _careplans(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
               ) -> Iterator[dict[str, Any]]:
    """Every revision of the plans in scope (``where`` narrows the plans, by their patient):
    a revision's status and ``replaces`` need its neighbours."""
    revisions = list(
        PlanRevision.objects.filter(where, plan__patient_id__in=scope)
        .order_by("plan__patient_id", "number")
        .values("id", "plan_id", "number", "created_at", "effective_from", "reviews_on",
                "reason", "author__first_name", "author__last_name", "author__email",
                patient_id=F("plan__patient_id"),
                what_matters=F("plan__patient__profile__what_matters")))
    if not revisions:
        return
    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in (PlanItem.objects.filter(revision__plan__patient_id__in=scope)
                 .order_by("revision_id", "position", "id").values(*ITEM_FIELDS)):
        items[item["revision_id"]].append(item)
    medication_ids = _medication_ids(clinic)
    by_plan: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for revision in revisions:
        by_plan[revision["plan_id"]].append(revision)
    for plan_revisions in by_plan.values():
        if since is not None and max(r["created_at"] for r in plan_revisions) < since:
            continue
        for index, revision in enumerate(plan_revisions):
            following = plan_revisions[index + 1] if index + 1 < len(plan_revisions) else None
            yield mapping.careplan_resource(
                revision, items[revision["id"]], patient_id=revision["patient_id"],
                previous_id=plan_revisions[index - 1]["id"] if index else None,
                next_effective_from=following["effective_from"] if following else None,
                has_goal=bool(revision["what_matters"]), medication_ids=medication_ids)


def _goals(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
           ) -> Iterator[dict[str, Any]]:
    profiles = (PatientProfile.objects.filter(where, patient_id__in=scope)
                .exclude(what_matters="").order_by("patient_id")
                .values("patient_id", "what_matters", "updated_at",
                        plan_starts_on=F("patient__care_plan__starts_on")))
    if since is not None:
        profiles = profiles.filter(updated_at__gte=since)
    for row in profiles:
        start = row["plan_starts_on"] or row["updated_at"].date()
        yield mapping.goal_resource(patient_id=row["patient_id"],
                                    what_matters=row["what_matters"], start=start, due=None)


def _careteams(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
               ) -> Iterator[dict[str, Any]]:
    patients = list(Patient.objects.filter(where, pk__in=scope).order_by("pk").values(
        "id", "is_active", "dermatologist__first_name", "dermatologist__last_name",
        "dermatologist__email"))
    caregivers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for link in (CaregiverLink.objects.filter(patient_id__in=[p["id"] for p in patients])
                 .order_by("patient_id", "created_at", "id")
                 .values("patient_id", "called", "relationship", "created_at", "ended_at",
                         "caregiver__first_name", "caregiver__last_name", "caregiver__email")):
        name = link["called"] or name_to_display(
            link["caregiver__first_name"], link["caregiver__last_name"], link["caregiver__email"])
        caregivers[link["patient_id"]].append({
            "name": name, "relationship": link["relationship"], "since": link["created_at"],
            "until": link["ended_at"]})
    for row in patients:
        yield mapping.careteam_resource(
            patient_id=row["id"], active=row["is_active"],
            dermatologist_name=name_to_display(row["dermatologist__first_name"],
                                               row["dermatologist__last_name"],
                                               row["dermatologist__email"]),
            caregivers=caregivers[row["id"]])


def _medications(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
                 ) -> Iterator[dict[str, Any]]:
    rows = (CatalogueItem.objects.filter(where, clinic=clinic, kind__in=mapping.MEDICINE_KINDS)
            .order_by("pk").values("id", "name", "kind", "active"))
    if since is not None:
        rows = rows.filter(updated_at__gte=since)
    for row in rows:
        yield mapping.medication_resource(row)


def _questionnaires(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
                    ) -> Iterator[dict[str, Any]]:
    yield from questionnaires.questionnaires()


CHECKIN_FIELDS = ("id", "patient_id", "revision_id", "local_date", "steps_due", "steps_done",
                  "satisfaction", "itch", "side_effect", "side_effect_text", "note",
                  "partnership_question", "partnership", "updated_at", "submitted_by_id")


def _checkins(scope: Scope, since: datetime | None, where: Q) -> QuerySet[CheckIn]:
    checkins = CheckIn.objects.filter(where, patient_id__in=scope)
    return checkins.filter(updated_at__gte=since) if since is not None else checkins


def _item_names(scope: Scope, checkins: QuerySet[CheckIn], item_ids: set[int]
                ) -> dict[int, tuple[str, str]]:
    """Each logged plan item's key and name, read once (not a UUID parsed per step log): the
    items of the patients' plans (a chunk's) or of the check-ins' revisions (a read's), then
    any logged item outside them."""
    items = (PlanItem.objects.filter(revision__plan__patient_id__in=scope)
             if isinstance(scope, list) else
             PlanItem.objects.filter(revision_id__in=checkins.values("revision_id")))
    names = {pk: (str(key), name) for pk, key, name in items.values_list("pk", "key", "name")}
    missing = item_ids - names.keys()
    if missing:
        names.update((pk, (str(key), name)) for pk, key, name in PlanItem.objects.filter(
            pk__in=missing).values_list("pk", "key", "name"))
    return names


def _questionnaire_responses(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
                             ) -> Iterator[dict[str, Any]]:
    checkins = _checkins(scope, since, where)
    rows = list(checkins.order_by("patient_id", "local_date").values(
        *CHECKIN_FIELDS, side_effect_step=F("side_effect_item__name"),
        patient_user_id=F("patient__user_id"), submitter_first_name=F("submitted_by__first_name"),
        submitter_last_name=F("submitted_by__last_name"), submitter_email=F("submitted_by__email")))
    if not rows:
        return
    # Each plan item's key and name once (not a UUID parsed per step log).
    step_logs = list(StepLog.objects.filter(checkin__in=checkins.values("pk"))
                     .order_by("checkin_id", "id")
                     .values_list("checkin_id", "item_id", "slot", "done", "skip_reason",
                                  "taken_on", "counted"))
    item_names = _item_names(scope, checkins, {log[1] for log in step_logs})
    steps: dict[int, list[dict[str, Any]]] = defaultdict(list)
    step_group = mapping.step_group
    for checkin_id, item_id, slot, done, skip_reason, taken_on, counted in step_logs:
        key, name = item_names[item_id]
        steps[checkin_id].append(step_group(key, name, slot, done, skip_reason, taken_on,
                                            counted))
    pulses = {row["checkin_id"]: row for row in AlliancePulse.objects.filter(
        checkin__in=checkins.values("pk")).values(
        "id", "checkin_id", "patient_id", "local_date", *questionnaires.PULSE_LINK_IDS, "total")}
    for row in rows:
        submitter = row["submitted_by_id"]
        author = None if submitter in (None, row["patient_user_id"]) else {
            "display": name_to_display(row["submitter_first_name"], row["submitter_last_name"],
                                       row["submitter_email"])}
        yield mapping.checkin_response(row, steps.get(row["id"], ()), author=author,
                                       side_effect_step=row["side_effect_step"])
        pulse = pulses.get(row["id"])
        if pulse is not None:
            yield mapping.pulse_response(pulse, authored=row["updated_at"])


def _observations(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
                  ) -> Iterator[dict[str, Any]]:
    rows = (_checkins(scope, since, where)
            .filter(Q(itch__isnull=False) | Q(satisfaction__isnull=False))
            .order_by("patient_id", "local_date")
            .values_list("id", "patient_id", "local_date", "updated_at", "itch", "satisfaction"))
    observation = mapping.checkin_observation
    for checkin_id, patient_id, local_date, updated_at, itch, satisfaction in rows:
        row = {"id": checkin_id, "patient_id": patient_id, "local_date": local_date,
               "issued": mapping.instant(updated_at), "itch": itch, "satisfaction": satisfaction}
        if itch is not None:
            yield observation(row, "itch")
        if satisfaction is not None:
            yield observation(row, "satisfaction")


def _flag_rows(scope: Scope, since: datetime | None, where: Q) -> QuerySet[Any]:
    rows = (Flag.objects.filter(where, patient_id__in=scope).order_by("patient_id", "id")
            .values("id", "patient_id", "rule", "severity", "state", "evidence", "evidence_at",
                    "opened_at", "resolved_at", clinic_name=F("clinic__name")))
    return rows.filter(updated_at__gte=since) if since is not None else rows


def _flags(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
           ) -> Iterator[dict[str, Any]]:
    for row in _flag_rows(scope, since, where):
        yield mapping.flag_resource(row)


def _detected_issues(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
                     ) -> Iterator[dict[str, Any]]:
    for row in _flag_rows(scope, since, where):
        yield mapping.detected_issue_resource(row)


def _communications(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
                    ) -> Iterator[dict[str, Any]]:
    """Messages (whole conversations are read so each knows its first and previous message;
    ``where`` narrows the conversations), then outreach."""
    threads_filter = Q(thread__patient_id__in=scope)
    if since is not None:
        threads_filter &= Q(thread__last_message_at__gte=since)
    messages = (Message.objects.filter(threads_filter, where)
                .order_by("thread_id", "created_at", "id")
                .values("id", "thread_id", "from_clinic", "body", "created_at", "photo_id",
                        "plan_item_name", "author_id", "author__first_name",
                        "author__last_name", "author__email", "thread__patient_id",
                        "thread__topic", "thread__private",
                        patient_user_id=F("thread__patient__user_id"),
                        clinic_name=F("thread__clinic__name")))
    first_id = previous_id = thread_id = None
    for row in messages:
        if row["thread_id"] != thread_id:
            thread_id, first_id, previous_id = row["thread_id"], row["id"], None
        if since is None or row["created_at"] >= since:
            yield mapping.message_resource(
                row, first_id=first_id, previous_id=previous_id, clinic_name=row["clinic_name"],
                author_name=name_to_display(row["author__first_name"], row["author__last_name"],
                                            row["author__email"]),
                author_is_patient=row["author_id"] == row["patient_user_id"])
        previous_id = row["id"]
    outreach = (Outreach.objects.filter(patient_id__in=scope).order_by("patient_id", "at", "id")
                .values("id", "patient_id", "flag_id", "at", "channel", "outcome", "note",
                        "message_to_patient", "by__first_name", "by__last_name", "by__email"))
    if since is not None:
        outreach = outreach.filter(at__gte=since)
    if where:  # a read or search of messages only
        return
    for row in outreach:
        yield mapping.outreach_resource(row, by_name=name_to_display(
            row["by__first_name"], row["by__last_name"], row["by__email"]))


def _outreach_only(clinic: Clinic, scope: Scope, where: Q) -> Iterator[dict[str, Any]]:
    for row in (Outreach.objects.filter(where, patient_id__in=scope)
                .values("id", "patient_id", "flag_id", "at", "channel", "outcome", "note",
                        "message_to_patient", "by__first_name", "by__last_name", "by__email")):
        yield mapping.outreach_resource(row, by_name=name_to_display(
            row["by__first_name"], row["by__last_name"], row["by__email"]))


def _audit_events(clinic: Clinic, scope: Scope, since: datetime | None, where: Q
                  ) -> Iterator[dict[str, Any]]:
    rows = (AuditEvent.objects.filter(where, patient_id__in=scope)
            .order_by("patient_id", "at", "id")
            .values("id", "patient_id", "action", "object_type", "object_id", "allowed", "at",
                    "actor_id", "actor__first_name", "actor__last_name", "actor__email"))
    if since is not None:
        rows = rows.filter(at__gte=since)
    for row in rows.iterator(chunk_size=5000):
        actor = (name_to_display(row["actor__first_name"], row["actor__last_name"],
                                 row["actor__email"]) if row["actor_id"] else None)
        yield mapping.audit_event_resource(row, actor_name=actor)


Producer = Callable[[Clinic, Scope, "datetime | None", Q], Iterator[dict[str, Any]]]
PRODUCERS: dict[str, Producer] = {
    "Patient": _patients, "CarePlan": _careplans, "Goal": _goals, "CareTeam": _careteams,
    "Medication": _medications, "Questionnaire": _questionnaires,
    "QuestionnaireResponse": _questionnaire_responses, "Observation": _observations,
    "Flag": _flags, "DetectedIssue": _detected_issues, "Communication": _communications,
    "AuditEvent": _audit_events,
}


def _patient_chunks(patients: QuerySet[Patient]) -> Iterator[list[int]]:
    unordered = patients if patients.query.is_sliced else patients.order_by()
    ids = sorted(set(unordered.values_list("pk", flat=True)))
    for start in range(0, len(ids), CHUNK_PATIENTS):
        yield ids[start:start + CHUNK_PATIENTS]


def resources_of(*, resource_type: str, clinic: Clinic, patients: QuerySet[Patient],
                 since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every resource of ``resource_type`` about ``patients`` (and the clinic's shared ones:
    its Questionnaires and Medications), streamed in chunks with a bounded number of queries."""
    producer = PRODUCERS.get(resource_type)
    if producer is None:
        raise ValueError(f"Unknown resource type: {resource_type}")
    if resource_type in SHARED_TYPES:
        yield from producer(clinic, [], since, Q())
        return
    for chunk in _patient_chunks(patients):
        yield from producer(clinic, chunk, since, Q())


# --- Reads ----------------------------------------------------------------------------------


def _number(text: str, prefix: str = "") -> int | None:
    """The row id in ``text`` ("12", or "checkin-12" with ``prefix`` "checkin-")."""
    if not text.startswith(prefix):
        return None
    digits = text[len(prefix):]
    return int(digits) if digits.isdigit() and len(digits) <= 18 else None


def _owner(model: Any, pk: int, patient_path: str, patients: QuerySet[Patient]) -> int | None:
    """The patient a row belongs to, when it is within ``patients``."""
    return (model.objects.filter(pk=pk, **{f"{patient_path}__in": patients.values("pk")})
            .values_list(patient_path, flat=True).first())


def _find(resources: Iterable[dict[str, Any]], resource_id: str) -> dict[str, Any] | None:
    return next((r for r in resources if r["id"] == resource_id), None)


def resource_read(*, resource_type: str, resource_id: str, clinic: Clinic,
                  patients: QuerySet[Patient]) -> dict[str, Any] | None:
    """One resource by its FHIR id, or None when it does not exist within ``patients``."""
    scope = patients.values("pk")
    if resource_type in ("Patient", "CareTeam") and (pk := _number(resource_id)):
        return _find(PRODUCERS[resource_type](clinic, scope, None, Q(pk=pk)), resource_id)
    if resource_type == "Goal" and (pk := _number(resource_id)):
        return _find(_goals(clinic, scope, None, Q(patient_id=pk)), resource_id)
    if resource_type in SHARED_TYPES:
        return _find(PRODUCERS[resource_type](clinic, [], None, Q()), resource_id)
    if resource_type == "CarePlan" and (pk := _number(resource_id)):
        owner = _owner(PlanRevision, pk, "plan__patient_id", patients)
        return _find(_careplans(clinic, [owner], None, Q()), resource_id) if owner else None
    if resource_type == "QuestionnaireResponse":
        if pk := _number(resource_id, "checkin-"):
            return _find(_questionnaire_responses(clinic, scope, None, Q(pk=pk)), resource_id)
        if pk := _number(resource_id, "pulse-"):
            return _find(_questionnaire_responses(clinic, scope, None, Q(pulse__pk=pk)),
                         resource_id)
    if resource_type == "Observation" and resource_id.startswith("checkin-"):
        pk = _number(resource_id.rsplit("-", 1)[0], "checkin-")
        return _find(_observations(clinic, scope, None, Q(pk=pk)), resource_id) if pk else None
    if resource_type == "Flag" and (pk := _number(resource_id)):
        return _find(_flags(clinic, scope, None, Q(pk=pk)), resource_id)
    if resource_type == "DetectedIssue" and (pk := _number(resource_id, "flag-")):
        return _find(_detected_issues(clinic, scope, None, Q(pk=pk)), resource_id)
    if resource_type == "Communication":
        if pk := _number(resource_id, "message-"):
            thread = (Message.objects.filter(pk=pk, thread__patient__in=scope)
                      .values_list("thread_id", flat=True).first())
            return _find(_communications(clinic, scope, None, Q(thread_id=thread)),
                         resource_id) if thread else None
        if pk := _number(resource_id, "outreach-"):
            return _find(_outreach_only(clinic, scope, Q(pk=pk)), resource_id)
    if resource_type == "AuditEvent" and (pk := _number(resource_id)):
        return _find(_audit_events(clinic, scope, None, Q(pk=pk)), resource_id)
    return None


# --- Searches -------------------------------------------------------------------------------

SEARCH_PARAMETERS: dict[str, frozenset[str]] = {
    "Patient": frozenset({"_id"}),
    "CarePlan": frozenset({"patient", "status"}),
    "Goal": frozenset({"patient"}),
    "CareTeam": frozenset({"patient"}),
    "Medication": frozenset({"_id"}),
    "Questionnaire": frozenset({"_id", "url"}),
    "QuestionnaireResponse": frozenset({"patient", "authored"}),
    "Observation": frozenset({"patient", "code"}),
    "Flag": frozenset({"patient", "status"}),
    "DetectedIssue": frozenset({"patient"}),
    "Communication": frozenset({"patient"}),
    "AuditEvent": frozenset({"entity", "patient"}),
}
# Result parameters that do not change what matches.
IGNORED_PARAMETERS = frozenset({"_format", "_pretty"})
CAREPLAN_STATUSES = frozenset({"draft", "active", "on-hold", "revoked", "completed",
                               "entered-in-error", "unknown"})
DATE_PREFIXES = ("eq", "ge", "gt", "le", "lt")


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    """Every value of a (repeatable) parameter: a QueryDict's list, a list, or one string."""
    if hasattr(params, "getlist"):
        return [str(v) for v in params.getlist(name)]
    value = params[name]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _one(params: Mapping[str, Any], name: str) -> str:
    values = _values(params, name)
    if len(values) != 1:
        raise SearchError(f"Give {name} once.")
    return values[0]


def _patient_id(value: str, name: str = "patient") -> int:
    """A patient reference: "12" or "Patient/12"."""
    pk = _number(value.removeprefix("Patient/"))
    if pk is None:
        raise SearchError(f"{name} must be a Patient id or reference (e.g. Patient/12), "
                          f"not {value[:40]!r}.")
    return pk


def _date_range(value: str, name: str) -> Q:
    """One date search value (``ge2026-01-01``, ``lt2026-02-01T10:00:00Z``) as a condition
    on ``updated_at``: the value covers the whole of its precision (a day, a month, a year)."""
    prefix, text = ("eq", value)
    if value[:2] in DATE_PREFIXES:
        prefix, text = value[:2], value[2:]
    elif value[:2].isalpha():
        raise SearchError(f"{name}: prefix {value[:2]!r} is not supported (eq, ge, gt, le, lt).")
    try:
        start, end = _date_bounds(text)
    except ValueError:
        raise SearchError(f"{name}: {text[:40]!r} is not a FHIR date or dateTime.") from None
    field = "updated_at"
    return {
        "eq": Q(**{f"{field}__gte": start, f"{field}__lt": end}),
        "ge": Q(**{f"{field}__gte": start}),
        "gt": Q(**{f"{field}__gte": end}),
        "le": Q(**{f"{field}__lt": end}),
        "lt": Q(**{f"{field}__lt": start}),
    }[prefix]


def _date_bounds(text: str) -> tuple[datetime, datetime]:
    """[start, end) of a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD, UTC) or dateTime (to the
    second: a one-second range)."""
    if "T" in text:
        start = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if start.tzinfo is None:
            raise ValueError("A dateTime needs its offset.")
        return start, start + timedelta(seconds=1)
    parts = text.split("-")
    if len(parts) == 1 and len(text) == 4 and text.isdigit():
        first, last = date(int(text), 1, 1), date(int(text) + 1, 1, 1)
    elif len(parts) == 2 and len(parts[0]) == 4 and len(parts[1]) == 2:
        first = date(int(parts[0]), int(parts[1]), 1)
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    else:
        first = date.fromisoformat(text)
        last = first + timedelta(days=1)
    return (datetime.combine(first, time.min, tzinfo=UTC),
            datetime.combine(last, time.min, tzinfo=UTC))


def _observation_code(value: str) -> Q:
    system, _, code = value.rpartition("|")
    if system and system != mapping.OBSERVATION_SYSTEM:
        return Q(pk__in=[])
    if code == "itch":
        return Q(itch__isnull=False)
    if code == "satisfaction":
        return Q(satisfaction__isnull=False)
    return Q(pk__in=[])


def _observation_code_matches(resource: dict[str, Any], value: str) -> bool:
    system, _, code = value.rpartition("|")
    coding = resource["code"]["coding"][0]
    return coding["code"] == code and system in ("", coding["system"])


def resource_search(*, resource_type: str, clinic: Clinic, patients: QuerySet[Patient],
                    params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The resources matching a search, within ``patients``. Raises ``SearchError``."""
    supported = SEARCH_PARAMETERS.get(resource_type)
    if supported is None:
        raise SearchError(f"Searching {resource_type} is not supported.")
    unknown = set(params) - supported - IGNORED_PARAMETERS
    if unknown:
        raise SearchError(f"Unknown search parameter for {resource_type}: {sorted(unknown)[0]} "
                          f"(supported: {', '.join(sorted(supported))}).")
    scope = patients
    if "patient" in params:
        scope = scope.filter(pk=_patient_id(_one(params, "patient")))
    if "entity" in params:
        scope = scope.filter(pk=_patient_id(_one(params, "entity"), "entity"))
    if resource_type in SHARED_TYPES:
        found = list(resources_of(resource_type=resource_type, clinic=clinic, patients=scope))
        if "_id" in params:
            found = [r for r in found if r["id"] == _one(params, "_id")]
        if "url" in params:
            found = [r for r in found if r.get("url") == _one(params, "url")]
        return found
    where = Q()
    keep: Callable[[dict[str, Any]], bool] = lambda resource: True  # noqa: E731
    if resource_type == "Patient" and "_id" in params:
        pk = _number(_one(params, "_id"))
        where &= Q(pk=pk) if pk is not None else Q(pk__in=[])
    if resource_type == "CarePlan" and "status" in params:
        statuses = set(_one(params, "status").split(","))
        if not statuses <= CAREPLAN_STATUSES:
            raise SearchError(f"status must be one of {', '.join(sorted(CAREPLAN_STATUSES))}.")
        keep = lambda resource: resource["status"] in statuses  # noqa: E731
    if resource_type == "Flag" and "status" in params:
        status = _one(params, "status")
        if status not in ("active", "inactive"):
            raise SearchError("status must be active or inactive.")
        where &= Q(state="resolved") if status == "inactive" else ~Q(state="resolved")
    if resource_type == "QuestionnaireResponse" and "authored" in params:
        for value in _values(params, "authored"):
            where &= _date_range(value, "authored")
    if resource_type == "Observation" and "code" in params:
        codes = Q(pk__in=[])
        wanted = _one(params, "code").split(",")
        for value in wanted:
            codes |= _observation_code(value)
        where &= codes
        keep = lambda resource: any(  # noqa: E731
            _observation_code_matches(resource, value) for value in wanted)
    producer = PRODUCERS[resource_type]
    found = []
    for chunk in _patient_chunks(scope):
        found.extend(r for r in producer(clinic, chunk, None, where) if keep(r))
    return found


# --- What a patient sees ------------------------------------------------------------------

# The clinic's early warnings and their evidence are its working notes: a patient never sees a
# flag in the portal (only the staff's message, if one was sent), so neither their download nor
# an app they allowed gets one.
CLINIC_ONLY_TYPES = frozenset({"Flag", "DetectedIssue"})
# An outreach's elements that are the clinic's own: its note ("for the clinic only") and the
# flag it was about.
OUTREACH_CLINIC_ELEMENTS = frozenset({"note", "about"})


def patient_facing(resource: dict[str, Any]) -> dict[str, Any] | None:
    """``resource`` as a patient (or an app they allowed) may see it; None for a clinic-only
    type. Returns a new top-level dict (resources share nested parts: never edit in place)."""
    if resource["resourceType"] in CLINIC_ONLY_TYPES:
        return None
    if resource["resourceType"] == "Communication" and resource["id"].startswith("outreach-"):
        return {k: v for k, v in resource.items() if k not in OUTREACH_CLINIC_ELEMENTS}
    return resource


# --- A patient's whole record ---------------------------------------------------------------


def _full_url(resource: dict[str, Any]) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/fhir/R4/{resource['resourceType']}/{resource['id']}"


def patient_bundle(*, patient: Patient) -> dict[str, Any]:
    """The whole record of one patient as they may see it (``patient_facing``) as a FHIR Bundle
    (type ``collection``), with the Questionnaires and Medications its resources reference (no
    other shared resource)."""
    scope = Patient.objects.filter(pk=patient.pk)
    resources: list[dict[str, Any]] = []
    for resource_type in RESOURCE_TYPES:
        if resource_type not in SHARED_TYPES | CLINIC_ONLY_TYPES:
            resources.extend(filter(None, map(patient_facing, resources_of(
                resource_type=resource_type, clinic=patient.clinic, patients=scope))))
    canonicals = {r["questionnaire"] for r in resources
                  if r["resourceType"] == "QuestionnaireResponse"}
    medication_ids = {
        activity["detail"]["productReference"]["reference"].removeprefix("Medication/")
        for r in resources if r["resourceType"] == "CarePlan"
        for activity in r.get("activity", ()) if "productReference" in activity["detail"]}
    shared = [q for q in questionnaires.questionnaires()
              if f"{q['url']}|{q['version']}" in canonicals]
    shared += [m for m in _medications(patient.clinic, [], None, Q())
               if m["id"] in medication_ids]
    entries = [{"fullUrl": _full_url(r), "resource": r} for r in [*resources, *shared]]
    # No ``timestamp``: a selector reads no clock (the caller may add when it assembled it).
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
