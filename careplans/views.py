"""The patient's own plan pages. Every object is reached through the logged-in patient."""

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.decorators import patient_required
from accounts.selectors import patient_of

from . import selectors, services
from .forms import ConcernForm, ProfileForm
from .visits import next_visit_for


def plan_context(patient: object) -> dict:
    """What both the patient's and the clinician's plan views show."""
    profile = selectors.profile_for(patient)
    plan = selectors.plan_of(patient)
    revision = selectors.current_revision(plan)
    items = list(revision.items.all()) if revision else []
    return {
        "patient": patient,
        "profile": profile,
        "plan": plan,
        "revision": revision,
        "items": items,
        "fit": selectors.fit_report(patient, items) if revision else None,
        "concerns": selectors.concerns_of(patient),
        "today": patient.local_today(),
    }


@patient_required
def my_plan(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    context = plan_context(patient)
    today = context["today"]
    _, steps = selectors.steps_due_on(patient, today)
    # The plan's routine for today: a dose late in its window is the Today page's to ask (it
    # knows whether it was logged); this page lists what the plan puts on today.
    steps = [step for step in steps if not step.late]
    history = (
        selectors.revision_history(context["plan"], currency=context["profile"].currency)[:1]
        if context["plan"] else []
    )
    context.update(today=today, steps=steps, latest_change=history[0] if history else None,
                   next_visit=next_visit_for(patient, revision=context["revision"], today=today))
    return render(request, "careplans/my_plan.html", context)


@patient_required
def my_plan_history(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    context = plan_context(patient)
    context["history"] = (
        selectors.revision_history(context["plan"], currency=context["profile"].currency)
        if context["plan"] else []
    )
    return render(request, "careplans/history.html", context)


@patient_required
def raise_concern(request: HttpRequest, item_key: UUID) -> HttpResponse:
    patient = patient_of(request.user)
    revision = selectors.current_revision(selectors.plan_of(patient))
    item = next((i for i in revision.items.all() if i.key == item_key), None) if revision else None
    if item is None:
        raise Http404
    form = ConcernForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.concern_raise(
            patient=patient, revision=revision, item=item,
            category=form.cleaned_data["category"], text=form.cleaned_data["text"],
            raised_by=request.user,
        )
        messages.success(request, _("Thank you. Your dermatologist will see your concern."))
        return redirect("my_plan")
    return render(request, "careplans/raise_concern.html", {"form": form, "item": item})


@patient_required
def my_profile(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    profile = selectors.profile_for(patient)
    form = ProfileForm(request.POST or None, instance=profile, patient=patient, for_patient=True)
    if request.method == "POST" and form.is_valid():
        form.save_for(request.user)
        messages.success(request, _("Saved. Your dermatologist will see this."))
        return redirect("my_plan")
    return render(request, "careplans/profile_form.html", {"form": form, "for_patient": True})

