"""Reads of the messaging app, each scoped to whoever asks: a patient their own threads, a
clinician their clinic's (every clinician read of a thread audited)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import AuditEvent, Patient, User
from accounts.selectors import clinic_patients_for, clinician_membership_of
from accounts.services import audit_record

from .models import Message, ReplyTemplate, Status, Thread, ThreadRead


def _read_at(user: User) -> Subquery:
    return Subquery(ThreadRead.objects.filter(thread=OuterRef("pk"), user=user)
                    .values("read_at")[:1])


def _unread_for_patient(user: User) -> Exists:
    """The thread has a clinic message ``user`` (the patient, or a caregiver acting for them)
    has not read yet."""
    read = ThreadRead.objects.filter(thread=OuterRef("thread"), user=user,
                                     read_at__gte=OuterRef("created_at"))
    return Exists(Message.objects.filter(thread=OuterRef("pk"), from_clinic=True)
                  .exclude(Exists(read)))


def _seen_by(patient: Patient, viewer: User | None) -> QuerySet[Thread]:
    """The patient's threads that ``viewer`` may see on the patient pages: all of them for the
    patient themself (``viewer`` None or theirs), none marked private for anyone else (a
    caregiver acting for them)."""
    threads = Thread.objects.filter(patient=patient)
    if viewer is not None and viewer.pk != patient.user_id:
        threads = threads.filter(private=False)
    return threads


def threads_for_patient(patient: Patient, *, viewer: User | None = None) -> QuerySet[Thread]:
    """The conversations ``viewer`` sees of the patient's (the patient's own when None),
    newest first, each marked ``unread`` when the clinic wrote since ``viewer`` last read it."""
    return (_seen_by(patient, viewer)
            .annotate(unread=_unread_for_patient(viewer or patient.user))
            .order_by("-last_message_at", "-id"))


def thread_list_for_patient(patient: Patient, *, viewer: User | None = None
                            ) -> QuerySet[Thread]:
    """The patient's "Messages" page: their threads as above, each with the start of its
    latest message (``latest_body``) to recognise it by, in one query."""
    latest = Message.objects.filter(thread=OuterRef("pk")).order_by("-created_at", "-id")
    return threads_for_patient(patient, viewer=viewer).annotate(
        latest_body=Subquery(latest.values("body")[:1]),
        latest_from_clinic=Subquery(latest.values("from_clinic")[:1]),
        latest_author_id=Subquery(latest.values("author_id")[:1]))


def unread_count_for_patient(patient: Patient, *, viewer: User | None = None) -> int:
    return threads_for_patient(patient, viewer=viewer).filter(unread=True).count()


def _with_messages(threads: QuerySet[Thread]) -> QuerySet[Thread]:
    return threads.select_related("patient__user", "assignee").prefetch_related(
        Prefetch("messages", queryset=Message.objects.select_related("author__membership",
                                                                     "photo__area")))


def thread_of_patient(*, patient: Patient, thread_id: int, viewer: User | None = None
                      ) -> Thread:
    """One of the patient's own threads with its messages; 404 for anyone else's, and for a
    private one to anyone but the patient (a caregiver acting for them)."""
    thread = _with_messages(_seen_by(patient, viewer).filter(pk=thread_id)).first()
    if thread is None:
        raise Http404
    return thread


def thread_for_clinician(*, user: User, thread_id: int,
                         action: str = AuditEvent.Action.VIEW) -> Thread:
    """A thread of a patient of the clinician's clinic, audited whether allowed or not (the
    patient sees allowed reads in "Who viewed my record"); 404 otherwise."""
    if clinician_membership_of(user) is None:
        raise Http404
    thread = _with_messages(Thread.objects.filter(
        pk=thread_id, patient__in=clinic_patients_for(user))).first()
    target = thread or Thread.objects.select_related("patient").filter(pk=thread_id).first()
    audit_record(actor=user, patient=target.patient if target else None, action=action,
                 object_type="message_thread", object_id=str(thread_id),
                 allowed=thread is not None)
    if thread is None:
        raise Http404
    return thread


# The inbox's views: which of the clinic's threads each shows.
INBOX_VIEWS = ("waiting", "mine", "unassigned", "for_dermatologist", "waiting_on_patient",
               "closed")


def inbox_for_clinician(user: User, *, view: str = "waiting") -> QuerySet[Thread]:
    """The clinic's threads for one inbox view, with the patient, the assignee and whether
    this clinician has unread patient messages in it, in a constant number of queries.

    "waiting" (the default): open threads where the patient waits for an answer, newest
    waiting first; the other views newest message first."""
    membership = clinician_membership_of(user)
    if membership is None:
        return Thread.objects.none()
    threads = Thread.objects.filter(clinic_id=membership.clinic_id)
    if view == "waiting":
        threads = threads.filter(status=Status.OPEN, waiting_since__isnull=False)
    elif view == "mine":
        threads = threads.filter(assignee=user).exclude(status=Status.CLOSED)
    elif view == "unassigned":
        threads = threads.filter(assignee__isnull=True).exclude(status=Status.CLOSED)
    elif view == "for_dermatologist":
        threads = threads.filter(for_dermatologist=True).exclude(status=Status.CLOSED)
    elif view == "waiting_on_patient":
        threads = threads.filter(status=Status.WAITING_ON_PATIENT)
    elif view == "closed":
        threads = threads.filter(status=Status.CLOSED)
    else:
        raise Http404
    order = ("-waiting_since", "-id") if view == "waiting" else ("-last_message_at", "-id")
    return (threads.select_related("patient__user", "assignee")
            .annotate(read_at=_read_at(user)).order_by(*order))


def waiting_count_for_clinician(user: User) -> int:
    """Open threads waiting for an answer that are this clinician's (or nobody's yet)."""
    membership = clinician_membership_of(user)
    if membership is None:
        return 0
    return Thread.objects.filter(
        Q(assignee=user) | Q(assignee__isnull=True), clinic_id=membership.clinic_id,
        status=Status.OPEN, waiting_since__isnull=False).count()


def threads_of_patient_for_clinic(patient: Patient) -> QuerySet[Thread]:
    """The patient page's thread history (the page itself is the audited read)."""
    return _with_messages(Thread.objects.filter(patient=patient)).order_by("-last_message_at",
                                                                         "-id")


def reply_templates_for(user: User, *, active_only: bool = True) -> QuerySet[ReplyTemplate]:
    membership = clinician_membership_of(user)
    if membership is None:
        return ReplyTemplate.objects.none()
    templates = ReplyTemplate.objects.filter(clinic_id=membership.clinic_id)
    return templates.filter(active=True) if active_only else templates
