"""Clinician workspace: patient list, patient page, profile and plan editing, concern replies.

Every patient is reached through ``patient_record_for_clinician`` (scoped to the clinic and
audited); edits additionally require the dermatologist role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.decorators import clinician_required
from accounts.models import AuditEvent, Patient
from accounts.selectors import membership_of, patient_record_for_clinician, role_of
from careplans import selectors as plans
from careplans.forms import (
    ROUTINE_GROUPS,
    ConcernReplyForm,
    FitAcceptanceForm,
    PlanItemForm,
    PlanItemFormSet,
    PlanMetaForm,
    ProfileForm,
    item_initial,
    routine_group,
)
from careplans.models import MAX_PLAN_ITEMS, PlanItem
from careplans.services import ITEM_FIELDS, PlanChangedError, concern_reply, plan_revise
from careplans.templatetags.careplans_tags import money
from careplans.views import plan_context
from careplans.visits import next_visit_for, visit_record, visits_of
from catalogue.models import RegimenTemplate
from catalogue.selectors import (
    GenericOffer,
    catalogue_item_draft,
    catalogue_item_for,
    catalogue_search,
    draft_values,
    generic_offers,
    generic_values,
    template_for,
    template_plan_items,
    template_step_values,
    templates_for,
)
from checkins.charts import history_context
from flags import selectors as flags
from reminders.services import recent_deliveries

from .forms import VisitForm
from .selectors import (
    SCOPE_ALL,
    SCOPE_MINE,
    at_risk_panel,
    patient_list_page,
)

DEFAULT_PLAN_WEEKS = 12
DERMATOLOGIST_ONLY = ("dermatologist",)


@clinician_required
def patient_list(request: HttpRequest) -> HttpResponse:
    is_derm = role_of(request.user) == "dermatologist"
    scope = request.GET.get("scope", SCOPE_MINE if is_derm else SCOPE_ALL)
    # No name holds a NUL, and PostgreSQL refuses one in a query: drop it rather than fail.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    page = patient_list_page(request.user, scope=scope, query=query,
                             number=request.GET.get("page"), today=_clinic_today(request))
    return render(request, "clinic/patient_list.html", {
        "page": page, "query": query, "scope": scope, "is_derm": is_derm,
        # What needs the dermatologist comes first, whatever the search shows.
        "at_risk": at_risk_panel(request.user) if is_derm else None,
    })


@clinician_required
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = patient_record_for_clinician(user=request.user, patient_id=patient_id)
    return _patient_page(request, patient)


def _patient_page(request: HttpRequest, patient: Patient, *, visit_form: VisitForm | None = None,
                  status: int = 200) -> HttpResponse:
    context = plan_context(patient)  # reads the patient's today once: context["today"]
    context.update(history_context(patient, audience="clinician", today=context["today"]),
                   deliveries=recent_deliveries(patient, today=context["today"]))
    can_edit = role_of(request.user) == "dermatologist"
    context.update(can_edit=can_edit, reply_form=ConcernReplyForm(),
                   open_flags=flags.open_flags_of(patient),
                   templates=list(templates_for(request.user).filter(active=True).order_by(
                       "name")) if can_edit else [])
    if can_edit and context["revision"]:
        steps = list(context["items"])
        offers = generic_offers(request.user, [(None, step.name) for step in steps])
        context["generic_swaps"] = [(step, offer) for step, offer in zip(steps, offers,
                                                                         strict=True) if offer]
    clinic_today = _clinic_today(request)
    context.update(
        next_visit=next_visit_for(patient, revision=context["revision"], today=clinic_today),
        visits=visits_of(patient),
        visit_form=visit_form or VisitForm(today=clinic_today),
    )
    return render(request, "clinic/patient_detail.html", context, status=status)


def _clinic_today(request: HttpRequest) -> date:
    """Today in the viewer's clinic's zone (a clock read, for views only)."""
    return timezone.localdate(timezone=membership_of(request.user).clinic.zone)


@clinician_required
def visit_record_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    """POST: record that the patient was seen. The clinic's dermatologists and staff may; anyone
    else gets a 404 (audited as denied). A bad date re-shows the patient page with the reason,
    nothing saved."""
    patient = patient_record_for_clinician(
        user=request.user, patient_id=patient_id, object_type="clinic_visit",
        action=AuditEvent.Action.CHANGE if request.method == "POST" else AuditEvent.Action.VIEW)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    today = _clinic_today(request)
    form = VisitForm(request.POST, today=today)
    if not form.is_valid():
        return _patient_page(request, patient, visit_form=form, status=400)
    visit_record(patient=patient, recorded_by=request.user,
                 happened_on=form.cleaned_data["happened_on"], note=form.cleaned_data["note"],
                 now=timezone.now(), today=today)
    messages.success(request, _("Visit of %(day)s recorded.")
                     % {"day": date_format(form.cleaned_data["happened_on"], "j M Y")})
    return redirect("patient_detail", patient_id=patient.pk)


@clinician_required
def plan_history(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = patient_record_for_clinician(
        user=request.user, patient_id=patient_id, object_type="plan_history"
    )
    context = plan_context(patient)
    context["history"] = (
        plans.revision_history(context["plan"], currency=context["profile"].currency)
        if context["plan"] else []
    )
    return render(request, "clinic/plan_history.html", context)


@clinician_required
def profile_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _for_dermatologist(request, patient_id, "patient_profile")
    form = ProfileForm(request.POST or None, instance=plans.profile_for(patient), patient=patient,
                       for_patient=False)
    if request.method == "POST" and form.is_valid():
        form.save_for(request.user)
        messages.success(request, _("Profile saved."))
        return redirect("patient_detail", patient_id=patient.pk)
    return render(request, "careplans/profile_form.html", {"form": form, "patient": patient})


@clinician_required
def concern_reply_view(request: HttpRequest, patient_id: int, concern_id: int) -> HttpResponse:
    patient = _for_dermatologist(request, patient_id, "concern")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    concern = get_object_or_404(patient.concerns, pk=concern_id)
    form = ConcernReplyForm(request.POST)
    if form.is_valid():
        concern_reply(concern=concern, author=request.user, reply=form.cleaned_data["reply"],
                      now=timezone.now())
        messages.success(request, _("Your answer is on the patient's plan page."))
    else:
        messages.error(request, _("Write an answer of at least two characters."))
    return redirect("patient_detail", patient_id=patient.pk)


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


def _plan_editor(request: HttpRequest, patient: Patient, now: datetime,
                 template: RegimenTemplate | None = None, swap_key: str = "") -> PlanEditor:
    """The editor's forms; ``template`` (on a GET) fills the steps from a regimen template
    instead of the current revision; ``swap_key`` (on a GET) opens it with that step already
    swapped for its generic. A POST's own actions (move, swap, add from the catalogue) change
    the posted rows before they are bound: the editor re-renders, nothing is saved."""
    plan = plans.plan_of(patient)
    revision = plans.current_revision(plan)
    today = patient.local_date(now)
    data = request.POST if request.method == "POST" else None
    notice = ""
    if data is not None:
        data, notice = _edited_rows(request, data, _steps_start(plan, today, data))
    meta = PlanMetaForm(
        data, patient=patient, plan_starts_on=plan.starts_on if plan else None, today=today,
        initial={
            "base_number": plan.current_number if plan else 0,
            "reviews_on": revision.reviews_on if revision and revision.reviews_on > today
            else today + timedelta(weeks=DEFAULT_PLAN_WEEKS),
            "starts_on": today,
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
        notice = _swap_initial(request, initial, swap_key)
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
    _lay_out_rows(request, editor)
    if data is not None and (data.get("catalogue_q") or "").strip():
        editor.search_query = data["catalogue_q"].replace("\x00", "").strip()[:100]
        editor.search_results = list(catalogue_search(request.user,
                                                      query=editor.search_query)[:8])
    return editor


def _lay_out_rows(request: HttpRequest, editor: PlanEditor) -> None:
    """Rows in routine groups, numbered as listed; incomplete rows named for the fit panel."""
    forms = editor.items.in_routine_order()
    offers = generic_offers(request.user, [
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


def _edited_rows(request: HttpRequest, data: QueryDict, steps_start: date
                 ) -> tuple[QueryDict, str]:
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
        return _swapped(request, data, total)
    elif "add_item" in data and total < MAX_PLAN_ITEMS:
        item_id = _int_or_none(data["add_item"])
        if item_id is None:
            return data, ""
        item = catalogue_item_for(request.user, item_id)
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


def _swapped(request: HttpRequest, data: QueryDict, total: int) -> tuple[QueryDict, str]:
    index = _int_or_none(data["swap"])
    if index is None or index >= total:
        return data, ""
    offer = generic_offers(request.user, [(
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


def _swap_initial(request: HttpRequest, initial: list[dict], swap_key: str) -> str:
    """GET ``?swap=<step key>``: the step's row already swapped for its generic."""
    for row in initial:
        if str(row.get("key")) == swap_key:
            offer = generic_offers(request.user, [(None, row["name"])])[0]
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


@clinician_required
def plan_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _for_dermatologist(request, patient_id, "care_plan")
    now = timezone.now()
    # "Start from a template" (the patient page's links): the template's steps, to tailor.
    template = template_for(request.user, _int_or_404(request.GET["template"])) \
        if request.method == "GET" and "template" in request.GET else None
    swap_key = request.GET.get("swap", "")[:40] if request.method == "GET" else ""
    editor = _plan_editor(request, patient, now, template=template, swap_key=swap_key)
    if request.method == "POST" and request.POST.get("action") == "save" and editor.valid:
        try:
            revision = plan_revise(
                patient=patient, author=request.user,
                base_number=editor.meta.cleaned_data["base_number"],
                starts_on=editor.meta.start(),
                reviews_on=editor.meta.cleaned_data["reviews_on"],
                reason=editor.meta.cleaned_data["reason"],
                now=now,
                items=editor.items.drafts(),
                accepted=editor.acceptance.accepted(),
                resolve_concern_ids=[
                    c.pk for c in editor.meta.cleaned_data.get("resolve_concerns", [])
                ],
            )
        except PlanChangedError as conflict:
            editor.meta.add_error(None, str(conflict))
        else:
            messages.success(request, _("Saved revision %(number)s. The patient can see it.")
                             % {"number": revision.number})
            return redirect("patient_detail", patient_id=patient.pk)
    if request.method == "POST" and request.POST.get("action") != "save":
        # Moving, swapping, adding or checking: the reason is asked for when saving, not now.
        editor.meta.errors.pop("reason", None)
    context = {**plan_context(patient), "editor": editor, "template": template}
    return render(request, "clinic/plan_edit.html", context)


def _int_or_404(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise Http404
    return int(value)


@clinician_required
def plan_fit(request: HttpRequest, patient_id: int) -> HttpResponse:
    """htmx: the fit panel for the editor's current (unsaved) contents."""
    patient = _for_dermatologist(request, patient_id, "care_plan")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    editor = _plan_editor(request, patient, timezone.now())
    return render(request, "clinic/_editor_live.html", {"editor": editor, "patient": patient})


def _for_dermatologist(request: HttpRequest, patient_id: int, object_type: str) -> Patient:
    """Dermatologists of the clinic change plans; anyone else gets a 404 (audited as denied)."""
    return patient_record_for_clinician(
        user=request.user, patient_id=patient_id, roles=DERMATOLOGIST_ONLY,
        object_type=object_type,
        action=AuditEvent.Action.CHANGE if request.method == "POST" else AuditEvent.Action.VIEW,
    )
