"""The review queue, the flag page and its four actions, and the patient's clinic messages.

Every flag is reached through ``flag_for_clinician`` (the clinic's scope, audited; 404
otherwise) and every change goes through ``flags.services``. Actions are plain POST forms that
redirect back with a message; with htmx they answer with the page's "work" section instead
(``flags/_work.html``), so the page still works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.caregiving import caregiver_labels, done_by
from accounts.decorators import clinician_required
from accounts.models import AuditEvent, User
from accounts.selectors import membership_of, role_of
from careplans.selectors import open_concerns
from careplans.views import plan_context
from checkins.charts import recent_rows, rows_logged_by
from checkins.selectors import recent_checkins

from . import selectors
from .charts import evidence_charts
from .forms import AssignForm, EscalateForm, OutreachForm, QueueFilterForm, ResolveForm
from .models import Flag, State
from .services import FlagStateError, flag_acknowledge, flag_escalate, flag_resolve, outreach_log

RECENT_CHECKINS = 14
RESOLVED_REFUSAL = gettext_lazy("This flag is already resolved, so nothing was changed.")


# --- The queue -------------------------------------------------------------------------------

@clinician_required
def flagged_patients(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(_queue_data(request), user=request.user)
    form.is_valid()  # invalid filters show their error and fall back to the default
    filters = form.filters()
    counts = selectors.flag_state_counts(request.user, filters)
    page = selectors.flag_queue_page(request.user, filters, request.GET.get("page"), counts)
    return render(request, "flags/queue.html", {
        "form": form, "page": page, "filters": filters,
        "state_counts": [(value, label, counts.counts[value]) for value, label in State.choices],
        "clinic_timezone": _clinic_timezone(request.user),
    })


def _queue_data(request: HttpRequest) -> dict[str, str]:
    """The GET filters over the role's defaults: a dermatologist starts with their own
    patients, and choosing "Any dermatologist" (an empty value) overrides that."""
    defaults = {"state": selectors.QUEUE_OPEN}
    if role_of(request.user) == "dermatologist":
        defaults["dermatologist"] = str(request.user.pk)
    return {**defaults, **request.GET.dict()}


def _clinic_timezone(user: User) -> ZoneInfo:
    membership = membership_of(user)
    return membership.clinic.zone if membership else ZoneInfo("UTC")


# --- The flag page ---------------------------------------------------------------------------

@clinician_required
def flag_detail(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = selectors.flag_for_clinician(user=request.user, flag_id=flag_id)
    return _render_page(request, flag)


def _render_page(request: HttpRequest, flag: Flag, **work: Any) -> HttpResponse:
    patient = flag.patient
    # Who logged what for the patient: "logged by Mum" (one query for the page's labels).
    labels = caregiver_labels([patient.pk])
    concerns = list(open_concerns(patient))
    for concern in concerns:
        concern.logged_by = done_by(labels, patient=patient, user_id=concern.raised_by_id)
    context = {
        **plan_context(patient),
        "evidence": flag.evidence,
        "charts": evidence_charts(flag),
        "evidence_checkins": rows_logged_by(recent_rows(selectors.evidence_checkins(flag)),
                                            patient=patient, labels=labels),
        "evidence_messages": [(message, reverse("clinic_thread", args=[message.thread_id]))
                              for message in selectors.evidence_messages(flag)],
        "recent": rows_logged_by(recent_rows(recent_checkins(patient, limit=RECENT_CHECKINS)),
                                 patient=patient, labels=labels),
        "open_concerns": concerns,
        **_work_context(request, flag, **work),
    }
    return render(request, "flags/flag_detail.html", context)


def _work_context(
    request: HttpRequest, flag: Flag, *, bound: forms.Form | None = None, action: str = "",
    notice: str = "", notice_error: bool = False,
) -> dict[str, Any]:
    """The part of the page an action changes: state, forms, history and outreach log."""
    user = request.user
    forms_by_action = {
        name: bound if name == action and bound is not None else spec.form(
            prefix=name, user=user, **spec.initial(flag, user))
        for name, spec in ACTIONS.items()
    }
    return {
        "flag": flag, "forms": forms_by_action, "events": selectors.flag_history(flag),
        "outreach": selectors.flag_outreach(flag), "notice": notice,
        "flag_threads": [(thread, reverse("clinic_thread", args=[thread.pk]))
                         for thread in selectors.threads_started_by(flag)],
        "notice_error": notice_error or bound is not None,
        "clinic_timezone": _clinic_timezone(user),
    }


# --- Actions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    form: type[forms.Form]
    # (flag, actor, form data, now) -> the message shown after
    perform: Callable[[Flag, User, dict[str, Any], datetime], str]
    initial: Callable[[Flag, User], dict[str, Any]] = lambda flag, user: {}


def _acknowledge(flag: Flag, user: User, data: dict[str, Any], now: datetime) -> str:
    was_new = flag.state == State.NEW
    flag_acknowledge(flag=flag, actor=user, assignee=data["assignee"], now=now)
    if data["assignee"] == user:
        return _("Acknowledged and assigned to you.") if was_new else _("Assigned to you.")
    who = {"name": data["assignee"].display_name}
    return (_("Acknowledged and assigned to %(name)s.") % who if was_new
            else _("Assigned to %(name)s.") % who)


def _outreach(flag: Flag, user: User, data: dict[str, Any], now: datetime) -> str:
    outreach_log(flag=flag, actor=user, channel=data["channel"], outcome=data["outcome"],
                 note=data["note"], message_to_patient=data["message_to_patient"].strip(),
                 now=now)
    if data["message_to_patient"].strip():
        return _("Outreach logged. The patient can read your message in the portal and "
                 "answer it.")
    return _("Outreach logged.")


def _escalate(flag: Flag, user: User, data: dict[str, Any], now: datetime) -> str:
    flag_escalate(flag=flag, actor=user, note=data["note"], now=now)
    name = flag.patient.dermatologist.display_name
    return _("Escalated to %(name)s. It is at the top of their “My patients” page.") % {
        "name": name}


def _resolve(flag: Flag, user: User, data: dict[str, Any], now: datetime) -> str:
    flag_resolve(flag=flag, actor=user, resolution=data["resolution"], note=data["note"],
                 now=now)
    return _("Resolved: %(resolution)s.") % {"resolution": flag.get_resolution_display()}


ACTIONS: dict[str, Action] = {
    "acknowledge": Action(AssignForm, _acknowledge,
                          lambda flag, user: {"initial": {
                              "assignee": flag.assigned_to_id or user.pk}}),
    "outreach": Action(OutreachForm, _outreach),
    "escalate": Action(EscalateForm, _escalate),
    "resolve": Action(ResolveForm, _resolve),
}


def _act(request: HttpRequest, flag_id: int, action: str) -> HttpResponse:
    # Scope first (audited), so outsiders get the same 404 whatever the method.
    flag = selectors.flag_for_clinician(user=request.user, flag_id=flag_id,
                                        action=AuditEvent.Action.CHANGE)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not flag.is_open:
        return _answer(request, flag, str(RESOLVED_REFUSAL), error=True)
    spec = ACTIONS[action]
    form = spec.form(request.POST, prefix=action, user=request.user)
    if not form.is_valid():
        return _invalid(request, flag, action, form)
    try:
        with transaction.atomic():
            done = spec.perform(_locked(flag), request.user, form.cleaned_data, timezone.now())
    except FlagStateError as refusal:
        return _answer(request, flag, str(refusal), error=True)
    return _answer(request, flag, done)


def _locked(flag: Flag) -> Flag:
    """The flag re-read under its row lock, so two people acting at once are serialised and
    the second sees the first one's change (e.g. resolving an already resolved flag is
    refused, not written over). The patient stays the one read through the audited scope."""
    locked = Flag.objects.select_for_update(of=("self",)).select_related("assigned_to").get(
        pk=flag.pk)
    locked.patient = flag.patient
    if not locked.is_open:
        raise FlagStateError(str(RESOLVED_REFUSAL))
    return locked


def _invalid(request: HttpRequest, flag: Flag, action: str, form: forms.Form) -> HttpResponse:
    notice = _("Nothing was saved. Check the form below.")
    if request.htmx:
        return _render_work(request, flag, bound=form, action=action, notice=notice)
    return _render_page(request, flag, bound=form, action=action, notice=notice)


def _answer(request: HttpRequest, flag: Flag, text: str, *, error: bool = False) -> HttpResponse:
    """Post/redirect/get with a message; for htmx, the refreshed work section."""
    if request.htmx:
        fresh = Flag.objects.select_related("assigned_to").get(pk=flag.pk)
        fresh.patient = flag.patient
        return _render_work(request, fresh, notice=text, notice_error=error)
    (messages.error if error else messages.success)(request, text)
    return redirect("flag_detail", flag_id=flag.pk)


def _render_work(request: HttpRequest, flag: Flag, **work: Any) -> HttpResponse:
    return render(request, "flags/_work.html", _work_context(request, flag, **work))


@clinician_required
def flag_acknowledge_view(request: HttpRequest, flag_id: int) -> HttpResponse:
    return _act(request, flag_id, "acknowledge")


@clinician_required
def flag_outreach_view(request: HttpRequest, flag_id: int) -> HttpResponse:
    return _act(request, flag_id, "outreach")


@clinician_required
def flag_escalate_view(request: HttpRequest, flag_id: int) -> HttpResponse:
    return _act(request, flag_id, "escalate")


@clinician_required
def flag_resolve_view(request: HttpRequest, flag_id: int) -> HttpResponse:
    return _act(request, flag_id, "resolve")
