"""The next visit: when the patient is next seen, and what a recorded visit asks for.

The plan's review date (``PlanRevision.reviews_on`` of the current revision) is the patient's
"Next visit". Staff or a dermatologist of the clinic record that a visit happened
(``ClinicVisit``, append-only). A recorded visit then asks for two things:

- the next check-in's full alliance pulse: ``checkins.services.pulse_due`` (the one definition);
- a plan review: shown to the clinic while a visit lies later than the date the current
  revision took effect (``effective_from``, the patient-local date it was saved). A revision
  saved on the visit's own day counts as that visit's review, whichever was entered first.

Where the visit state reads:

- ``upcoming``: the review date is today or later ("Next visit: Tue 15 Dec");
- ``overdue``: the review date has passed and no visit was recorded since the revision
  ("Review overdue since 1 Dec");
- ``review_due``: a visit was recorded since the current revision ("Plan review due");
- ``none``: no plan yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from accounts.models import AuditEvent, Patient, User
from accounts.services import audit_record

from .models import MAX_VISIT_NOTE, ClinicVisit, PlanRevision

UPCOMING, OVERDUE, REVIEW_DUE, NONE = "upcoming", "overdue", "review_due", "none"
# How many recorded visits the patient page lists (newest first).
VISITS_SHOWN = 10


@dataclass(frozen=True)
class NextVisit:
    """The visit state of one patient on ``today`` (a pure value, from the three dates)."""

    reviews_on: date | None  # the current revision's review date; None without a plan
    revision_from: date | None  # the date the current revision took effect
    last_visit_on: date | None  # the latest recorded visit
    today: date

    @property
    def review_due(self) -> bool:
        """A visit was recorded later than the current revision's date: the plan wants review."""
        return (self.reviews_on is not None and self.last_visit_on is not None
                and self.revision_from is not None and self.last_visit_on > self.revision_from)

    @property
    def state(self) -> str:
        if self.reviews_on is None:
            return NONE
        if self.review_due:
            return REVIEW_DUE
        return OVERDUE if self.reviews_on < self.today else UPCOMING

    @property
    def days_away(self) -> int | None:
        """Days from ``today`` to the review date (0 today, 1 tomorrow); None without one."""
        return None if self.reviews_on is None else (self.reviews_on - self.today).days


def with_next_visit(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate a patient list with ``visit_reviews_on``, ``visit_revision_from`` (the current
    revision's) and ``last_visit_on``, as subqueries of the same query (no per-row lookups, and
    no joins that would multiply rows another app annotates)."""
    current = PlanRevision.objects.filter(
        plan__patient=OuterRef("pk"), number=OuterRef("care_plan__current_number"))
    last_visit = (ClinicVisit.objects.filter(patient=OuterRef("pk")).order_by()
                  .values("patient").annotate(last=Max("happened_on")).values("last"))
    return patients.annotate(
        visit_reviews_on=Subquery(current.values("reviews_on")[:1]),
        visit_revision_from=Subquery(current.values("effective_from")[:1]),
        last_visit_on=Subquery(last_visit),
    )


VISIT_COLUMNS = ("visit_reviews_on", "visit_revision_from", "last_visit_on")


def next_visit_of(values: dict, *, today: date) -> NextVisit:
    """The state from a row annotated by ``with_next_visit`` (read as values)."""
    return NextVisit(reviews_on=values["visit_reviews_on"],
                     revision_from=values["visit_revision_from"],
                     last_visit_on=values["last_visit_on"], today=today)


def next_visit_on(patient: Patient, *, today: date) -> NextVisit:
    """The patient's own visit state on ``today`` (their date), in one query."""
    values = with_next_visit(Patient.objects.filter(pk=patient.pk)).values(*VISIT_COLUMNS).get()
    return next_visit_of(values, today=today)


def next_visit_for(patient: Patient, *, revision: PlanRevision | None, today: date) -> NextVisit:
    """The state of one patient whose current ``revision`` the caller has read: one query."""
    last = (ClinicVisit.objects.filter(patient=patient).order_by("-happened_on")
            .values_list("happened_on", flat=True).first())
    return NextVisit(reviews_on=revision.reviews_on if revision else None,
                     revision_from=revision.effective_from if revision else None,
                     last_visit_on=last, today=today)


def visits_of(patient: Patient) -> list[ClinicVisit]:
    """The patient's latest recorded visits, newest first, with who recorded them."""
    return list(ClinicVisit.objects.filter(patient=patient).select_related("recorded_by")
                .order_by("-happened_on", "-id")[:VISITS_SHOWN])


@transaction.atomic
def visit_record(*, patient: Patient, recorded_by: User, happened_on: date, note: str,
                 now: datetime, today: date) -> ClinicVisit:
    """Record that ``patient`` was seen on ``happened_on`` (``today`` is the clinic's date at
    ``now``): never in the future, note at most ``MAX_VISIT_NOTE`` characters. Audited as a
    change to the patient's record. The caller has checked who may (the clinic's dermatologists
    and staff)."""
    if happened_on > today:
        raise ValidationError(_("A visit can only be recorded once it has happened."))
    note = note.strip()
    if len(note) > MAX_VISIT_NOTE:
        raise ValidationError(_("Keep the note to %(count)d characters.")
                              % {"count": MAX_VISIT_NOTE})
    visit = ClinicVisit.objects.create(patient=patient, happened_on=happened_on,
                                       recorded_by=recorded_by, recorded_at=now, note=note)
    audit_record(actor=recorded_by, patient=patient, action=AuditEvent.Action.CHANGE,
                 object_type="clinic_visit", object_id=str(visit.pk))
    return visit
