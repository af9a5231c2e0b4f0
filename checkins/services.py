"""Writes for check-ins. One check-in per patient per local date; the database is the record of
what must still happen, so a broker outage never loses a check-in or the work it asks for."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _

from accounts.models import Patient, User
from careplans.models import ClinicVisit
from careplans.schedule import AS_NEEDED, DueStep
from core.services import safe_enqueue

from .models import (
    PARTNERSHIP_QUESTIONS,
    AlliancePulse,
    AttentionRequest,
    CheckIn,
    SideEffect,
    StepLog,
    SubmissionKey,
)
from .selectors import day_schedule, match_answers, step_key
from .signals import attention_requested

logger = logging.getLogger(__name__)

BACKFILL_DAYS = 3
PULSE_FIELDS = ("heard", "shared_goals", "fits_life", "safe_to_raise")


@dataclass(frozen=True)
class StepAnswer:
    """One step's answer. A windowed dose before its window's last day and an as-needed step
    may be answered not done ("not yet", "not used"): nothing is logged for it. ``taken_on``:
    the day a windowed dose was done (default the check-in's day)."""

    item_id: int
    slot: str
    done: bool
    skip_reason: str = ""
    taken_on: date | None = None


@dataclass(frozen=True)
class _Logged:
    done: bool
    skip_reason: str
    counted: bool
    taken_on: date | None


@dataclass(frozen=True)
class Wellbeing:
    """The optional rest of a full check-in. ``None`` keeps what a same-day check-in had."""

    satisfaction: int | None = None
    itch: int | None = None
    side_effect: str = SideEffect.NONE
    side_effect_item_id: int | None = None
    side_effect_text: str = ""
    note: str = ""


def allowed_dates(*, today: date) -> list[date]:
    """``today`` (the patient's own calendar date) and up to three days back."""
    return [today - timedelta(days=n) for n in range(BACKFILL_DAYS + 1)]


def check_date(local_date: date, *, today: date) -> None:
    """Refuse a day outside the back-fill window ending on the patient's ``today``."""
    if local_date > today:
        raise ValidationError(_("You can't check in for a day that hasn't happened yet."))
    if local_date not in allowed_dates(today=today):
        raise ValidationError(_("Check-ins can be added for today and the 3 days before only."))


def pulse_due(patient: Patient, local_date: date) -> bool:
    """Whether the check-in of ``local_date`` asks the full alliance pulse (the one definition):

    - every N days (clinic setting): due when no pulse was answered in the N days up to that
      day; a skipped pulse is asked again next time;
    - and after a recorded visit (``careplans.ClinicVisit``) later than the last pulse answered
      before that day (a pulse answered on the visit's own day counts as after it), as soon as
      no other alliance answer (a partnership answer or a pulse) lies within 6 days either side:
      at most one alliance answer in any 7 days (``partnership_question_due``'s rule too).

    The day's own check-in is left out throughout, so saving it again asks the same.
    """
    interval = patient.clinic.pulse_interval_days
    last = (
        AlliancePulse.objects.filter(patient=patient, local_date__lte=local_date)
        .exclude(checkin__local_date=local_date).order_by("-local_date")
        .values_list("local_date", flat=True).first()
    )
    if last is None or last <= local_date - timedelta(days=interval):
        return True
    if not ClinicVisit.objects.filter(
        patient=patient, happened_on__gt=last, happened_on__lte=local_date
    ).exists():
        return False
    gap = timedelta(days=ALLIANCE_GAP_DAYS - 1)
    return not CheckIn.objects.filter(
        Q(partnership__isnull=False) | Q(pulse__isnull=False),
        patient=patient, local_date__range=(local_date - gap, local_date + gap),
    ).exclude(local_date=local_date).exists()


# At most one alliance answer (the week's partnership question or the full pulse) in any 7 days.
ALLIANCE_GAP_DAYS = 7


def partnership_question_due(
    patient: Patient, local_date: date, *, pulse_is_due: bool | None = None
) -> str:
    """The key (in ``PARTNERSHIP_QUESTIONS``) of the partnership question the check-in of
    ``local_date`` asks, or ``""`` when it asks none. The rule, in one place:

    - a check-in that already asked one (saved earlier that day, answered or skipped) keeps it;
    - none on a day the full pulse is due (``pulse_due``; pass ``pulse_is_due`` if known);
    - none when a partnership answer or a full pulse lies within 6 days either side (before,
      or after for a back-filled day): at most one alliance answer in any 7 days;
    - otherwise the question after the last one answered before that day, in
      ``PARTNERSHIP_QUESTIONS`` order (the first when none was). A skipped question (asked, no
      answer) does not count: the next check-in asks it again.
    """
    asked = (
        CheckIn.objects.filter(patient=patient, local_date=local_date)
        .exclude(partnership_question="").values_list("partnership_question", flat=True).first()
    )
    if asked:
        return asked
    if pulse_is_due is None:
        pulse_is_due = pulse_due(patient, local_date)
    if pulse_is_due:
        return ""
    gap = timedelta(days=ALLIANCE_GAP_DAYS - 1)
    if CheckIn.objects.filter(
        Q(partnership__isnull=False) | Q(pulse__isnull=False),
        patient=patient, local_date__range=(local_date - gap, local_date + gap),
    ).exists():
        return ""
    last = (
        CheckIn.objects.filter(patient=patient, local_date__lt=local_date,
                               partnership__isnull=False)
        .order_by("-local_date").values_list("partnership_question", flat=True).first()
    )
    return next_partnership_question(last)


def next_partnership_question(last: str | None) -> str:
    """The question after ``last`` in ``PARTNERSHIP_QUESTIONS`` order, round and round."""
    keys = list(PARTNERSHIP_QUESTIONS)
    if last not in keys:
        return keys[0]
    return keys[(keys.index(last) + 1) % len(keys)]


BAD_SUBMISSION_KEY = (
    "This check-in could not be read (its key is not valid). Please check in again."
)


def submission_key_parse(raw: str | None) -> UUID | None:
    """The ``idempotency_key`` a phone sends with a check-in (``crypto.randomUUID``); ``None``
    when there is none (a form posted without JavaScript). Anything else is refused."""
    if not raw:
        return None
    try:
        return UUID(raw)
    except (ValueError, TypeError, AttributeError):
        raise ValidationError(BAD_SUBMISSION_KEY) from None


@transaction.atomic
def checkin_submit(
    *,
    patient: Patient,
    local_date: date,
    answers: list[StepAnswer] | None,
    now: datetime,
    wellbeing: Wellbeing | None = None,
    pulse: dict[str, int] | None = None,
    partnership: int | None = None,
    submission_key: UUID | None = None,
    submitted_by: User | None = None,
) -> CheckIn:
    """Create or replace the patient's check-in for ``local_date``.

    ``submitted_by`` is who saved it (the patient, or a caregiver acting for them); None
    leaves it as the patient's own.

    ``answers`` must cover the steps due that day (from the revision in effect) and nothing
    but the steps offered: a windowed dose before its last day and an as-needed step may be
    left out or answered not done, and are then not logged (``careplans/schedule.py``).
    ``None`` means "I did everything": every step due that day done (a windowed dose in its
    window too, done that day; no as-needed use).
    The day's ``steps_due``/``steps_done`` count the counted logs: the adherence definition
    (``checkins/adherence.py``).
    ``wellbeing=None`` (the one-tap "I did everything") keeps any wellbeing already recorded.
    A revision saved since the last save gave the steps new items: saved answers follow the
    item's key, only answers that differ are rewritten, and answers for steps the revision took
    out of the day stay with the check-in (and in its counts) as what happened that day.
    ``now`` is the instant of the submission: it dates the save and, in the patient's zone,
    says which days are open.
    ``partnership`` answers the day's partnership question (0-10, ``None``: skipped), stored
    with the question ``partnership_question_due`` asks that day; a full check-in on a day
    that asks one records the question even when skipped. The one-tap check-in
    (``wellbeing=None``) keeps whatever the day had.
    ``submission_key`` names the submission (a phone's offline queue sends one): a key this
    patient already sent returns the check-in it saved, writing nothing, so a replay neither
    saves twice nor overwrites a later change. Two replays racing past the look-up both write
    the same answers into the day's one row (the upsert below), and the key is stored once.
    """
    if submission_key is not None:
        applied = CheckIn.objects.filter(
            pk__in=SubmissionKey.objects.filter(patient=patient, key=submission_key)
            .values("checkin_id")).first()
        if applied is not None:
            return applied
    check_date(local_date, today=patient.local_date(now))
    day = day_schedule(patient, local_date)
    revision_id = day.revision_id
    if revision_id is None or not day.offered:
        raise ValidationError(_("There are no steps to check in for on that day."))
    offered = {(step.item.pk, step.slot): step for step in day.offered}
    required = {key for key, step in offered.items()
                if not step.optional and step.slot != AS_NEEDED}
    if answers is None:  # "I did everything": every step due that day (none as needed)
        answers = [StepAnswer(item_id, slot, True) for (item_id, slot), step in offered.items()
                   if step.slot != AS_NEEDED]
    given = {(a.item_id, a.slot): a for a in answers}
    if not required <= set(given) or not set(given) <= set(offered):
        raise ValidationError(_("Answer each step due that day, and only those."))
    logged = {key: _logged(offered[key], answer, local_date) for key, answer in given.items()
              if key in required or answer.done}
    checkin = CheckIn(
        patient=patient, local_date=local_date, revision_id=revision_id,
        steps_due=sum(1 for log in logged.values() if log.counted),
        steps_done=sum(1 for log in logged.values() if log.counted and log.done),
        created_at=now, updated_at=now, submitted_by=submitted_by,
    )
    fields = ["revision", "steps_due", "steps_done", "updated_at", "submitted_by"]
    if wellbeing is not None:
        _apply_wellbeing(checkin, wellbeing)
        fields += ["satisfaction", "itch", "side_effect", "side_effect_item",
                   "side_effect_text", "note"]
        fields += _apply_partnership(checkin, partnership)
    elif partnership is not None:
        raise ValidationError(_("Answer the partnership question with the rest of the check-in."))
    # One statement: insert, or update the day's row and lock it until commit, so racing
    # submissions for the same day are serialised (the unique constraint is the arbiter).
    (checkin,) = CheckIn.objects.bulk_create(
        [checkin], update_conflicts=True, unique_fields=["patient", "local_date"],
        update_fields=fields,
    )
    no_longer_due = _write_step_logs(checkin, logged, offered)
    if wellbeing is not None:
        _check_side_effect_item(wellbeing, offered, no_longer_due)
    if no_longer_due:
        _count_answers_no_longer_due(checkin, no_longer_due)
    if pulse is not None:
        _save_pulse(checkin, pulse)
    if wellbeing is not None and checkin.side_effect == SideEffect.SEVERE:
        _request_attention(checkin, AttentionRequest.Kind.SEVERE_SIDE_EFFECT, now)
    if submission_key is not None:
        SubmissionKey.objects.bulk_create(
            [SubmissionKey(patient=patient, key=submission_key, checkin=checkin, created_at=now)],
            ignore_conflicts=True,
        )
    return checkin


def _apply_wellbeing(checkin: CheckIn, wellbeing: Wellbeing) -> None:
    checkin.satisfaction = wellbeing.satisfaction
    checkin.itch = wellbeing.itch
    checkin.side_effect = wellbeing.side_effect
    checkin.side_effect_item_id = (
        wellbeing.side_effect_item_id if wellbeing.side_effect != SideEffect.NONE else None
    )
    checkin.side_effect_text = (
        wellbeing.side_effect_text.strip() if wellbeing.side_effect != SideEffect.NONE else ""
    )
    checkin.note = wellbeing.note.strip()


def _apply_partnership(checkin: CheckIn, partnership: int | None) -> list[str]:
    """Set the day's question (and answer) on the unsaved row; the fields to write. Decided
    before the write, so the rule sees the day as the patient saw it."""
    question = partnership_question_due(checkin.patient, checkin.local_date)
    if not question:
        if partnership is not None:
            raise ValidationError(_("There is no partnership question to answer on that day."))
        return []
    if partnership is not None and not 0 <= partnership <= 10:
        raise ValidationError(_("Choose a number from 0 to 10 for the partnership question."))
    checkin.partnership_question, checkin.partnership = question, partnership
    return ["partnership_question", "partnership"]


def _check_side_effect_item(wellbeing: Wellbeing, offered: dict, no_longer_due: list) -> None:
    """A step of that day: one offered now, or one answered before a revision took it out.
    Checked after the write (the answers are read under the row lock); raising rolls it back."""
    steps = {step.item.pk for step in offered.values()} | {log.item_id for log in no_longer_due}
    if wellbeing.side_effect_item_id and wellbeing.side_effect_item_id not in steps:
        raise ValidationError(_("Choose a step from that day's routine for the side effect."))


def _logged(step: DueStep, answer: StepAnswer, local_date: date) -> _Logged:
    """What is logged for an answer: an as-needed use is not counted; a windowed dose done
    keeps the day it was done (from its due date to the check-in's day)."""
    if step.slot == AS_NEEDED:
        return _Logged(True, "", counted=False, taken_on=local_date)
    if not answer.done:
        return _Logged(False, answer.skip_reason, counted=True, taken_on=None)
    if not step.windowed:
        return _Logged(True, "", counted=True, taken_on=None)
    taken_on = answer.taken_on or local_date
    if not step.scheduled_on <= taken_on <= local_date:
        raise ValidationError(
            _("The day you did %(name)s must be from %(first)s to %(last)s.") % {
                "name": step.item.name,
                "first": formats.date_format(step.scheduled_on, _("l j F")),
                "last": formats.date_format(local_date, _("l j F"))})
    return _Logged(True, "", counted=True, taken_on=taken_on)


def _write_step_logs(checkin: CheckIn, logged: dict, offered: dict) -> list:
    """Write the answers that differ from those saved (matched by item key and slot), delete
    the saved ones of steps now left unlogged ("not yet", "not used"); return the saved
    answers of steps no longer offered that day, which stay."""
    # order_by(): StepLog's Meta.ordering would join check-in, patient and user just to sort.
    logs = StepLog.objects.filter(checkin_id=checkin.pk).order_by()
    saved, no_longer_due = match_answers(
        logs.values_list("id", "item_id", "item_key", "slot", "done", "skip_reason", "counted",
                         "taken_on", named=True),
        offered.values(),
    )
    changed = []
    for key, answer in logged.items():
        log = saved.get(step_key(offered[key]))
        if log is None or (log.done, log.skip_reason, log.counted, log.taken_on) != (
                answer.done, answer.skip_reason, answer.counted, answer.taken_on):
            changed.append((key, answer, log))
    kept = {step_key(offered[key]) for key in logged}
    unlogged = [log.id for key, log in saved.items() if key not in kept]
    if replaced := [log.id for *_, log in changed if log is not None] + unlogged:
        StepLog.objects.filter(pk__in=replaced).delete()
    if changed:
        StepLog.objects.bulk_create(
            StepLog(checkin=checkin, item_id=key[0], item_key=offered[key].item.key,
                    slot=key[1], done=answer.done, skip_reason=answer.skip_reason,
                    counted=answer.counted, taken_on=answer.taken_on)
            for key, answer, _ in changed
        )
    return no_longer_due


def _count_answers_no_longer_due(checkin: CheckIn, no_longer_due: list) -> None:
    """The day's counts include the steps answered before a revision took them out (an
    as-needed use is never counted)."""
    checkin.steps_due += sum(1 for log in no_longer_due if log.counted)
    checkin.steps_done += sum(1 for log in no_longer_due if log.done and log.counted)
    CheckIn.objects.filter(pk=checkin.pk).update(
        steps_due=checkin.steps_due, steps_done=checkin.steps_done
    )


def _save_pulse(checkin: CheckIn, pulse: dict[str, int]) -> None:
    values = {field: pulse[field] for field in PULSE_FIELDS}
    AlliancePulse.objects.update_or_create(
        checkin=checkin,
        defaults={**values, "patient": checkin.patient, "local_date": checkin.local_date,
                  "total": sum(values.values())},
    )


def _request_attention(checkin: CheckIn, kind: str, now: datetime) -> None:
    attention_request(patient=checkin.patient, kind=kind, now=now, checkin=checkin)


def attention_request(*, patient: Patient, kind: str, now: datetime,
                      checkin: CheckIn | None = None, message_id: int | None = None) -> None:
    """Ask for a human's attention (once per check-in or message and kind), in the caller's
    transaction; the dispatch task runs after commit, and the sweep catches up if it never
    does. A check-in or a patient's message (``messaging``) asks the same way."""
    source = {"checkin": checkin} if checkin is not None else {"message_id": message_id}
    request, created = AttentionRequest.objects.get_or_create(
        kind=kind, **source, defaults={"patient": patient, "created_at": now}
    )
    if created or request.processed_at is None:
        from .tasks import attention_dispatch

        transaction.on_commit(lambda: safe_enqueue(
            lambda: attention_dispatch.delay(request.pk), f"attention request {request.pk}"
        ))


def attention_dispatch_one(*, request_id: int, now: datetime) -> bool:
    """Offer one pending request to the receivers (with ``now``, the instant they act at);
    mark it processed once one takes it on. Idempotent: a processed request is not offered
    again."""
    with transaction.atomic():
        request = (
            AttentionRequest.objects.select_for_update()
            .filter(pk=request_id, processed_at__isnull=True).first()
        )
        if request is None:
            return False
        handled = any(result for _, result in attention_requested.send(
            sender=AttentionRequest, request=request, now=now
        ))
        if handled:
            request.processed_at = now
            request.save(update_fields=["processed_at"])
        return handled


def attention_pending_ids(
    *, now: datetime, older_than: timedelta = timedelta(minutes=1)
) -> list[int]:
    cutoff = now - older_than
    return list(
        AttentionRequest.objects.filter(processed_at__isnull=True, created_at__lte=cutoff)
        .values_list("pk", flat=True)[:1000]
    )
