"""Plain-language descriptions of plan items and of what changed between revisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .models import Frequency, PlanItem, PlanRevision, TimeOfDay
from .money import money

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

def when_text(item: PlanItem, on: date | None = None) -> str:
    """How often and when, in words; a ramp-up already over by ``on`` is not mentioned."""
    slot = {
        TimeOfDay.MORNING: "morning", TimeOfDay.EVENING: "evening",
        TimeOfDay.BOTH: "morning and evening",
    }[item.time_of_day]
    if item.frequency == Frequency.WEEKDAYS:
        days = ", ".join(WEEKDAY_NAMES[int(d)] for d in sorted(item.weekdays))
        steady = f"{days}, {slot}"
    elif item.frequency == Frequency.EVERY_N_DAYS and (item.every_n_days or 1) > 1:
        steady = f"every {item.every_n_days} days, {slot}"
    else:
        steady = f"every {slot}"
    ramp_over = on is not None and item.ramp_days and on >= item.starts_on + timedelta(
        days=item.ramp_days
    )
    if item.ramp_days and item.ramp_every_n_days and not ramp_over:
        ramp = (
            "alternate days" if item.ramp_every_n_days == 2
            else f"every {item.ramp_every_n_days} days"
        )
        return f"{ramp.capitalize()} for the first {item.ramp_days} days, then {steady}"
    return steady[0].upper() + steady[1:]


# Fields whose change the patient reads in "what changed and why", with how to show them.
COMPARED_FIELDS: list[tuple[str, str]] = [
    ("name", "Name"),
    ("kind", "Type"),
    ("instructions", "Instructions"),
    ("when", "When"),
    ("minutes", "Minutes"),
    ("monthly_cost", "Monthly cost"),
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
        return f"{item.minutes} min"
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
    return changes
