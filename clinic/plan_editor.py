"""The plan editor's rows: what each button of the one editor form does to the posted rows
before they are bound (move a step within its routine, swap it for its generic, add a blank
step or a catalogue item), the rows laid out in routine groups, and the steps the fit panel
cannot count yet. Nothing here saves: only the view's "Save revision" calls ``plan_revise``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.http import QueryDict
from django.utils.translation import gettext as _

from accounts.models import Patient, User
from careplans import selectors as plans
from careplans.forms import (
    ROUTINE_GROUPS,
    FitAcceptanceForm,
    PlanItemForm,
    PlanItemFormSet,
    PlanMetaForm,
    item_initial,
    routine_group,
)
from careplans.models import MAX_PLAN_ITEMS, PlanItem
from careplans.services import ITEM_FIELDS
from careplans.templatetags.careplans_tags import money
from catalogue.models import RegimenTemplate
from catalogue.selectors import (
    GenericOffer,
    catalogue_item_draft,
    catalogue_item_for,
    catalogue_search,
    draft_values,
    generic_offers,
    generic_values,
    template_plan_items,
    template_step_values,
)

DEFAULT_PLAN_WEEKS = 12


@dataclass
class EditorRow:
    """One step of the editor: its number as listed, its form, its one-line summary (None
    while incomplete), a cheaper generic if any, and whether it can move up or down."""

    number: int
    form: object
    item: object
    offer: GenericOffer | None
    can_move_up: bool = False
    can_move_down: bool = False

    @property
    def index(self) -> int:
        return int(self.form.prefix.rsplit("-", 1)[1])

    open: bool = False  # the details shown: a row with errors, or a blank row asked for


@dataclass
class PlanEditor:
    """The three forms of the plan editor, bound together."""

    meta: PlanMetaForm
    items: PlanItemFormSet
    acceptance: FitAcceptanceForm
    fit: object
    groups: list = field(default_factory=list)  # (label, [EditorRow]) in routine order
    incomplete: list = field(default_factory=list)  # (number, message) for the fit panel
    notice: str = ""
    search_query: str = ""
    search_results: list = field(default_factory=list)

    @property
    def valid(self) -> bool:
        # Evaluate all three so every error shows at once.
        return all([self.meta.is_valid(), self.items.is_valid(), self.acceptance.is_valid()])


def plan_editor(*, user: User, patient: Patient, data: QueryDict | None, now: datetime,
                template: RegimenTemplate | None = None, swap_key: str = "") -> PlanEditor:
    """The editor's forms, bound to the posted ``data`` (None on a GET); ``template`` (on a
    GET) fills the steps from a regimen template instead of the current revision; ``swap_key``
    (on a GET) opens it with that step already swapped for its generic. A POST's own actions
    (move, swap, add from the catalogue) change the posted rows before they are bound: the
    editor re-renders, nothing is saved."""
    plan = plans.plan_of(patient)
    revision = plans.current_revision(plan)
    today = patient.local_date(now)
    notice = ""
    if data is not None:
        data, notice = _edited_rows(user, data, _steps_start(plan, today, data))
    meta = PlanMetaForm(
        data, patient=patient, plan_starts_on=plan.starts_on if plan else None, today=today,
        initial={
            "base_number": plan.current_number if plan else 0,
            "reviews_on": revision.reviews_on if revision and revision.reviews_on > today
            else today + timedelta(weeks=DEFAULT_PLAN_WEEKS),
            "starts_on": today,
            # Carried forward; a plan started from a template asks for none until set.
            "photo_every_weeks": revision.photo_every_weeks if revision else None,
        },
    )
    plan_days = meta.plan_days() if data is not None and meta.is_valid() else None
    if data is None and template is not None:
        # Dated steps and courses count from the day the plan (or this new revision) starts.
        initial = template_step_values(template, starts_on=_steps_start(plan, today, None))
        items = template_plan_items(template, starts_on=_steps_start(plan, today, None))
    else:
        initial = [item_initial(i) for i in revision.items.all()] if revision and data is None \
            else None
        items = list(revision.items.all() if revision else [])
    if data is None and swap_key and initial:
        notice = _swap_initial(user, initial, swap_key)
        items = [_unsaved_item(row) for row in initial]
    formset = PlanItemFormSet(data, prefix="items", plan_days=plan_days, initial=initial)
    if data is not None:
        items = formset.preview_items()
    fit = plans.fit_report(patient, items)
    previous = {w["code"]: w["note"] for w in revision.accepted_warnings} if revision else {}
    acceptance = FitAcceptanceForm(
        data, warnings=fit.warnings,
        initial={**{f"accept:{c}": True for c in previous},
                 **{f"note:{c}": n for c, n in previous.items()}},
    )
    editor = PlanEditor(meta=meta, items=formset, acceptance=acceptance, fit=fit, notice=notice)
    _lay_out_rows(user, editor)
    if data is not None and (data.get("catalogue_q") or "").strip():
        editor.search_query = data["catalogue_q"].replace("\x00", "").strip()[:100]
        editor.search_results = list(catalogue_search(user,
                                                      query=editor.search_query)[:8])
    return editor


def _lay_out_rows(user: User, editor: PlanEditor) -> None:
    """Rows in routine groups, numbered as listed; incomplete rows named for the fit panel."""
    forms = editor.items.in_routine_order()
    offers = generic_offers(user, [
        (_int_or_none(form["catalogue_item"].value()), str(form["name"].value() or ""))
        for form in forms])
    labels = dict(ROUTINE_GROUPS)
    groups: dict[str, list[EditorRow]] = {}
    for number, (form, offer) in enumerate(zip(forms, offers, strict=True), start=1):
        row = EditorRow(number=number, form=form, item=form.preview_item(number), offer=offer)
        groups.setdefault(form.group, []).append(row)
        if form.is_bound and form.has_changed() and not form.is_valid() \
                and not editor.items._should_delete_form(form):
            editor.incomplete.append((number, _incomplete_message(number, form)))
    # A blank row opens when it is all there is, or when "Add a blank step" asked for it;
    # otherwise it waits folded as "New step" so the plan's own steps stay at a glance.
    expand_blank = set(groups) <= {"new"} or (
        editor.items.is_bound and editor.items.data.get("action") == "add_row")
    for rows in groups.values():
        for row in rows:
            form = row.form
            row.open = bool(form.errors) if form.is_bound and form.has_changed() else (
                row.item is None and expand_blank)
        for position, row in enumerate(rows):
            row.can_move_up = position > 0
            row.can_move_down = position < len(rows) - 1
    editor.groups = [(labels[name], groups[name]) for name, _label in ROUTINE_GROUPS
                     if name in groups]


def _incomplete_message(number: int, form: object) -> str:
    if "name" in form.errors:
        return _("Step %(number)s needs a name.") % {"number": number}
    labels = ", ".join(f"“{form[f].label}”" if f in form.fields
                       else _("the step") for f in form.errors)
    return _("Step %(number)s (%(name)s) is not counted yet: check %(fields)s.") % {
        "number": number, "name": form["name"].value(), "fields": labels}


def _int_or_none(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 18 else None


def _edited_rows(user: User, data: QueryDict, steps_start: date) -> tuple[QueryDict, str]:
    """The posted rows after the button pressed: add a blank row, move a row, swap a row's
    item for its generic, add a catalogue item. Tampered values change nothing here (the
    formset then reports what it must)."""
    try:
        total = int(data.get("items-TOTAL_FORMS", 0))
    except ValueError:
        return data, ""
    if data.get("action") == "add_row" and total < MAX_PLAN_ITEMS:
        data = data.copy()
        data["items-TOTAL_FORMS"] = str(total + 1)
        # A bound row shows what was posted, not the form's initial values: post them.
        _set_row(data, total, {"minutes": PlanItemForm.base_fields["minutes"].initial,
                               "monthly_cost": "0"})
    elif "move" in data:
        return _moved(data, total), ""
    elif "swap" in data:
        return _swapped(user, data, total)
    elif "add_item" in data and total < MAX_PLAN_ITEMS:
        item_id = _int_or_none(data["add_item"])
        if item_id is None:
            return data, ""
        item = catalogue_item_for(user, item_id)
        data = data.copy()
        data["items-TOTAL_FORMS"] = str(total + 1)
        values = draft_values(catalogue_item_draft(item, starts_on=steps_start))
        _set_row(data, total, {**values, "catalogue_item": item.pk})
        data["catalogue_q"] = ""
        return data, _("Added %(name)s as a new step: check its schedule.") % {"name": item.name}
    return data, ""


def _steps_start(plan: object, today: date, data: QueryDict | None) -> date:
    """The day a step from the catalogue or a template starts (its dated schedule and course
    count from it): the day the new revision takes effect (the plan's start, or today in the
    patient's zone if later), or a new plan's start as posted."""
    if plan is not None:
        return max(today, plan.starts_on)
    try:
        return date.fromisoformat(str((data or {}).get("starts_on", "")))
    except ValueError:
        return today


def _row_keys(data: QueryDict, index: int) -> list[str]:
    prefix = f"items-{index}-"
    return [key for key in data if key.startswith(prefix)]


def _moved(data: QueryDict, total: int) -> QueryDict:
    """Swap a row with its neighbour in the same routine group (value "<row>:up|down")."""
    index_text, _sep, direction = str(data["move"]).partition(":")
    index = _int_or_none(index_text)
    if index is None or index >= total or direction not in ("up", "down"):
        return data

    def group(i: int) -> str:
        return routine_group(time_of_day=data.get(f"items-{i}-time_of_day"),
                             frequency=data.get(f"items-{i}-frequency"),
                             name=data.get(f"items-{i}-name"))

    same = [i for i in range(total) if group(i) == group(index)]
    place = same.index(index)
    other = place - 1 if direction == "up" else place + 1
    if not 0 <= other < len(same):
        return data
    neighbour = same[other]
    data = data.copy()
    rows = {i: {key.split("-", 2)[2]: data.getlist(key) for key in _row_keys(data, i)}
            for i in (index, neighbour)}
    for i in (index, neighbour):
        for key in _row_keys(data, i):
            del data[key]
    for i, j in ((index, neighbour), (neighbour, index)):
        for name, values in rows[j].items():
            data.setlist(f"items-{i}-{name}", values)
    return data


def _set_row(data: QueryDict, index: int, values: dict) -> None:
    for name, value in values.items():
        key = f"items-{index}-{name}"
        if isinstance(value, bool):
            if value:
                data[key] = "on"
            elif key in data:
                del data[key]
        elif isinstance(value, list | tuple):
            data.setlist(key, [str(v) for v in value])
        else:
            data[key] = "" if value is None else str(value)


def _swapped(user: User, data: QueryDict, total: int) -> tuple[QueryDict, str]:
    index = _int_or_none(data["swap"])
    if index is None or index >= total:
        return data, ""
    offer = generic_offers(user, [(
        _int_or_none(data.get(f"items-{index}-catalogue_item")),
        data.get(f"items-{index}-name", ""))])[0]
    if offer is None:
        return data, ""
    data = data.copy()
    values = generic_values(offer.generic)
    if data.get(f"items-{index}-instructions", "").strip() in ("", offer.item.instructions):
        values["instructions"] = offer.generic.instructions
    _set_row(data, index, values)
    return data, _swap_notice(offer)


def _swap_notice(offer: GenericOffer) -> str:
    return _("Swapped %(item)s for the generic %(generic)s: saves %(saving)s a month.") % {
        "item": offer.item.name, "generic": offer.generic.name,
        "saving": money(offer.saving, offer.item.clinic.currency)}


def _swap_initial(user: User, initial: list[dict], swap_key: str) -> str:
    """GET ``?swap=<step key>``: the step's row already swapped for its generic."""
    for row in initial:
        if str(row.get("key")) == swap_key:
            offer = generic_offers(user, [(None, row["name"])])[0]
            if offer is None:
                return ""
            values = generic_values(offer.generic)
            if row.get("instructions", "").strip() in ("", offer.item.instructions):
                values["instructions"] = offer.generic.instructions
            row.update(values)
            return _swap_notice(offer)
    return ""


def _unsaved_item(row: dict) -> PlanItem:
    return PlanItem(key=row["key"], **{
        f: "".join(row[f]) if f == "weekdays" else row.get(f) for f in ITEM_FIELDS})
