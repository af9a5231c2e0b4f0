"""The flag lifecycle: one open flag per (patient, rule), updates keep history, reopen only on
newer data, every transition recorded and audited; severe side effects flag at once."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent
from checkins.models import AttentionRequest
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from checkins.tasks import attention_dispatch
from flags.findings import STEPS, Finding, evidence, window
from flags.models import Flag, FlagEvent, Outreach, Resolution, Rule, Severity, State
from flags.services import (
    FlagStateError,
    flag_acknowledge,
    flag_escalate,
    flag_resolve,
    flags_apply,
    outreach_log,
)
from tests.checkins.conftest import steps_of
from tests.factories import backdated_revision, item_draft

pytestmark = pytest.mark.django_db


# The newest data behind a finding: the evening before the ``now`` fixture's midday.
DATA_AT = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def finding_for(patient, *, recent=40.0, rule=Rule.ADHERENCE_DROP, at=DATA_AT, severity=2):
    return Finding(
        patient_id=patient.pk, rule=rule, severity=severity,
        evidence=evidence(rule=rule, title="Adherence fell", summary=f"Adherence {recent}%",
                          as_of=date(2026, 11, 24),
                          windows=[], numbers={"recent_percent": recent}, checkin_ids=[1, 2]),
        evidence_at=at,
    )


def test_a_finding_opens_one_flag_with_its_evidence_and_an_opened_event(patient_a, now):
    # given / when
    result = flags_apply(findings=[finding_for(patient_a)], patient_ids=[patient_a.pk], now=now)
    # then
    flag = Flag.objects.get()
    assert (result.opened, result.updated) == (1, 0)
    assert (flag.rule, flag.state, flag.clinic_id) == (Rule.ADHERENCE_DROP, State.NEW,
                                                       patient_a.clinic_id)
    assert flag.evidence["numbers"] == {"recent_percent": 40.0}
    assert list(flag.events.values_list("kind", flat=True)) == [FlagEvent.Kind.OPENED]


def test_the_same_finding_again_changes_nothing(patient_a, now):
    # given
    finding = finding_for(patient_a)
    flags_apply(findings=[finding], patient_ids=[patient_a.pk], now=now)
    # when
    result = flags_apply(findings=[finding], patient_ids=[patient_a.pk], now=now)
    # then
    assert (result.opened, result.updated) == (0, 0)
    assert Flag.objects.count() == 1
    assert FlagEvent.objects.count() == 1


def test_new_evidence_updates_the_open_flag_and_keeps_the_old_in_history(patient_a, now):
    # given
    flags_apply(findings=[finding_for(patient_a, recent=40.0)], patient_ids=[patient_a.pk],
                now=now)
    # when
    result = flags_apply(findings=[finding_for(patient_a, recent=30.0, severity=3)],
                         patient_ids=[patient_a.pk], now=now + timedelta(days=1))
    # then
    flag = Flag.objects.get()
    assert result.updated == 1
    assert (flag.evidence["numbers"]["recent_percent"], flag.severity) == (30.0, Severity.HIGH)
    history = [(e.kind, e.evidence["numbers"]["recent_percent"]) for e in flag.events.all()]
    assert history == [(FlagEvent.Kind.OPENED, 40.0), (FlagEvent.Kind.EVIDENCE, 30.0)]


def test_the_database_refuses_a_second_open_flag_for_the_same_rule(patient_a, now):
    # given
    flags_apply(findings=[finding_for(patient_a)], patient_ids=[patient_a.pk], now=now)
    flag = Flag.objects.get()
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Flag.objects.create(patient=patient_a, clinic=patient_a.clinic, rule=flag.rule,
                            severity=1, evidence={}, evidence_at=now)


def test_after_resolution_only_newer_data_opens_a_new_flag(patient_a, staff, now):
    # given: a flag on data an hour old, resolved at ``now``
    old_data = now - timedelta(hours=1)
    flags_apply(findings=[finding_for(patient_a, at=old_data)], patient_ids=[patient_a.pk],
                now=old_data)
    flag_resolve(flag=Flag.objects.get(), actor=staff, resolution=Resolution.SUPPORTED, now=now)
    next_night = now + timedelta(days=1)
    # when: the sweep finds the same (old) data again
    stale = flags_apply(findings=[finding_for(patient_a, at=old_data, recent=35.0)],
                        patient_ids=[patient_a.pk], now=next_night)
    # then
    assert stale.opened == 0
    # when: a check-in after the resolution keeps the rule firing
    fresh = flags_apply(findings=[finding_for(patient_a, at=now + timedelta(seconds=1))],
                        patient_ids=[patient_a.pk], now=next_night)
    # then
    assert fresh.opened == 1
    assert list(Flag.objects.order_by("id").values_list("state", flat=True)) == [
        State.RESOLVED, State.NEW]


def test_acknowledge_outreach_escalate_resolve_are_recorded_and_audited(patient_a, staff, now):
    # given
    flags_apply(findings=[finding_for(patient_a)], patient_ids=[patient_a.pk], now=now)
    flag = Flag.objects.get()
    # when
    minutes = [now + timedelta(minutes=n) for n in range(1, 5)]
    flag_acknowledge(flag=flag, actor=staff, now=minutes[0])
    outreach_log(flag=flag, actor=staff, channel=Outreach.Channel.CALL,
                 outcome=Outreach.Outcome.NO_ANSWER, note="Voicemail", now=minutes[1])
    flag_escalate(flag=flag, actor=staff, note="Please review the plan", now=minutes[2])
    flag_resolve(flag=flag, actor=staff, resolution=Resolution.PLAN_CHANGED, note="New plan",
                 now=minutes[3])
    # then: each step dated by the instant it was given
    flag.refresh_from_db()
    assert (flag.state, flag.assigned_to, flag.resolved_by) == (State.RESOLVED, staff, staff)
    assert (flag.opened_at, flag.escalated_at, flag.resolved_at, flag.updated_at) == (
        now, minutes[2], minutes[3], minutes[3])
    assert list(flag.events.values_list("at", flat=True)) == [now, *minutes]
    assert flag.outreach.get().at == minutes[1]
    assert flag.routed_to_dermatologist
    kinds = list(flag.events.values_list("kind", flat=True))
    assert kinds == ["opened", "acknowledged", "outreach", "escalated", "resolved"]
    assert all(e.actor == staff for e in flag.events.exclude(kind="opened"))
    audited = AuditEvent.objects.filter(actor=staff, patient=patient_a,
                                        object_id=str(flag.pk)).count()
    assert audited == 4


def test_a_resolved_flag_accepts_no_more_transitions(patient_a, staff, now):
    # given
    flags_apply(findings=[finding_for(patient_a)], patient_ids=[patient_a.pk], now=now)
    flag = flag_resolve(flag=Flag.objects.get(), actor=staff,
                        resolution=Resolution.NOT_A_CONCERN, now=now)
    # when / then
    for action in (lambda: flag_acknowledge(flag=flag, actor=staff, now=now),
                   lambda: flag_escalate(flag=flag, actor=staff, note="x", now=now),
                   lambda: flag_resolve(flag=flag, actor=staff, resolution="supported", now=now)):
        with pytest.raises(FlagStateError):
            action()
    assert flag.events.count() == 2


def test_other_needs_a_note(patient_a, staff, now):
    # given
    flags_apply(findings=[finding_for(patient_a)], patient_ids=[patient_a.pk], now=now)
    # when / then
    with pytest.raises(FlagStateError):
        flag_resolve(flag=Flag.objects.get(), actor=staff, resolution=Resolution.OTHER,
                     note=" ", now=now)
    assert Flag.objects.get().state == State.NEW


@pytest.fixture
def routine(patient_a, derm, now):
    """Cleanser morning and evening and a nightly retinoid, in effect for 30 days."""
    return backdated_revision(
        patient_a, author=derm, number=1,
        effective_from=patient_a.local_date(now) - timedelta(days=30),
        items=[item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both", position=1),
               item_draft(name="Adapalene 0.1% gel", position=2)],
    )


def _severe_checkin(patient, routine, local_date, now, text="Burning"):
    cleanser, retinoid = steps_of(routine)
    return checkin_submit(
        patient=patient, local_date=local_date,
        answers=[StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
                 StepAnswer(retinoid.pk, "evening", False, "side_effects")],
        wellbeing=Wellbeing(side_effect="severe", side_effect_item_id=retinoid.pk,
                            side_effect_text=text),
        now=now,
    )


def test_a_severe_side_effect_raises_a_high_flag_at_once(patient_a, routine,
                                                          django_capture_on_commit_callbacks, now):
    # given / when: the check-in is saved and its on-commit work runs (the task, eagerly)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        checkin = _severe_checkin(patient_a, routine, patient_a.local_date(now), now)
    request = AttentionRequest.objects.get()
    attention_dispatch(request.pk)
    # then
    flag = Flag.objects.get()
    assert len(callbacks) == 1
    assert (flag.rule, flag.severity) == (Rule.SEVERE_SIDE_EFFECT, Severity.HIGH)
    assert flag.evidence["checkin_ids"] == [checkin.pk]
    assert "Adapalene" in flag.evidence["summary"]
    request.refresh_from_db()
    assert request.processed_at is not None


def test_a_second_severe_report_while_open_adds_to_the_same_flag(patient_a, routine, now):
    # given
    today = patient_a.local_date(now)
    first = _severe_checkin(patient_a, routine, today - timedelta(days=1), now)
    second = _severe_checkin(patient_a, routine, today, now)
    # when
    for request in AttentionRequest.objects.order_by("id"):
        attention_dispatch(request.pk)
        attention_dispatch(request.pk)  # a duplicate delivery changes nothing
    # then
    flag = Flag.objects.get()
    assert flag.evidence["checkin_ids"] == sorted([first.pk, second.pk])
    assert list(flag.events.values_list("kind", flat=True)) == ["opened", "evidence"]


@pytest.mark.django_db(transaction=True)
def test_two_applies_at_once_open_one_flag(patient_a, now):
    # given: two sweeps that found the same thing at the same moment (each read its own clock)
    import threading

    from django.db import connection

    finding = finding_for(patient_a)
    barrier, errors = threading.Barrier(2), []

    def sweep_once(at):
        try:
            barrier.wait()
            flags_apply(findings=[finding], patient_ids=[patient_a.pk], now=at)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=sweep_once, args=[now + timedelta(microseconds=n)])
               for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    assert Flag.objects.count() == 1
    assert FlagEvent.objects.filter(kind=FlagEvent.Kind.OPENED).count() == 1


def test_a_flag_is_assigned_only_to_someone_at_its_clinic(patient_a, staff, other_staff, now):
    # given
    flags_apply(findings=[finding_for(patient_a)], patient_ids=[patient_a.pk], now=now)
    flag = Flag.objects.get()
    # when / then
    with pytest.raises(FlagStateError):
        flag_acknowledge(flag=flag, actor=staff, assignee=other_staff, now=now)
    flag.refresh_from_db()
    assert (flag.state, flag.assigned_to) == (State.NEW, None)


# --- Only material changes write history ----------------------------------------------------


def next_night(finding: Finding, **numbers: float) -> Finding:
    """The same finding a night later: ``as_of``, windows and summary moved (and ``numbers``
    overridden, if given)."""
    moved = {**finding.evidence, "as_of": "2026-11-25", "summary": "Adherence, a day later.",
             "windows": [window("last 7 days", date(2026, 11, 19), date(2026, 11, 25),
                                signal=STEPS)],
             "numbers": {**finding.evidence["numbers"], **numbers}}
    return Finding(patient_id=finding.patient_id, rule=finding.rule, severity=finding.severity,
                   evidence=moved, evidence_at=finding.evidence_at)


def test_the_next_night_on_the_same_numbers_and_checkins_writes_nothing(patient_a, now):
    # given: an open flag
    tonight = finding_for(patient_a)
    flags_apply(findings=[tonight], patient_ids=[patient_a.pk], now=now)
    # when: the finding still holds the next night, on the same numbers and check-ins
    result = flags_apply(findings=[next_night(tonight)], patient_ids=[patient_a.pk],
                         now=now + timedelta(days=1))
    # then: no update, no history; the flag keeps the evidence it was opened with
    flag = Flag.objects.get()
    assert (result.opened, result.updated) == (0, 0)
    assert flag.evidence == tonight.evidence
    assert list(flag.events.values_list("kind", flat=True)) == [FlagEvent.Kind.OPENED]


def test_the_next_night_with_only_moved_numbers_writes_nothing(patient_a, now):
    # given: the windows moved overnight, so a number shifted, but nothing newer was logged
    tonight = finding_for(patient_a, recent=40.0)
    flags_apply(findings=[tonight], patient_ids=[patient_a.pk], now=now)
    # when
    result = flags_apply(findings=[next_night(tonight, recent_percent=35.0)],
                         patient_ids=[patient_a.pk], now=now + timedelta(days=1))
    # then
    flag = Flag.objects.get()
    assert result.updated == 0
    assert flag.evidence["numbers"]["recent_percent"] == 40.0
    assert list(flag.events.values_list("kind", flat=True)) == [FlagEvent.Kind.OPENED]


def test_a_next_day_sweep_writes_an_event_only_when_the_evidence_changed(derm):
    # given: a partnership fall (weekly answers around 8, then 3), swept
    from flags import sweep
    from tests.flags.conftest import NOW, ago, answer, make_patient, pulse, steady

    patient = make_patient(derm)
    steady(patient, range(0, 60))
    for n, value in zip(range(58, 14, -7), [8, 9, 8, 8, 9, 8, 8], strict=True):
        answer(patient, ago(n), value)
    answer(patient, ago(3), 3)
    assert sweep.sweep(now=NOW).opened == 1
    # when: swept the next day, nothing new logged (as_of and windows moved)
    quiet_day = sweep.sweep(now=NOW + timedelta(days=1))
    # then: nothing updated, no event
    flag = Flag.objects.get(rule=Rule.ALLIANCE_DROP)
    assert (quiet_day.findings, quiet_day.updated) == (1, 0)
    assert flag.events.count() == 1
    # when: a newer full pulse (mean answer 3.75) changes the numbers
    pulse(patient, ago(0), 15)
    changed = sweep.sweep(now=NOW + timedelta(days=1))
    # then
    flag.refresh_from_db()
    assert changed.updated == 1
    assert flag.evidence["numbers"]["run_values"] == [3.0, 3.75]
    assert list(flag.events.values_list("kind", flat=True)) == [FlagEvent.Kind.OPENED,
                                                                FlagEvent.Kind.EVIDENCE]
