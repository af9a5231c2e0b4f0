"""Writes of the messaging app: threads started, messages posted, the clinic's actions on a
thread (assign, hand to the dermatologist, wait on the patient, close), read marks, templates.

Every function takes ``now`` from its caller. No message text reaches a log line or a task
argument: the notification task gets the message's id and says only that there is a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.caregiving import keeps_private_messages
from accounts.models import AuditEvent, ClinicMembership, Patient, Role, User
from accounts.services import audit_record
from checkins.models import AttentionRequest
from checkins.services import attention_request
from core.services import safe_enqueue
from photos.models import Photo

from .models import (
    BODY_MAX_LENGTH,
    PATIENT_TOPICS,
    Message,
    ReplyTemplate,
    Severity,
    Status,
    Thread,
    ThreadRead,
    Topic,
)

# A patient starts at most this many conversations in any 24 hours (they can always add to
# one they have): enough for real questions, not enough to flood a clinic's inbox.
NEW_THREADS_PER_DAY = 3


class MessageRefused(ValueError):
    """Nothing was saved; ``str(error)`` says why, in the reader's words."""


@dataclass(frozen=True)
class Attachment:
    """What a patient's message may point at: a photo of their diary, a step of their plan."""

    photo: Photo | None = None
    plan_item_key: UUID | None = None
    plan_item_name: str = ""


def _clean_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise MessageRefused(_("Write your message first."))
    if len(body) > BODY_MAX_LENGTH:
        raise MessageRefused(_("Keep a message to %(max)d characters (this one has %(n)d).")
                             % {"max": BODY_MAX_LENGTH, "n": len(body)})
    return body


def _check_attachment(patient: Patient, attachment: Attachment) -> None:
    photo = attachment.photo
    if photo is not None and (photo.patient_id != patient.pk or photo.deleted_at is not None):
        raise MessageRefused(_("That photo is not in your photo diary."))


@transaction.atomic
def thread_start(*, patient: Patient, by: User, topic: str, body: str, now: datetime,
                 severity: str = "", attachment: Attachment | None = None,
                 private: bool = False) -> Thread:
    """The patient starts a conversation with their care team.

    Refused (``MessageRefused``, nothing saved) for an empty or too long message, a topic not
    theirs to pick, a side effect without its severity, or the daily limit reached. A side
    effect the patient calls severe asks for attention as a severe check-in does. ``private``
    (only the patient themself may ask for it) hides the conversation from their caregivers."""
    body = _clean_body(body)
    if private:
        _check_may_be_private(patient, by, now=now)
    if topic not in PATIENT_TOPICS:
        raise MessageRefused(_("Choose what your message is about."))
    if topic == Topic.SIDE_EFFECT and severity not in Severity.values:
        raise MessageRefused(_("Say how bad the side effect is."))
    if topic != Topic.SIDE_EFFECT:
        severity = ""
    attachment = attachment or Attachment()
    _check_attachment(patient, attachment)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one count at a time
    started = Thread.objects.filter(patient=patient,
                                    created_at__gt=now - timedelta(hours=24)).count()
    if started >= NEW_THREADS_PER_DAY and by.pk != patient.user_id:
        # A caregiver is not told a count: it would include the patient's private ones.
        raise MessageRefused(_(
            "No more new conversations can be started for %(name)s today. Please add to one "
            "already open, or call the clinic if it cannot wait.")
            % {"name": patient.user.first_name or patient.user.display_name})
    if started >= NEW_THREADS_PER_DAY:
        raise MessageRefused(ngettext(
            "You have started %(n)d conversation in the last 24 hours, the most for a day. "
            "Please add to it, or call the clinic if it cannot wait.",
            "You have started %(n)d conversations in the last 24 hours, the most for a day. "
            "Please add to one of them, or call the clinic if it cannot wait.",
            started) % {"n": started})
    thread = Thread.objects.create(
        patient=patient, clinic_id=patient.clinic_id, topic=topic, severity=severity,
        status=Status.OPEN, created_by=by, created_at=now, last_message_at=now,
        waiting_since=now, private=private)
    message = _message_add(thread=thread, author=by, from_clinic=False, body=body, now=now,
                           attachment=attachment)
    _mark_read(thread, by, now)
    if severity == Severity.SEVERE:
        attention_request(patient=patient, kind=AttentionRequest.Kind.SEVERE_SIDE_EFFECT,
                          now=now, message_id=message.pk)
    return thread


def _check_may_be_private(patient: Patient, by: User, *, now: datetime) -> None:
    """Only the patient themself, a teenager or an adult, keeps a conversation private."""
    name = patient.user.first_name or patient.user.display_name
    if by.pk != patient.user_id:
        raise MessageRefused(_("Only %(name)s can make a conversation private.")
                             % {"name": name})
    if not keeps_private_messages(patient, today=patient.local_date(now)):
        raise MessageRefused(_("A child's caregivers see all of their conversations."))


@transaction.atomic
def thread_make_private(*, thread: Thread, by: User, now: datetime) -> Thread:
    """The patient themself makes one of their conversations private: from the next request
    on, no caregiver acting for them sees it. One way only: nobody makes it shared again."""
    thread = Thread.objects.select_for_update().select_related(
        "patient__user", "patient__clinic").get(pk=thread.pk)
    _check_may_be_private(thread.patient, by, now=now)
    if not thread.private:
        thread.private = True
        thread.save(update_fields=["private"])
        audit_record(actor=by, patient=thread.patient, action=AuditEvent.Action.CHANGE,
                     object_type="message_thread_private", object_id=str(thread.pk))
    return thread


@transaction.atomic
def thread_start_from_clinic(*, patient: Patient, by: User, body: str, now: datetime,
                             flag_id: int | None = None) -> Thread:
    """The clinic writes first (e.g. reaching out after a flag): the patient can answer it."""
    body = _clean_body(body)
    thread = Thread.objects.create(
        patient=patient, clinic_id=patient.clinic_id, topic=Topic.FROM_CLINIC,
        status=Status.WAITING_ON_PATIENT, assignee=by, created_by=by, created_at=now,
        last_message_at=now, flag_id_started=flag_id)
    _message_add(thread=thread, author=by, from_clinic=True, body=body, now=now)
    _mark_read(thread, by, now)
    _audit(by, patient, thread, AuditEvent.Action.CREATE)
    return thread


@transaction.atomic
def message_post(*, thread: Thread, by: User, from_clinic: bool, body: str, now: datetime,
                 attachment: Attachment | None = None) -> Message:
    """A reply. The patient's reopens a closed thread and puts it back in the clinic's queue;
    the clinic's answers it (no longer waiting on the clinic) and tells the patient."""
    body = _clean_body(body)
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    attachment = attachment or Attachment()
    if from_clinic:
        if attachment.photo is not None or attachment.plan_item_key is not None:
            raise MessageRefused(_("Only the patient attaches photos and plan steps."))
    else:
        _check_attachment(thread.patient, attachment)
    message = _message_add(thread=thread, author=by, from_clinic=from_clinic, body=body,
                           now=now, attachment=attachment)
    thread.last_message_at = now
    changed = ["last_message_at"]
    if from_clinic:
        thread.waiting_since = None
        changed.append("waiting_since")
        _audit(by, thread.patient, thread, AuditEvent.Action.CHANGE)
    else:
        if thread.waiting_since is None:
            thread.waiting_since = now
            changed.append("waiting_since")
        if thread.status != Status.OPEN:
            thread.status, thread.closed_at = Status.OPEN, None
            changed += ["status", "closed_at"]
    thread.save(update_fields=changed)
    _mark_read(thread, by, now)
    return message


def _message_add(*, thread: Thread, author: User, from_clinic: bool, body: str, now: datetime,
                 attachment: Attachment | None = None) -> Message:
    attachment = attachment or Attachment()
    message = Message.objects.create(
        thread=thread, author=author, from_clinic=from_clinic, body=body, created_at=now,
        photo=attachment.photo, plan_item_key=attachment.plan_item_key,
        plan_item_name=attachment.plan_item_name if attachment.plan_item_key else "")
    if from_clinic:
        from .tasks import message_notify

        transaction.on_commit(lambda: safe_enqueue(lambda: message_notify.delay(message.pk),
                                                   f"notice of message {message.pk}"))
    return message


def _mark_read(thread: Thread, user: User, now: datetime) -> None:
    ThreadRead.objects.update_or_create(thread=thread, user=user, defaults={"read_at": now})


def thread_mark_read(*, thread: Thread, user: User, now: datetime) -> None:
    """``user`` has read everything in ``thread`` up to ``now``."""
    _mark_read(thread, user, now)


def _audit(actor: User, patient: Patient, thread: Thread, action: str) -> None:
    audit_record(actor=actor, patient=patient, action=action, object_type="message_thread",
                 object_id=str(thread.pk))


# --- The clinic's actions on a thread ------------------------------------------------------

def _clinic_member(thread: Thread, user: User | None, *, role: str | None = None) -> bool:
    if user is None:
        return False
    members = ClinicMembership.objects.filter(user=user, clinic_id=thread.clinic_id,
                                              role__in=[Role.DERMATOLOGIST, Role.STAFF])
    if role is not None:
        members = members.filter(role=role)
    return members.exists()


@transaction.atomic
def thread_assign(*, thread: Thread, by: User, assignee: User | None, now: datetime) -> Thread:
    """Give the thread to someone of the clinic (None: nobody)."""
    if assignee is not None and not _clinic_member(thread, assignee):
        raise MessageRefused(_("Assign the conversation to someone at this clinic."))
    thread.assignee = assignee
    thread.save(update_fields=["assignee"])
    _audit(by, thread.patient, thread, AuditEvent.Action.CHANGE)
    return thread


@transaction.atomic
def thread_hand_to_dermatologist(*, thread: Thread, by: User, now: datetime) -> Thread:
    """A clinical question: to the patient's own dermatologist, marked as theirs to answer."""
    thread.assignee_id = thread.patient.dermatologist_id
    thread.for_dermatologist = True
    thread.save(update_fields=["assignee", "for_dermatologist"])
    _audit(by, thread.patient, thread, AuditEvent.Action.CHANGE)
    return thread


@transaction.atomic
def thread_set_status(*, thread: Thread, by: User, status: str, now: datetime) -> Thread:
    """Waiting on the patient, closed, or open again. A closed thread is never deleted; the
    patient's next message reopens it."""
    if status not in Status.values:
        raise MessageRefused(_("Choose what happens to the conversation."))
    thread.status = status
    thread.closed_at = now if status == Status.CLOSED else None
    if status != Status.OPEN:
        thread.waiting_since = None
    thread.save(update_fields=["status", "closed_at", "waiting_since"])
    _audit(by, thread.patient, thread, AuditEvent.Action.CHANGE)
    return thread


@transaction.atomic
def reply_template_save(*, clinic_id: int, by: User, title: str, body: str, now: datetime,
                        template: ReplyTemplate | None = None, active: bool = True
                        ) -> ReplyTemplate:
    """Add a clinic's reply template, or change one (never deleted: set inactive)."""
    title, body = title.strip(), _clean_body(body)
    if not title or len(title) > 80:
        raise MessageRefused(_("Give the template a title of 1 to 80 characters."))
    clash = ReplyTemplate.objects.filter(clinic_id=clinic_id, title__iexact=title)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise MessageRefused(_("The clinic already has a template called %(title)s.")
                             % {"title": title})
    if template is None:
        return ReplyTemplate.objects.create(clinic_id=clinic_id, title=title, body=body,
                                            active=active, created_by=by, created_at=now)
    template.title, template.body, template.active = title, body, active
    template.save(update_fields=["title", "body", "active"])
    return template
