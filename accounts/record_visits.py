"""Who viewed a patient's record, as the patient reads it: one line per visit, not per read.

A *visit* is a clinic member's run of reads of the record, each within ``VISIT_GAP`` of the
one before (a dermatologist opening the plan editor, previewing the fit check five times and
saving is one visit). The audit trail keeps every read (``AuditEvent``); only this view
groups them.

A read starts a visit when the same person made no read of the record in the ``VISIT_GAP``
before it: a test of the row and its own few predecessors, so visits page by keyset like the
events they are made of (``core.keyset``: a page costs the same however long the history),
newest first by when the visit began. A page is three queries: its visits (with where each
visit's run ends, the same person's next visit), their reads, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from core.keyset import KeysetPage, keyset_page

from .models import AuditEvent, Patient

VISIT_GAP = timedelta(minutes=30)


def _allowed_reads() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, allowed=True,
                                     actor__membership__isnull=False)


def _read_just_before() -> QuerySet[AuditEvent]:
    """The same person's reads of the same record in the ``VISIT_GAP`` before the outer row."""
    return AuditEvent.objects.filter(
        patient=OuterRef("patient"), actor=OuterRef("actor"), action=AuditEvent.Action.VIEW,
        allowed=True, at__gte=OuterRef("at") - VISIT_GAP, at__lte=OuterRef("at"),
    ).filter(Q(at__lt=OuterRef("at")) | Q(id__lt=OuterRef("id")))


def _visit_starts() -> QuerySet[AuditEvent]:
    return _allowed_reads().filter(~Exists(_read_just_before()))


def visits_of(patient: Patient) -> QuerySet[AuditEvent]:
    """The first read of each visit to ``patient``'s record, with ``next_visit_at``: when the
    same person's next visit began (None: their latest)."""
    next_visit = (
        _visit_starts()
        .filter(patient=OuterRef("patient"), actor=OuterRef("actor"))
        .filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), id__gt=OuterRef("id")))
        .order_by("at", "id").values("at")[:1]
    )
    return (_visit_starts().filter(patient=patient)
            .annotate(next_visit_at=Subquery(next_visit))
            .select_related("actor__membership"))


@dataclass(frozen=True)
class Visit:
    at: datetime  # the first read
    last_at: datetime
    views: int
    name: str
    role: str
    object_types: tuple[str, ...]  # what was opened, in the order first opened


def visits_page(patient: Patient, *, before: str | None, after: str | None,
                size: int) -> tuple[KeysetPage, list[Visit]]:
    """A keyset page of visits (newest first) and each visit's reads summed up."""
    page = keyset_page([visits_of(patient)], before=before, after=after, size=size)
    runs: dict[int, list[AuditEvent]] = {start.pk: [] for start in page.items}
    if page.items:
        reads = _allowed_reads().filter(patient=patient).filter(_runs_of(page.items))
        for read in reads.order_by("at", "id").only("at", "actor_id", "object_type"):
            runs[_visit_of(read, page.items).pk].append(read)
    return page, [_visit(start, runs[start.pk]) for start in page.items]


def _runs_of(starts: list[AuditEvent]) -> Q:
    """The reads of each visit: the same person's, from its first read up to their next
    visit."""
    runs = Q(pk__in=[])
    for start in starts:
        run = Q(actor_id=start.actor_id, at__gte=start.at)
        if start.next_visit_at is not None:
            run &= Q(at__lt=start.next_visit_at)
        runs |= run
    return runs


def _visit_of(read: AuditEvent, starts: list[AuditEvent]) -> AuditEvent:
    """The visit a read belongs to: the same person's latest visit that began at or before
    it (a page may hold several visits of one person)."""
    return max((s for s in starts if s.actor_id == read.actor_id and s.at <= read.at),
               key=lambda s: (s.at, s.pk))


def _visit(start: AuditEvent, reads: list[AuditEvent]) -> Visit:
    reads = reads or [start]
    return Visit(
        at=start.at, last_at=reads[-1].at, views=len(reads),
        name=start.actor.display_name, role=start.actor.membership.get_role_display(),
        object_types=tuple(dict.fromkeys(read.object_type for read in reads)),
    )
