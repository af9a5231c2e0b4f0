"""Who viewed a patient's record, as the patient reads it: one line per visit, not per read.

A *visit* is a clinic member's (or a caregiver's) run of reads of the record, each within
``VISIT_GAP`` of the one before (a dermatologist opening the plan editor, previewing the fit
check five times and saving is one visit). The audit trail keeps every read
(``AuditEvent``); only this view groups them. Visits are listed newest first by their first
read and paged by that read's ``(at, id)``, as the events themselves are (``core.keyset``).

Every query here is a plain range over the ``(patient, -at, -id)`` index with literal time
bounds, so PostgreSQL opens only the monthly partitions it needs while planning (a correlated
subquery would make it plan every partition for every row: measured at 107 ms a page). A page
reads the record's reads from its cursor outward in batches until the visits it shows are
settled (a read starts a visit when the same person made no read in the ``VISIT_GAP`` before
it), then the reads of those visits; it never counts or reads the whole history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext
from oauth2_provider.models import get_application_model

from core.keyset import Cursor, KeysetPage, rows_next_to

from .caregiving import CAREGIVER_READ_TYPES
from .models import AuditEvent, Patient

VISIT_GAP = timedelta(minutes=30)
# A visit's reads are looked for up to this long after its first read (nobody reads a record
# all day; the bound keeps the query to the partitions of that day).
LONGEST_VISIT = timedelta(hours=12)
SCAN_BATCH = 200


# A read through the FHIR API (interop): object type ``api_read_<FHIR type>``, object id the
# OAuth application's id. The actor is a clinic's system client's service account, or the
# patient themself for an app they authorised; either way the app is named.
API_READ_PREFIX = "api_read_"


def api_read_type(resource_type: str) -> str:
    return f"{API_READ_PREFIX}{resource_type}"


def is_api_read(event: AuditEvent) -> bool:
    return event.object_type.startswith(API_READ_PREFIX)


def app_names(events: list[AuditEvent]) -> dict[str, str]:
    """The name of each app behind the API reads among ``events``, by the event's object id
    (one query)."""
    ids = {event.object_id for event in events if is_api_read(event) and event.object_id.isdigit()}
    if not ids:
        return {}
    return {str(pk): name for pk, name in get_application_model().objects
            .filter(pk__in=[int(i) for i in ids]).values_list("pk", "name")}


def app_label(name: str) -> str:
    """How an app is named where a person would be: "Epic bridge (app)"."""
    return gettext("%(name)s (app)") % {"name": name or gettext("An app")}


@dataclass(frozen=True)
class Visit:
    at: datetime  # the first read
    last_at: datetime
    views: int
    name: str
    role: str
    object_types: tuple[str, ...]  # what was opened, in the order first opened




def record_reads_of(patient: Patient) -> QuerySet[AuditEvent]:
    """Allowed reads of ``patient``'s record by clinic members, by caregivers acting for them
    (a teenager sees their parent's visits as a clinician's), and by apps through the FHIR API
    (the clinic's, and the ones the patient authorised)."""
    return AuditEvent.objects.filter(
        Q(actor__membership__isnull=False) | Q(object_type__in=CAREGIVER_READ_TYPES)
        | Q(object_type__startswith=API_READ_PREFIX),
        patient=patient, action=AuditEvent.Action.VIEW, allowed=True,
    )


def _key(read: AuditEvent) -> tuple[datetime, int]:
    return (read.at, read.pk)


def _scan(reads: QuerySet[AuditEvent], cursor: Cursor | None, *, newer: bool
          ) -> Iterator[AuditEvent]:
    """The reads from ``cursor`` outward, in batches, in reading order."""
    while True:
        batch = rows_next_to(reads, cursor, newer=newer, size=SCAN_BATCH)
        yield from batch
        if len(batch) < SCAN_BATCH:
            return
        cursor = Cursor(*_key(batch[-1]))


def _older_starts(reads: QuerySet[AuditEvent], cursor: Cursor | None, count: int
                  ) -> list[AuditEvent]:
    """Up to ``count`` first reads of visits older than ``cursor``, newest first. Reading
    newest first, a person's read is a visit's first once the scan has passed ``VISIT_GAP``
    below it without another read of theirs."""
    starts: list[AuditEvent] = []
    candidate: dict[int, AuditEvent] = {}  # per person, their oldest read seen so far

    def settled(before: datetime | None) -> None:
        for actor, read in list(candidate.items()):
            if before is None or read.at - before > VISIT_GAP:
                starts.append(candidate.pop(actor))

    for read in _scan(reads, cursor, newer=False):
        settled(read.at)
        candidate[read.actor_id] = read
        starts.sort(key=_key, reverse=True)
        if len(starts) >= count and all(_key(c) < _key(starts[count - 1])
                                        for c in candidate.values()):
            return starts[:count]
    settled(None)
    return sorted(starts, key=_key, reverse=True)[:count]


def _newer_starts(reads: QuerySet[AuditEvent], cursor: Cursor, count: int
                  ) -> list[AuditEvent]:
    """Up to ``count`` first reads of visits newer than ``cursor``, oldest first."""
    last: dict[int, datetime] = {}
    # Who read in the VISIT_GAP up to the cursor: their next read there continues a visit.
    for actor, at in (reads.filter(at__gte=cursor.at - VISIT_GAP, at__lte=cursor.at)
                      .filter(Q(at__lt=cursor.at) | Q(id__lte=cursor.id))
                      .order_by("at", "id").values_list("actor_id", "at")):
        last[actor] = at
    starts = []
    for read in _scan(reads, cursor, newer=True):
        if read.actor_id not in last or read.at - last[read.actor_id] > VISIT_GAP:
            starts.append(read)
            if len(starts) == count:
                break
        last[read.actor_id] = read.at
    return starts


def _runs(reads: QuerySet[AuditEvent], starts: list[AuditEvent]) -> dict[int, list]:
    """Each visit's reads: the same person's from its first read on, each within VISIT_GAP
    of the one before, in one query bounded by the page's first and last reads."""
    if not starts:
        return {}
    rows = (reads.filter(actor_id__in={s.actor_id for s in starts},
                         at__gte=min(s.at for s in starts),
                         at__lt=max(s.at for s in starts) + LONGEST_VISIT)
            .order_by("at", "id").values_list("id", "actor_id", "at", "object_type"))
    by_actor: dict[int, list[tuple[int, datetime, str]]] = {}
    for pk, actor, at, kind in rows:
        by_actor.setdefault(actor, []).append((pk, at, kind))
    runs = {}
    for start in starts:
        run, previous = [], None
        for pk, at, kind in by_actor.get(start.actor_id, []):
            if (at, pk) < _key(start):
                continue
            if previous is not None and (at - previous > VISIT_GAP
                                         or at - start.at >= LONGEST_VISIT):
                break
            run.append((at, kind))
            previous = at
        runs[start.pk] = run
    return runs


def _role(read: AuditEvent, patient_user_id: int) -> str:
    if read.object_type in CAREGIVER_READ_TYPES:
        return gettext("Caregiver")
    if is_api_read(read):
        return (gettext("Allowed by you") if read.actor_id == patient_user_id
                else gettext("Connected by your clinic"))
    return read.actor.membership.get_role_display()


def _visit(start: AuditEvent, run: list[tuple[datetime, str]], apps: dict[str, str],
           patient_user_id: int) -> Visit:
    run = run or [(start.at, start.object_type)]
    name = (app_label(apps.get(start.object_id, "")) if is_api_read(start)
            else start.actor.display_name)
    return Visit(
        at=start.at, last_at=run[-1][0], views=len(run),
        name=name, role=_role(start, patient_user_id),
        object_types=tuple(dict.fromkeys(kind for _at, kind in run)),
    )


def visits_page(patient: Patient, *, before: str | None, after: str | None,
                size: int) -> tuple[KeysetPage, list[Visit]]:
    """A page of visits, newest first: just older than ``before``, just newer than ``after``,
    or the newest; with the cursors of the "Newer" and "Older" links."""
    reads = record_reads_of(patient).select_related("actor__membership")
    after_cursor = Cursor.decode(after)
    before_cursor = None
    if after_cursor is not None:
        newer = _newer_starts(reads, after_cursor, size + 1)
        if len(newer) > size:
            starts = newer[:size][::-1]
            return _page(reads, starts, patient, newer=True, older=True)
        # Fewer than a page newer than the cursor: the newest page, full.
    else:
        before_cursor = Cursor.decode(before)
    starts = _older_starts(reads, before_cursor, size + 1)
    return _page(reads, starts[:size], patient, newer=before_cursor is not None and bool(starts),
                 older=len(starts) > size)


def _page(reads: QuerySet[AuditEvent], starts: list[AuditEvent], patient: Patient, *,
          newer: bool, older: bool) -> tuple[KeysetPage, list[Visit]]:
    runs = _runs(reads, starts)
    page = KeysetPage(
        items=starts,
        newer=Cursor(*_key(starts[0])).encode() if newer and starts else None,
        older=Cursor(*_key(starts[-1])).encode() if older and starts else None,
    )
    apps = app_names(starts)
    return page, [_visit(start, runs.get(start.pk, []), apps, patient.user_id) for start in starts]
