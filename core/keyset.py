"""Keyset ("Newer / Older") pages over rows ordered newest first by ``(at, id)``.

A page is the next ``size`` rows after a cursor, read through an index in that order: the cost
of a page does not grow with the history behind it, and nothing counts the whole table. Rows
with equal ``at`` are told apart by ``id``, so no row is skipped or repeated between pages.

The cursor is plain text in the link (``?before=...`` / ``?after=...``): pages work without
JavaScript and can be bookmarked. A cursor that does not parse means the first page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: int

    def encode(self) -> str:
        return f"{_micros(self.at)}-{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        try:
            micros, pk = (text or "").split("-")
            return cls(EPOCH + timedelta(microseconds=int(micros)), int(pk))
        except (ValueError, OverflowError):
            return None


def _micros(at: datetime) -> int:
    # Exact integer microseconds (a float timestamp would round ties apart).
    return (at - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class KeysetPage:
    items: list[Any]
    newer: str | None  # the cursor for the "Newer" link (?after=), None on the newest page
    older: str | None  # the cursor for the "Older" link (?before=), None on the oldest page


def _key(row: Any) -> tuple[datetime, int]:
    return (row.at, row.pk)


# Months read by the successive queries of one page, going back (or forward) from its cursor:
# the cursor's month, the six before it, then the rest of the history in one query. Bounded by
# literal times aligned to month starts, each query touches only its months' partitions
# (PostgreSQL prunes the others while planning and does not even open them: on a fresh
# connection, planning one query over six years of monthly partitions costs more than reading
# a page). A busy log fills its page in the first query; a sparse one (a search for a rarely
# read patient) takes at most three.
WINDOW_MONTHS = (1, 6)


def _month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _add_months(at: datetime, months: int) -> datetime:
    index = at.year * 12 + at.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _collect(queryset: QuerySet, anchor: datetime, *, newer: bool, size: int,
             stop: datetime | None) -> list[Any]:
    """Up to ``size`` rows of ``queryset`` (already cut at the cursor) in reading order,
    read in month windows starting at ``anchor``'s month, and none beyond ``stop``."""
    order = ("at", "id") if newer else ("-at", "-id")
    if stop is not None:
        queryset = queryset.filter(at__lte=stop) if newer else queryset.filter(at__gte=stop)
    bounds = [_add_months(_month_start(anchor), 1) if newer else _month_start(anchor)]
    for months in WINDOW_MONTHS[1:]:
        bounds.append(_add_months(bounds[-1], months if newer else -months))
    rows: list[Any] = []
    near = None  # where the previous window ended
    for far in (*bounds, None):
        window = queryset
        if near is not None:
            window = window.filter(at__gte=near) if newer else window.filter(at__lt=near)
        if far is not None:
            window = window.filter(at__lt=far) if newer else window.filter(at__gte=far)
        rows += list(window.order_by(*order)[:size - len(rows)])
        reached_stop = stop is not None and far is not None and (
            far > stop if newer else far <= stop)
        if len(rows) >= size or reached_stop:
            break
        near = far
    return rows


def _window(querysets: Sequence[QuerySet], cursor: Cursor | None, *, newer: bool,
            size: int) -> list[Any]:
    """Up to ``size`` rows next to ``cursor`` from the union of ``querysets`` (disjoint), in
    the reading direction: oldest first when going newer, newest first otherwise.

    Once a page is full, the later querysets are read only as far as its last row: they can
    only add rows before it (a rarely used source then costs one narrow query, not a search
    of the whole history)."""
    rows: list[Any] = []
    for queryset in querysets:
        if cursor is not None and newer:
            queryset = queryset.filter(at__gte=cursor.at).filter(
                Q(at__gt=cursor.at) | Q(id__gt=cursor.id))
        elif cursor is not None:
            # ``at <= cursor`` bounds the index range; the OR only breaks ties.
            queryset = queryset.filter(at__lte=cursor.at).filter(
                Q(at__lt=cursor.at) | Q(id__lt=cursor.id))
        anchor = cursor.at if cursor is not None else timezone.now()
        stop = rows[size - 1].at if len(rows) >= size else None
        found = _collect(queryset, anchor, newer=newer, size=size, stop=stop)
        rows = sorted([*rows, *found], key=_key, reverse=not newer)[:size]
    return rows


def rows_next_to(queryset: QuerySet, cursor: Cursor | None, *, newer: bool,
                 size: int) -> list[Any]:
    """Up to ``size`` rows of ``queryset`` just past ``cursor`` (the newest when None), in
    reading order: oldest first when going newer, newest first otherwise; read through month
    windows as a page is. For a caller that reads on until it has what it needs."""
    return _window([queryset], cursor, newer=newer, size=size)


def keyset_page(querysets: Sequence[QuerySet], *, before: str | None = None,
                after: str | None = None, size: int) -> KeysetPage:
    """The page of the union of ``querysets`` (disjoint, each with ``at`` and ``id``) just
    older than ``before``, or just newer than ``after``, or the newest; newest first.

    One query per queryset when the page's rows are within the cursor's month, at most three
    (``WINDOW_MONTHS``) however sparse: never a count, never more with more events.
    """
    after_cursor = Cursor.decode(after)
    if after_cursor is not None:
        rows = _window(querysets, after_cursor, newer=True, size=size + 1)
        if len(rows) > size:
            items = rows[:size][::-1]
            return KeysetPage(items, _cursor(items[0]), _cursor(items[-1]))
        # Fewer than a page newer than the cursor: the newest page, full.
    before_cursor = None if after_cursor is not None else Cursor.decode(before)
    rows = _window(querysets, before_cursor, newer=False, size=size + 1)
    items = rows[:size]
    return KeysetPage(
        items,
        newer=_cursor(items[0]) if before_cursor is not None and items else None,
        older=_cursor(items[-1]) if len(rows) > size else None,
    )


def _cursor(row: Any) -> str:
    return Cursor(*_key(row)).encode()
