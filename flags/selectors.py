"""Reads of flags, scoped to the requesting clinician's clinic (others see nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import Http404

from accounts.models import CLINICIAN_ROLES, AuditEvent, Patient, Role, User
from accounts.selectors import (
    clinician_membership_of,
    membership_of,
    patient_record_for_clinician,
)
from checkins.models import CheckIn
from messaging.models import Message, Thread

from .models import Flag, FlagEvent, Outreach, Rule, State

QUEUE_OPEN = "open"
QUEUE_PAGE_SIZE = 25
# Flags the dermatologist sees first: "alliance at risk", and any flag staff escalated.
ROUTED = Q(rule=Rule.ALLIANCE_AT_RISK) | Q(escalated_at__isnull=False)


def in_rule_order(flags: QuerySet[Flag]) -> QuerySet[Flag]:
    """A patient's flags in the one fixed order every badge list uses: the order of ``Rule``.
    (Severity and age differ from patient to patient, so ordering by them shuffles the badges
    from one row to the next.)"""
    position = Case(*(When(rule=rule, then=Value(index)) for index, rule in
                      enumerate(Rule.values)), default=Value(len(Rule.values)),
                    output_field=IntegerField())
    return flags.order_by(position, "id")


def flags_visible_to(user: User) -> QuerySet[Flag]:
    membership = clinician_membership_of(user)
    if membership is None:
        return Flag.objects.none()
    return Flag.objects.filter(clinic_id=membership.clinic_id)


def flag_for_clinician(*, user: User, flag_id: int,
                       action: str = AuditEvent.Action.VIEW) -> Flag:
    """One flag of the user's clinic, its patient's record read audited; otherwise 404."""
    flag = flags_visible_to(user).select_related("patient", "assigned_to").filter(
        pk=flag_id).first()
    if flag is None:
        if membership_of(user) is not None:
            from accounts.services import audit_record

            audit_record(actor=user, patient=None, action=action, object_type="flag",
                         object_id=str(flag_id), allowed=False)
        raise Http404
    flag.patient = patient_record_for_clinician(
        user=user, patient_id=flag.patient_id, action=action, object_type="flag",
        object_id=str(flag.pk),
    )
    return flag


# --- The review queue, badges and the patient's messages (added for the pages) ------------


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows. ``state`` is a State value or ``"open"`` (new and acknowledged)."""

    rule: str = ""
    state: str = "open"
    dermatologist_id: int | None = None
    assigned_to_id: int | None = None
    # Only what the dermatologist's "Alliance at risk" panel lists (see routed_to_dermatologist).
    routed: bool = False


# Highest severity first, then the oldest: the order of ``flag_open_queue_idx``.
QUEUE_ORDER = ("-severity", "opened_at", "id")


def flag_queue(user: User, filters: QueueFilters) -> QuerySet[Flag]:
    """The user's clinic's flags matching ``filters``, in ``QUEUE_ORDER``: nothing joined but
    the patient when filtering by dermatologist (``flag_queue_page`` adds what a row prints)."""
    flags = _queue_base(user, filters)
    flags = flags.open() if filters.state == QUEUE_OPEN else flags.filter(state=filters.state)
    return flags.order_by(*QUEUE_ORDER)


def flag_queue_page(user: User, filters: QueueFilters, number: object,
                    state_counts: StateCounts) -> Page:
    """One page of ``flag_queue``. Its length comes from ``state_counts`` (the caller's
    ``flag_state_counts`` under the same filters, so not counted twice); the page's ids are
    chosen on the flag's columns (no evidence to sort or skip), then only those flags are
    read with what a queue row prints (patient, dermatologist, assignee). Two queries however
    long the queue is."""
    paginator = Paginator(flag_queue(user, filters).values_list("pk", flat=True),
                          QUEUE_PAGE_SIZE)
    states = (State.NEW, State.ACKNOWLEDGED) if filters.state == QUEUE_OPEN else (filters.state,)
    paginator.count = sum(state_counts.counts[state] for state in states)
    page = paginator.get_page(number)
    ids = list(page.object_list)
    # The ids came through the clinic's scope above.
    rows = Flag.objects.select_related(
        "patient__user", "patient__dermatologist", "assigned_to").in_bulk(ids) if ids else {}
    page.object_list = [rows[pk] for pk in ids]
    return page


@dataclass(frozen=True)
class StateCounts:
    """Flags per state; None for the resolved ones unless they are listed (see
    ``flag_state_counts``)."""

    counts: dict[str, int | None]


def flag_state_counts(user: User, filters: QueueFilters) -> StateCounts:
    """Flags per state under the other filters (rule, dermatologist, assignee). The open
    states in one query (``flag_open_states_idx``); the resolved ones only when they are the
    list shown: they pile up with the clinic's history, and the work queue should cost the same
    in year ten as in year one."""
    base = _queue_base(user, filters)
    counts: dict[str, int | None] = base.open().aggregate(**{
        state: Count("pk", filter=Q(state=state)) for state in State.values
        if state != State.RESOLVED
    })
    counts[State.RESOLVED] = (base.filter(state=State.RESOLVED).count()
                              if filters.state == State.RESOLVED else None)
    return StateCounts(counts)


def _queue_base(user: User, filters: QueueFilters) -> QuerySet[Flag]:
    flags = flags_visible_to(user)
    if filters.rule:
        flags = flags.filter(rule=filters.rule)
    if filters.dermatologist_id is not None:
        flags = flags.filter(patient__dermatologist_id=filters.dermatologist_id)
    if filters.assigned_to_id is not None:
        flags = flags.filter(assigned_to_id=filters.assigned_to_id)
    if filters.routed:
        flags = flags.filter(ROUTED)
    return flags


def clinic_dermatologists(user: User) -> QuerySet[User]:
    """The dermatologists of the user's clinic (the queue's filter choices)."""
    return _clinic_members(user).filter(membership__role=Role.DERMATOLOGIST)


def flag_assignees(user: User) -> QuerySet[User]:
    """Who a flag of the user's clinic may be assigned to: its staff and dermatologists."""
    return _clinic_members(user)


def _clinic_members(user: User) -> QuerySet[User]:
    membership = membership_of(user)
    if membership is None:
        return User.objects.none()
    # Clinicians only: a clinic administrator is neither assigned flags nor a filter choice.
    return User.objects.filter(
        membership__clinic_id=membership.clinic_id, membership__role__in=CLINICIAN_ROLES,
    ).select_related(
        "membership").order_by("first_name", "last_name", "email")


def routed_to_dermatologist(user: User) -> QuerySet[Flag]:
    """Open flags of the dermatologist's own patients that need them: "alliance at risk"
    flags and flags staff escalated. Each carries ``escalation_note`` (the latest one)."""
    note = FlagEvent.objects.filter(
        flag=OuterRef("pk"), kind=FlagEvent.Kind.ESCALATED).order_by("-at", "-id")
    return (
        flags_visible_to(user).open()
        .filter(patient__dermatologist=user)
        .filter(ROUTED)
        .annotate(escalation_note=Subquery(note.values("note")[:1]))
        .select_related("patient__user")
        .order_by(*QUEUE_ORDER)
    )


def open_flags_of(patient: Patient) -> QuerySet[Flag]:
    """A patient's open flags, in rule order; the caller obtained ``patient`` through a
    clinician scope."""
    return in_rule_order(Flag.objects.filter(patient=patient).open())


def flag_history(flag: Flag) -> QuerySet[FlagEvent]:
    return flag.events.select_related("actor").order_by("at", "id")


def flag_outreach(flag: Flag) -> QuerySet[Outreach]:
    return flag.outreach.select_related("by").order_by("-at", "-id")


def evidence_checkins(flag: Flag) -> QuerySet[CheckIn]:
    """The check-ins behind the flag's evidence, oldest first (only the flag's patient's)."""
    ids = [pk for pk in flag.evidence.get("checkin_ids") or [] if isinstance(pk, int)]
    return CheckIn.objects.filter(patient_id=flag.patient_id, pk__in=ids).select_related(
        "side_effect_item").order_by("local_date")


def evidence_messages(flag: Flag) -> QuerySet[Message]:
    """The patient's messages behind the flag's evidence (a severe side effect reported in a
    message), oldest first, with their thread; only the flag's patient's."""
    ids = [pk for pk in flag.evidence.get("message_ids") or [] if isinstance(pk, int)]
    return (Message.objects.filter(thread__patient_id=flag.patient_id, pk__in=ids)
            .select_related("thread").only("created_at", "thread__id", "thread__topic")
            .order_by("created_at", "id"))


def threads_started_by(flag: Flag) -> QuerySet[Thread]:
    """The conversations this flag's outreach started with the patient, newest first."""
    return (Thread.objects.filter(patient_id=flag.patient_id, flag_id_started=flag.pk)
            .only("id", "status", "last_message_at").order_by("-created_at", "-id"))
