"""Reads of the clinician's patient list: the page first, then the details of its rows.

The page is chosen over plain indexed columns (the clinic, the dermatologist, the names), so
its cost does not depend on what each patient's plan, concerns or check-ins hold; only the
rows shown are then given their plan fit, open concerns, last check-in and open flags, in a
fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet, Value, Window
from django.db.models.functions import Concat

from accounts.models import NO_LOGIN_EMAIL_SUFFIX, Patient, User, name_to_display
from accounts.selectors import clinic_patients_for
from careplans.fit import fit_badge
from careplans.selectors import with_plan_summary
from careplans.visits import VISIT_COLUMNS, NextVisit, next_visit_of, with_next_visit
from checkins.selectors import with_last_checkin
from flags.models import Flag, Rule
from flags.selectors import in_rule_order, routed_to_dermatologist

PAGE_SIZE = 25
SCOPE_MINE, SCOPE_ALL = "mine", "all"
# Alphabetical by surname; the user id breaks ties (one user per patient). The index
# ``clinic/migrations/0001`` adds on (last_name, first_name, id) serves this order.
LIST_ORDER = ("user__last_name", "user__first_name", "user_id")
AT_RISK_SHOWN = 5
# "See all" counts at most this many (a bounded count, whatever the clinic's size).
AT_RISK_COUNT_CAP = 99


def patient_list(user: User, *, scope: str, query: str) -> QuerySet[Patient]:
    """The clinic's patients the list shows, in list order, without per-patient details.
    ``query`` matches first name, last name or email (case-insensitive), within the clinic."""
    patients = clinic_patients_for(user)
    if scope == SCOPE_MINE:
        patients = patients.filter(dermatologist=user)
    if query:
        # The same order, its first key written as an expression: PostgreSQL then sorts the
        # matches its trigram indexes found (clinic/migrations/0002) instead of walking the
        # name index past every patient who does not match.
        return patients.filter(
            Q(user__first_name__icontains=query) | Q(user__last_name__icontains=query)
            | Q(user__email__icontains=query)
        ).order_by(Concat("user__last_name", Value("")), *LIST_ORDER[1:])
    return patients.order_by(*LIST_ORDER)


class NearerEndPaginator(Paginator):
    """Counts its offset from whichever end of the list is nearer: a page past the middle is
    read in reverse order (the same index, scanned backwards) and turned round, so the last
    page costs what the first does. ``object_list`` must be totally ordered (a unique last
    key), or the two directions could disagree."""

    def page(self, number: object) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom > self.count - top:
            rows = list(self.object_list.reverse()[self.count - top:self.count - bottom])[::-1]
        else:
            rows = list(self.object_list[bottom:top])
        return self._get_page(rows, number, self)


def patient_list_page(user: User, *, scope: str, query: str, number: object,
                      today: date) -> Page:
    """One page of ``patient_list`` as ``PatientRow``s.
    The page's ids are chosen first (names and ids only: nothing wide to sort or skip), then
    only those patients are read: four queries (count, ids, rows, flags) however long the list
    is; three for a search, whose count comes with its ids."""
    patients = patient_list(user, scope=scope, query=query)
    page = _matches_page(patients, number) if query else None
    if page is None:
        page = NearerEndPaginator(patients.values_list("pk", flat=True), PAGE_SIZE).get_page(number)
    # "Next visit" and "Review overdue" are read against ``today`` in the viewer's clinic.
    page.object_list = with_row_details(list(page.object_list), today=today)
    return page


def _matches_page(patients: QuerySet[Patient], number: object) -> Page | None:
    """A search's page and its number of matches from one query (``COUNT(*) OVER ()``: the
    matches are found and sorted once, not once to count and again to page). None when the
    page asked for holds nothing (no matches, past the last page, below the first): the
    paginator's own count and clamping then decide what to show. Anything but a number is the
    first page, as ``Paginator.get_page`` has it."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    if number < 1:
        return None
    bottom = (number - 1) * PAGE_SIZE
    rows = list(patients.annotate(matches=Window(Count("pk")))
                .values_list("pk", "matches")[bottom:bottom + PAGE_SIZE])
    if not rows:
        return None
    paginator = Paginator([], PAGE_SIZE)
    paginator.count = rows[0][1]  # a cached property: set, it is never computed
    return paginator._get_page([pk for pk, _ in rows], number, paginator)


@dataclass(frozen=True)
class FlagBadge:
    pk: int
    rule: str
    label: str


@dataclass(frozen=True)
class PatientRow:
    """One row of the patient list: what it shows, and nothing else."""

    pk: int
    name: str
    email: str
    fit: dict[str, str]  # careplans.fit.fit_badge
    open_concern_count: int
    last_checkin_date: date | None
    open_flags: list[FlagBadge]
    next_visit: NextVisit  # careplans.visits: the next visit, a review due or overdue


def with_row_details(ids: list[int], *, today: date) -> list[PatientRow]:
    """The rows of the patients ``ids`` (chosen through the clinic's scope by the caller), in
    that order: two queries for any number of rows, none for none. Read as values, not model
    instances: a row costs its columns, which keeps a full page near the cost of a short one.
    Each row also carries its next-visit state on ``today`` (the clinic's), from the same
    query."""
    if not ids:
        return []
    details = with_last_checkin(with_plan_summary(Patient.objects.filter(pk__in=ids))).order_by()
    rows = {row["pk"]: row for row in with_next_visit(details).values(
        "pk", "user__first_name", "user__last_name", "user__email", "plan_fit_warnings",
        "profile_given", "open_concern_count", "last_checkin_date", *VISIT_COLUMNS)}
    badges = open_flag_badges(ids)
    return [_row(rows[pk], badges.get(pk, []), today) for pk in ids]


def open_flag_badges(patient_ids: list[int]) -> dict[int, list[FlagBadge]]:
    """Each patient's open flags as badges, in rule order (one query, no evidence read)."""
    labels = dict(Rule.choices)
    badges: dict[int, list[FlagBadge]] = {}
    for flag in in_rule_order(Flag.objects.open().filter(patient_id__in=patient_ids)).values(
            "pk", "patient_id", "rule"):
        badges.setdefault(flag["patient_id"], []).append(
            FlagBadge(flag["pk"], flag["rule"], labels.get(flag["rule"], flag["rule"])))
    return badges


def _row(values: dict, badges: list[FlagBadge], today: date) -> PatientRow:
    return PatientRow(
        pk=values["pk"],
        name=name_to_display(values["user__first_name"], values["user__last_name"],
                             values["user__email"]),
        # A young child's record without a login has no address worth showing.
        email="" if values["user__email"].endswith(NO_LOGIN_EMAIL_SUFFIX)
        else values["user__email"],
        fit=fit_badge(values["plan_fit_warnings"], values["profile_given"]),
        open_concern_count=values["open_concern_count"],
        last_checkin_date=values["last_checkin_date"],
        open_flags=badges,
        next_visit=next_visit_of(values, today=today),
    )


@dataclass(frozen=True)
class AtRiskPanel:
    """The head of the dermatologist's routed flags and how many there are in all: ``count``
    exactly, or ``AT_RISK_COUNT_CAP`` with ``more`` set when there are more than that."""

    flags: list[Flag]
    count: int
    more: bool


def at_risk_panel(user: User) -> AtRiskPanel:
    """The first ``AT_RISK_SHOWN`` flags routed to the dermatologist, in the queue's order
    (the order of the "See all" link), and their number, counted no further than the cap:
    two queries whatever the clinic's size."""
    routed = routed_to_dermatologist(user)
    counted = routed.values("pk")[:AT_RISK_COUNT_CAP + 1].count()
    return AtRiskPanel(flags=list(routed[:AT_RISK_SHOWN]),
                       count=min(counted, AT_RISK_COUNT_CAP), more=counted > AT_RISK_COUNT_CAP)
