"""Clinician workspace: patient list, patient page, profile and plan editing, concern replies.

Every patient is reached through ``patient_record_for_clinician`` (scoped to the clinic and
audited); edits additionally require the dermatologist role.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.caregiving import caregiver_labels, done_by
from accounts.decorators import clinician_required
from accounts.models import AuditEvent, Patient
from accounts.selectors import membership_of, patient_record_for_clinician, role_of
from accounts.services import (
    caregiver_invite,
    caregiver_link_end,
    patient_birth_date_set,
    patient_login_give,
)
from careplans import selectors as plans
from careplans.forms import (
    ConcernReplyForm,
    ProfileForm,
)
from careplans.services import PlanChangedError, concern_reply, plan_revise
from careplans.views import plan_context
from careplans.visits import next_visit_for, visit_record, visits_of
from catalogue.selectors import (
    generic_offers,
    template_for,
    templates_for,
)
from checkins.charts import history_context, rows_logged_by
from flags import selectors as flags
from messaging.selectors import threads_of_patient_for_clinic
from photos.selectors import photo_summary
from reminders.services import recent_deliveries

from .family import family_card
from .forms import (
    BirthDateForm,
    CaregiverInviteForm,
    ClinicMessageForm,
    PatientLoginForm,
    VisitForm,
)
from .plan_editor import plan_editor
from .selectors import (
    SCOPE_ALL,
    SCOPE_MINE,
    at_risk_panel,
    patient_list_page,
)

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
                  message_form: ClinicMessageForm | None = None,
                  birth_form: BirthDateForm | None = None,
                  caregiver_form: CaregiverInviteForm | None = None,
                  login_form: PatientLoginForm | None = None,
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
        photo_summary=photo_summary(patient),
        # Each conversation with its last message (prefetched: no query per thread).
        threads=[(thread, list(thread.messages.all())[-1])
                 for thread in threads_of_patient_for_clinic(patient)],
        message_form=message_form or ClinicMessageForm(),
        family=family_card(patient, now=timezone.now()),
        birth_form=birth_form or BirthDateForm(
            initial={"date_of_birth": patient.date_of_birth}, today=context["today"]),
        caregiver_form=caregiver_form or CaregiverInviteForm(),
        login_form=login_form or PatientLoginForm(),
    )
    # Who did what for the patient: "logged by Mum" (one query for the page's labels).
    labels = caregiver_labels([patient.pk])
    if context["charts"].recent:
        context["charts"] = replace(context["charts"], recent=rows_logged_by(
            context["charts"].recent, patient=patient, labels=labels))
    context["concerns"] = list(context["concerns"] or [])
    for concern in context["concerns"]:
        concern.logged_by = done_by(labels, patient=patient, user_id=concern.raised_by_id)
    context["threads"] = [
        (thread, last, done_by(labels, patient=patient, user_id=last.author_id)
         if not last.from_clinic else None) for thread, last in context["threads"]]
    return render(request, "clinic/patient_detail.html", context, status=status)


@clinician_required
def birth_date_set_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    """POST: the clinic's dermatologists and staff record or correct the date of birth."""
    patient = _family_door(request, patient_id, "patient_date_of_birth")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = BirthDateForm(request.POST, today=patient.local_today())
    if not form.is_valid():
        return _patient_page(request, patient, birth_form=form, status=400)
    patient_birth_date_set(patient=patient, date_of_birth=form.cleaned_data["date_of_birth"],
                           changed_by=request.user)
    messages.success(request, _("Date of birth saved."))
    return redirect(reverse("patient_detail", args=[patient.pk]) + "#family")


@clinician_required
def caregiver_invite_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    """POST: invite a parent, guardian or other caregiver for the patient. The same answer
    whether or not the address already had an account."""
    patient = _family_door(request, patient_id, "caregiver_link")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CaregiverInviteForm(request.POST)
    if not form.is_valid():
        return _patient_page(request, patient, caregiver_form=form, status=400)
    data = form.cleaned_data
    caregiver_invite(invited_by=request.user, patient=patient, email=data["email"],
                     first_name=data["first_name"], last_name=data["last_name"],
                     relationship=data["relationship"], called=data["called"],
                     now=timezone.now())
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": data["email"]})
    return redirect(reverse("patient_detail", args=[patient.pk]) + "#family")


@clinician_required
def patient_login_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    """POST: give a patient without a login of their own (a young child grown older) their
    own sign-in; the same answer whether or not the address already had an account."""
    patient = _family_door(request, patient_id, "patient_login")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = PatientLoginForm(request.POST)
    if patient.user.has_mailbox:
        raise Http404
    if not form.is_valid():
        return _patient_page(request, patient, login_form=form, status=400)
    patient_login_give(patient=patient, email=form.cleaned_data["email"], by=request.user)
    messages.success(request, _("Invitation sent to %(email)s.") % {
        "email": form.cleaned_data["email"]})
    return redirect(reverse("patient_detail", args=[patient.pk]) + "#family")


@clinician_required
def caregiver_end_view(request: HttpRequest, patient_id: int, link_id: int) -> HttpResponse:
    """POST: end a caregiver's access to the patient; their sessions lose it at their next
    request. A link of another patient (or clinic) is a 404."""
    patient = _family_door(request, patient_id, "caregiver_link", object_id=str(link_id))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    link = get_object_or_404(patient.caregiver_links.select_related("caregiver"), pk=link_id)
    caregiver_link_end(link=link, ended_by=request.user, now=timezone.now())
    messages.success(request, _("%(name)s can no longer act for %(patient)s.") % {
        "name": link.caregiver.display_name, "patient": patient.user.display_name})
    return redirect(reverse("patient_detail", args=[patient.pk]) + "#family")


def _family_door(request: HttpRequest, patient_id: int, object_type: str,
                 object_id: str = "") -> Patient:
    """The clinic's dermatologists and staff change a patient's family details (scoped and
    audited; the views then accept POST only)."""
    patient = patient_record_for_clinician(
        user=request.user, patient_id=patient_id, object_type=object_type, object_id=object_id,
        action=AuditEvent.Action.CHANGE if request.method == "POST" else AuditEvent.Action.VIEW)
    return patient


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


@clinician_required
def plan_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _for_dermatologist(request, patient_id, "care_plan")
    now = timezone.now()
    # "Start from a template" (the patient page's links): the template's steps, to tailor.
    template = template_for(request.user, _int_or_404(request.GET["template"])) \
        if request.method == "GET" and "template" in request.GET else None
    swap_key = request.GET.get("swap", "")[:40] if request.method == "GET" else ""
    editor = plan_editor(user=request.user, patient=patient, now=now, template=template,
                         swap_key=swap_key,
                         data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and request.POST.get("action") == "save" and editor.valid:
        try:
            revision = plan_revise(
                patient=patient, author=request.user,
                base_number=editor.meta.cleaned_data["base_number"],
                starts_on=editor.meta.start(),
                reviews_on=editor.meta.cleaned_data["reviews_on"],
                reason=editor.meta.cleaned_data["reason"],
                photo_every_weeks=editor.meta.cleaned_data.get("photo_every_weeks"),
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
    editor = plan_editor(user=request.user, patient=patient, data=request.POST,
                         now=timezone.now())
    return render(request, "clinic/_editor_live.html", {"editor": editor, "patient": patient})


def _for_dermatologist(request: HttpRequest, patient_id: int, object_type: str) -> Patient:
    """Dermatologists of the clinic change plans; anyone else gets a 404 (audited as denied)."""
    return patient_record_for_clinician(
        user=request.user, patient_id=patient_id, roles=DERMATOLOGIST_ONLY,
        object_type=object_type,
        action=AuditEvent.Action.CHANGE if request.method == "POST" else AuditEvent.Action.VIEW,
    )
