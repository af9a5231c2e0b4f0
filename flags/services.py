"""Writes of the flags app: applying rule findings (the sweep and the check-in trigger) and
the review lifecycle (acknowledge, assign, outreach, escalate, resolve).

Each function changes state, writes the FlagEvent history row and the audit row together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Max

from accounts.models import AuditEvent, ClinicMembership, Patient, User
from accounts.services import audit_record
from checkins.models import AttentionRequest, SideEffect
from messaging.models import Message, Thread
from messaging.models import Status as ThreadStatus
from messaging.services import message_post, thread_start_from_clinic

from . import wording
from .findings import REPORTED_IN_MESSAGE, Finding, evidence
from .models import Flag, FlagEvent, Outreach, Resolution, Rule, Severity, State


class FlagStateError(ValueError):
    """A transition that the flag's state does not allow (e.g. resolving it twice)."""


@dataclass(frozen=True)
class ApplyResult:
    opened: int = 0
    updated: int = 0


@transaction.atomic
def flags_apply(
    *, findings: Iterable[Finding], patient_ids: Iterable[int], now: datetime
) -> ApplyResult:
    """Turn findings about ``patient_ids`` into flags, set-based and idempotent.

    - no open flag for (patient, rule): open one, unless a resolved one exists whose
      resolution is not older than the newest data behind the finding;
    - an open flag whose material evidence changed (``material``: severity, numbers,
      check-ins): update it and keep the change as a FlagEvent;
    - anything else (the same finding the next night, a second sweep, a retried task): nothing.
    The open flags of these patients are locked first, so two sweeps at once serialise here;
    the partial unique constraint backs this up. ``now`` dates the new flags and events.
    """
    findings = list(findings)
    if not findings:
        return ApplyResult()
    patient_ids = list(patient_ids)
    open_flags = _open_flags(patient_ids)
    last_resolved = _last_resolved(patient_ids)
    to_open: dict[tuple[int, str], Finding] = {}
    to_update: list[tuple[int, Finding]] = []
    for finding in findings:
        key = (finding.patient_id, finding.rule)
        if key in open_flags:
            pk, held = open_flags[key]
            if held != material(finding.severity, finding.evidence):
                to_update.append((pk, finding))
        elif key not in last_resolved or finding.evidence_at > last_resolved[key]:
            to_open[key] = finding
    opened = _open(to_open, now)
    _update(to_update, now)
    return ApplyResult(opened=opened, updated=len(to_update))


Material = tuple[int, Any, Any, Any]


def material(severity: int, evidence: dict[str, Any]) -> Material:
    """What makes a change of evidence worth a new FlagEvent: the severity, the title, and the
    newest check-in behind it. The windows move every night (the usual days and the run are
    re-read as the days go by, so their numbers shift a little), so the numbers are left out:
    a finding that still holds on no newer data does not write history every night."""
    ids = evidence.get("checkin_ids") or []
    # A severe side effect may also come from the patient's messages (``message_ids``).
    messages = evidence.get("message_ids") or []
    return (severity, evidence.get("title"), max(ids, default=None),
            max(messages, default=None))


def _open_flags(patient_ids: list[int]) -> dict[tuple[int, str], tuple[int, Material]]:
    """(patient, rule) -> (flag id, its material evidence) of the open flags, locked. Only
    the compared parts of the evidence are read: no model instances, less JSON to decode."""
    rows = (Flag.objects.select_for_update().filter(patient_id__in=patient_ids).open()
            .values_list("pk", "patient_id", "rule", "severity", "evidence__title",
                         "evidence__checkin_ids", "evidence__message_ids"))
    return {(patient, rule): (pk, material(severity, {"title": title, "checkin_ids": ids,
                                                      "message_ids": messages}))
            for pk, patient, rule, severity, title, ids, messages in rows}


def _last_resolved(patient_ids: list[int]) -> dict[tuple[int, str], datetime]:
    rows = (Flag.objects.filter(patient_id__in=patient_ids, state=State.RESOLVED)
            .values("patient_id", "rule").annotate(last=Max("resolved_at"))
            .values_list("patient_id", "rule", "last"))
    return {(patient, rule): last for patient, rule, last in rows}


def _open(to_open: dict[tuple[int, str], Finding], now: datetime) -> int:
    """Insert the new flags and their *opened* events; how many flags this call made.

    A concurrent sweep may open the same flag first: the partial unique index makes the insert
    wait for it and then skip the row, and only the flags this call made get an event."""
    if not to_open:
        return 0
    if connection.vendor == "postgresql":
        return _open_postgresql(list(to_open.values()), now)
    clinic_of = _clinics_of({patient for patient, _ in to_open})
    Flag.objects.bulk_create([
        Flag(patient_id=f.patient_id, clinic_id=clinic_of[f.patient_id], rule=f.rule,
             severity=f.severity, evidence=f.evidence, evidence_at=f.evidence_at,
             opened_at=now, updated_at=now)
        for f in to_open.values()
    ], ignore_conflicts=True)
    # ``opened_at=now`` finds exactly the rows this call made.
    made = Flag.objects.filter(patient_id__in={patient for patient, _ in to_open},
                               opened_at=now).values_list("pk", "patient_id", "rule")
    events = [FlagEvent(flag_id=pk, at=now, kind=FlagEvent.Kind.OPENED,
                        severity=to_open[(patient, rule)].severity,
                        evidence=to_open[(patient, rule)].evidence)
              for pk, patient, rule in made if (patient, rule) in to_open]
    FlagEvent.objects.bulk_create(events)
    return len(events)


def _open_postgresql(findings: list[Finding], now: datetime) -> int:
    """``_open`` in one statement: the findings travel as one JSON parameter, the flags are
    inserted from it (``ON CONFLICT DO NOTHING``, as ``bulk_create(ignore_conflicts=True)``),
    and ``RETURNING`` hands exactly the rows made to the insert of their events, which copies
    the evidence inside the database. No model instances, the evidence serialised once."""
    flag_columns = ["patient_id", "clinic_id", "rule", "severity", "evidence", "evidence_at",
                    "opened_at", "updated_at"]
    event_columns = ["flag_id", "at", "kind", "severity", "evidence"]
    flag_rest, flag_defaults = _defaults(Flag, flag_columns)
    event_rest, event_defaults = _defaults(FlagEvent, event_columns)
    sql = f"""
        WITH made AS (
            INSERT INTO {Flag._meta.db_table} ({", ".join(flag_columns + flag_rest)})
            SELECT f.patient_id, p.clinic_id, f.rule, f.severity, f.evidence, f.evidence_at,
                   %s, %s{", %s" * len(flag_rest)}
            FROM jsonb_to_recordset(%s::jsonb) AS f(patient_id bigint, rule text,
                 severity smallint, evidence jsonb, evidence_at timestamptz)
            JOIN {Patient._meta.db_table} p ON p.id = f.patient_id
            ON CONFLICT DO NOTHING
            RETURNING id, severity, evidence)
        INSERT INTO {FlagEvent._meta.db_table} ({", ".join(event_columns + event_rest)})
        SELECT id, %s, %s, severity, evidence{", %s" * len(event_rest)} FROM made
    """  # noqa: S608 - table and column names from the models; values are parameters
    found = json.dumps([{"patient_id": f.patient_id, "rule": f.rule, "severity": f.severity,
                         "evidence": f.evidence, "evidence_at": f.evidence_at.isoformat()}
                        for f in findings])
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now, *flag_defaults, found, now, FlagEvent.Kind.OPENED,
                             *event_defaults])
        return cursor.rowcount


def _defaults(model: type[models.Model], given: list[str]) -> tuple[list[str], list[Any]]:
    """The model's other columns (not ``given``, not the primary key) and their defaults as
    the database takes them, so the raw insert fills every column as ``bulk_create`` would."""
    fields = [f for f in model._meta.concrete_fields
              if f.column not in given and not f.primary_key]
    return ([f.column for f in fields],
            [f.get_db_prep_save(f.get_default(), connection) for f in fields])


def _update(to_update: list[tuple[int, Finding]], now: datetime) -> None:
    """Write the new evidence of these open flags (only the changed fields) and keep each
    change as an *evidence* event."""
    Flag.objects.bulk_update(
        [Flag(pk=pk, evidence=f.evidence, severity=f.severity, evidence_at=f.evidence_at,
              updated_at=now) for pk, f in to_update],
        ["evidence", "severity", "evidence_at", "updated_at"])
    FlagEvent.objects.bulk_create(
        [FlagEvent(flag_id=pk, at=now, kind=FlagEvent.Kind.EVIDENCE, severity=f.severity,
                   evidence=f.evidence) for pk, f in to_update])


def _clinics_of(patient_ids: set[int]) -> dict[int, int]:
    return dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "clinic_id"))


def severe_side_effect_finding(request: AttentionRequest) -> Finding:
    """The finding of one severe side effect, from the check-in or the patient's message
    that asked for attention: the same rule and severity either way."""
    if request.checkin_id is None:
        return _severe_side_effect_in_message(request)
    checkin = request.checkin
    item = checkin.side_effect_item
    numbers = {"side_effect": checkin.side_effect,
               "item": item.name if item is not None else None}
    return Finding(
        patient_id=checkin.patient_id, rule=Rule.SEVERE_SIDE_EFFECT, severity=Severity.HIGH,
        evidence=evidence(
            rule=Rule.SEVERE_SIDE_EFFECT, title="Severe side effect reported",
            summary=wording.english_summary(Rule.SEVERE_SIDE_EFFECT, numbers,
                                            as_of=checkin.local_date),
            as_of=checkin.local_date, windows=[], checkin_ids=[checkin.pk], numbers=numbers,
        ),
        evidence_at=checkin.updated_at,
    )


def _severe_side_effect_in_message(request: AttentionRequest) -> Finding:
    """A patient wrote to the care team about a side effect they call severe: the evidence
    names the message and its thread (``message_ids``, ``thread_ids``), never its text."""
    message = (Message.objects.select_related("thread", "thread__patient")
               .get(pk=request.message_id, thread__patient_id=request.patient_id))
    patient = message.thread.patient
    as_of = patient.local_date(message.created_at)
    numbers = {"side_effect": message.thread.severity or SideEffect.SEVERE,
               "item": message.plan_item_name or None, "reported_in": REPORTED_IN_MESSAGE}
    return Finding(
        patient_id=patient.pk, rule=Rule.SEVERE_SIDE_EFFECT, severity=Severity.HIGH,
        evidence={
            **evidence(
                rule=Rule.SEVERE_SIDE_EFFECT, title="Severe side effect reported",
                summary=wording.english_summary(Rule.SEVERE_SIDE_EFFECT, numbers, as_of=as_of),
                as_of=as_of, windows=[], checkin_ids=[], numbers=numbers,
            ),
            "message_ids": [message.pk], "thread_ids": [message.thread_id],
        },
        evidence_at=message.created_at,
    )


def _sources(evidence: dict[str, Any]) -> dict[str, list[int]]:
    """The check-ins, messages and threads behind a severe side effect's evidence."""
    return {key: [pk for pk in evidence.get(key) or [] if isinstance(pk, int)]
            for key in ("checkin_ids", "message_ids", "thread_ids")}


def flag_raise_severe_side_effect(*, request: AttentionRequest, now: datetime) -> None:
    """Raised at once when such a check-in or message is saved (via checkins' attention
    request). A second severe report while the first is open adds to the same flag: its
    evidence tells of the latest report and keeps every check-in and message behind it."""
    finding = severe_side_effect_finding(request)
    open_flag = Flag.objects.filter(patient_id=finding.patient_id, rule=finding.rule).open()
    open_flag = open_flag.first()
    if open_flag is not None:
        held, new = _sources(open_flag.evidence), _sources(finding.evidence)
        if all(set(new[key]) <= set(held[key]) for key in new):
            return  # this report is already behind the flag (a redelivered request)
        merged = {key: sorted({*held[key], *new[key]}) for key in new}
        finding = Finding(
            patient_id=finding.patient_id, rule=finding.rule, severity=finding.severity,
            evidence={**finding.evidence, **{key: ids for key, ids in merged.items() if ids}},
            evidence_at=max(finding.evidence_at, open_flag.evidence_at),
        )
    flags_apply(findings=[finding], patient_ids=[finding.patient_id], now=now)


# --- The review lifecycle -----------------------------------------------------------------

def _event(flag: Flag, actor: User, kind: str, now: datetime, note: str = "") -> FlagEvent:
    audit_record(actor=actor, patient=flag.patient, action=AuditEvent.Action.CHANGE,
                 object_type=f"flag:{kind}", object_id=str(flag.pk))
    return FlagEvent.objects.create(flag=flag, actor=actor, kind=kind, note=note, at=now)


def _require_open(flag: Flag) -> None:
    if not flag.is_open:
        raise FlagStateError("This flag is already resolved.")


@transaction.atomic
def flag_acknowledge(
    *, flag: Flag, actor: User, now: datetime, assignee: User | None = None
) -> Flag:
    """new → acknowledged, assigned to ``assignee`` (default: the person acknowledging)."""
    _require_open(flag)
    assignee = assignee or actor
    if not ClinicMembership.objects.filter(user=assignee, clinic_id=flag.clinic_id).exists():
        raise FlagStateError("Assign the flag to someone at this clinic.")
    changed = ["assigned_to", "updated_at"]
    if flag.state == State.NEW:
        flag.state = State.ACKNOWLEDGED
        changed.append("state")
    flag.assigned_to, flag.updated_at = assignee, now
    flag.save(update_fields=changed)
    kind = FlagEvent.Kind.ACKNOWLEDGED if "state" in changed else FlagEvent.Kind.ASSIGNED
    _event(flag, actor, kind, now, note=f"Assigned to {assignee.display_name}")
    return flag


@transaction.atomic
def outreach_log(
    *, flag: Flag, actor: User, channel: str, outcome: str, now: datetime, note: str = "",
    message_to_patient: str = "",
) -> Outreach:
    _require_open(flag)
    if flag.state == State.NEW:
        flag_acknowledge(flag=flag, actor=actor, now=now)
    outreach = Outreach.objects.create(
        flag=flag, patient_id=flag.patient_id, by=actor, channel=channel, outcome=outcome,
        note=note, message_to_patient=message_to_patient, at=now,
    )
    _event(flag, actor, FlagEvent.Kind.OUTREACH, now,
           note=f"{outreach.get_channel_display()}: {outreach.get_outcome_display()}")
    if message_to_patient.strip():
        outreach_message_send(flag=flag, by=actor, body=message_to_patient, now=now)
    return outreach


@transaction.atomic
def outreach_message_send(*, flag: Flag, by: User, body: str, now: datetime) -> Thread:
    """The message of an outreach reaches the patient as a conversation they can answer: the
    first message of a new one, or the next in the one this flag started while it is open.
    (The Outreach row stays the flag's record of it.)"""
    thread = (Thread.objects.filter(patient_id=flag.patient_id, flag_id_started=flag.pk)
              .exclude(status=ThreadStatus.CLOSED).order_by("-created_at", "-id").first())
    if thread is None:
        return thread_start_from_clinic(patient=flag.patient, by=by, body=body, now=now,
                                        flag_id=flag.pk)
    message_post(thread=thread, by=by, from_clinic=True, body=body, now=now)
    return thread


@transaction.atomic
def flag_escalate(*, flag: Flag, actor: User, note: str, now: datetime) -> Flag:
    """Route the flag to the patient's dermatologist (shown on their "My patients")."""
    _require_open(flag)
    if flag.escalated_at is not None:
        raise FlagStateError("This flag is already with the dermatologist.")
    flag.escalated_at = flag.updated_at = now
    flag.save(update_fields=["escalated_at", "updated_at"])
    _event(flag, actor, FlagEvent.Kind.ESCALATED, now, note=note)
    return flag


@transaction.atomic
def flag_resolve(
    *, flag: Flag, actor: User, resolution: str, now: datetime, note: str = ""
) -> Flag:
    _require_open(flag)
    if resolution not in Resolution.values:
        raise FlagStateError("Choose a resolution.")
    if resolution == Resolution.OTHER and not note.strip():
        raise FlagStateError("Say what happened when the resolution is “Other”.")
    flag.state, flag.resolution, flag.resolution_note = State.RESOLVED, resolution, note
    flag.resolved_at = flag.updated_at = now
    flag.resolved_by = actor
    flag.save(update_fields=["state", "resolution", "resolution_note", "resolved_at",
                             "resolved_by", "updated_at"])
    _event(flag, actor, FlagEvent.Kind.RESOLVED, now,
           note=f"{flag.get_resolution_display()}. {note}".strip())
    return flag
