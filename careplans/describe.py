"""Plain-language descriptions of plan items and of what changed between revisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import formats
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from .models import Frequency, PlanItem, PlanRevision
from .money import money
from .schedule import SLOT_NAMES

# Monday=0 … Sunday=6, short, in the reader's language.
WEEKDAY_NAMES = [WEEKDAYS_ABBR[day] for day in range(7)]

_DATED = (Frequency.EVERY_N_WEEKS, Frequency.MONTHLY, Frequency.ONCE)


def _relative_start(item: PlanItem) -> str:
    """When a template step's first dose is: it has no date, only days after the plan starts."""
    after = getattr(item, "first_dose_after_days", 0) or 0
    if not after:
        return _("from the plan's first day")
    return ngettext("from %(n)s day after the plan starts",
                    "from %(n)s days after the plan starts", after) % {"n": after}


def _dated_text(item: PlanItem, slot: str) -> str:
    """Every few weeks, monthly or on one date, with the window a late dose still counts in.
    A catalogue item or template step (no ``starts_on``) says it relative to the plan's start."""
    if item.starts_on is None and item.frequency == Frequency.ONCE:
        after = getattr(item, "first_dose_after_days", 0) or 0
        text = (ngettext("once, %(n)s day after the plan starts, %(slot)s",
                         "once, %(n)s days after the plan starts, %(slot)s", after)
                if after else _("once, on the plan's first day, %(slot)s")) % {
            "n": after, "slot": slot}
    elif item.starts_on is None and item.frequency == Frequency.EVERY_N_WEEKS:
        text = ngettext("every week %(start)s, %(slot)s",
                        "every %(n)s weeks %(start)s, %(slot)s", item.every_n_weeks or 1) % {
            "n": item.every_n_weeks or 1, "slot": slot, "start": _relative_start(item)}
    elif item.starts_on is None and item.frequency == Frequency.MONTHLY:
        text = _("each month on day %(day)s, %(slot)s") % {
            "day": item.day_of_month or 1, "slot": slot}
    elif item.frequency == Frequency.EVERY_N_WEEKS:
        text = ngettext("every week from %(day)s, %(slot)s",
                        "every %(n)s weeks from %(day)s, %(slot)s", item.every_n_weeks or 1) % {
            "n": item.every_n_weeks or 1, "slot": slot,
            "day": formats.date_format(item.starts_on, _("j F Y"))}
    elif item.frequency == Frequency.MONTHLY:
        text = _("each month on day %(day)s, %(slot)s") % {
            "day": item.day_of_month or item.starts_on.day, "slot": slot}
    else:
        text = _("once, on %(day)s, %(slot)s") % {
            "day": formats.date_format(item.starts_on, _("j F Y")), "slot": slot}
    if item.window_days:
        text += ngettext("; a late one still counts for %(n)s day",
                         "; a late one still counts for %(n)s days",
                         item.window_days) % {"n": item.window_days}
    return text


def when_text(item: PlanItem, on: date | None = None) -> str:
    """How often and when, in words; a ramp-up already over by ``on`` is not mentioned."""
    slot = SLOT_NAMES[item.time_of_day]
    if item.frequency == Frequency.WEEKDAYS:
        days = ", ".join(str(WEEKDAY_NAMES[int(d)]) for d in sorted(item.weekdays))
        steady = _("%(days)s, %(slot)s") % {"days": days, "slot": slot}
    elif item.frequency == Frequency.EVERY_N_DAYS and (item.every_n_days or 1) > 1:
        steady = _("every %(n)s days, %(slot)s") % {"n": item.every_n_days, "slot": slot}
    elif item.frequency in _DATED:
        steady = _dated_text(item, slot)
    elif item.frequency == Frequency.AS_NEEDED:
        steady = _("when needed")
    else:
        steady = pgettext("routine", "every %(slot)s") % {"slot": slot}
    ramp_over = on is not None and item.ramp_days and on >= item.starts_on + timedelta(
        days=item.ramp_days
    )
    if item.ends_on is not None:
        steady = _("%(when)s, until %(day)s") % {
            "when": steady, "day": formats.date_format(item.ends_on, _("j F Y"))}
    elif getattr(item, "course_weeks", None):  # a catalogue item's or template step's course
        steady = ngettext("%(when)s, for %(n)s week", "%(when)s, for %(n)s weeks",
                          item.course_weeks) % {"when": steady, "n": item.course_weeks}
    if item.ramp_days and item.ramp_every_n_days and not ramp_over:
        ramp = (
            _("alternate days") if item.ramp_every_n_days == 2
            else _("every %(n)s days") % {"n": item.ramp_every_n_days}
        )
        text = ngettext(
            "%(ramp)s for the first day, then %(steady)s",
            "%(ramp)s for the first %(n)s days, then %(steady)s", item.ramp_days,
        ) % {"ramp": ramp, "n": item.ramp_days, "steady": steady}
        return text[0].upper() + text[1:]
    return steady[0].upper() + steady[1:]


# Fields whose change the patient reads in "what changed and why", with how to show them.
COMPARED_FIELDS: list[tuple[str, str]] = [
    ("name", gettext_lazy("Name")),
    ("kind", gettext_lazy("Type")),
    ("instructions", gettext_lazy("Instructions")),
    ("when", gettext_lazy("When")),
    ("minutes", gettext_lazy("Minutes")),
    ("monthly_cost", gettext_lazy("Monthly cost")),
]


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class ItemChange:
    change: str  # "added" | "removed" | "changed"
    name: str
    fields: list[FieldChange]


def _shown(item: PlanItem, field: str, currency: str) -> str:
    if field == "when":
        return when_text(item)
    if field == "kind":
        return item.get_kind_display()
    if field == "monthly_cost":
        return money(item.monthly_cost, currency)
    if field == "minutes":
        return _("%(n)s min") % {"n": item.minutes}
    return str(getattr(item, field))


def revision_changes(
    previous: PlanRevision | None, current: PlanRevision, *, currency: str
) -> list[ItemChange]:
    """Item-level diff, by the item's stable key: added, removed, and changed fields."""
    before = {item.key: item for item in previous.items.all()} if previous else {}
    after = {item.key: item for item in current.items.all()}
    changes: list[ItemChange] = []
    for key, item in after.items():
        if key not in before:
            changes.append(ItemChange("added", item.name, []))
            continue
        old = before[key]
        fields = [
            FieldChange(label, _shown(old, field, currency), _shown(item, field, currency))
            for field, label in COMPARED_FIELDS
            if _shown(old, field, currency) != _shown(item, field, currency)
        ]
        if fields:
            changes.append(ItemChange("changed", item.name, fields))
    changes.extend(
        ItemChange("removed", item.name, []) for key, item in before.items() if key not in after
    )
    if previous and previous.photo_every_weeks != current.photo_every_weeks:
        changes.append(ItemChange("changed", _("Progress photos"), [FieldChange(
            _("How often"), photo_cadence_text(previous.photo_every_weeks),
            photo_cadence_text(current.photo_every_weeks))]))
    return changes


def photo_cadence_text(every_weeks: int | None) -> str:
    """How often the plan asks for a progress photo, in words."""
    if not every_weeks:
        return _("not asked for")
    return ngettext("every week", "every %(n)s weeks", every_weeks) % {"n": every_weeks}
