"""Caregivers' pages: whom a caregiver acts for (switching between them, or stopping), and the
patient's own "People who help me" (an adult invites, ends and lets back in; a teenager says
yes or not now). The patient's page is never a caregiver's: it is in no caregiver section
(``SECTION_BY_URL_NAME``), so ``role_required`` answers 404 to a caregiver acting for them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services
from .caregiving import (
    Tier,
    access_for,
    accesses_of,
    care_access,
    caregiver_label,
    current_links_of,
    links_of_patient,
    patient_tier,
)
from .decorators import patient_required
from .forms import CaregiverInviteForm
from .middleware import ACTING_FOR_SESSION_KEY
from .selectors import assent_questions, own_patient_of


def _caregiver(request: HttpRequest) -> None:
    if not request.user.is_caregiver:
        raise Http404


@login_required
def caregiver_choose(request: HttpRequest) -> HttpResponse:
    """"Who are you helping today?": each person the caregiver acts for, with what is open."""
    _caregiver(request)
    now = timezone.now()
    return render(request, "accounts/caregiver_choose.html", {
        "accesses": accesses_of(request.user, now=now),
        "own_patient": own_patient_of(request.user),
        "acting": getattr(request.user, "acting_for", None),
    })


@login_required
def caregiver_act(request: HttpRequest) -> HttpResponse:
    """Act for the chosen patient (an open access of this caregiver), or for oneself."""
    _caregiver(request)  # before the method: a page that is not theirs is a 404 to others
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    chosen = request.POST.get("patient", "")
    if chosen == "self" and own_patient_of(request.user) is not None:
        request.session.pop(ACTING_FOR_SESSION_KEY, None)
        return redirect("today")
    if not chosen.isdigit():
        raise Http404
    if access_for(request.user, patient_id=int(chosen), now=timezone.now()) is None:
        raise Http404
    request.session[ACTING_FOR_SESSION_KEY] = int(chosen)
    return redirect("today")


@login_required
def caregiver_stop(request: HttpRequest) -> HttpResponse:
    """The caregiver stops helping one person (ends their own link, at once)."""
    _caregiver(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    chosen = request.POST.get("patient", "")
    link = (current_links_of(request.user).filter(patient_id=int(chosen)).first()
            if chosen.isdigit() and len(chosen) < 19 else None)
    if link is None:
        raise Http404
    services.caregiver_link_end(link=link, ended_by=request.user, now=timezone.now())
    if request.session.get(ACTING_FOR_SESSION_KEY) == link.patient_id:
        request.session.pop(ACTING_FOR_SESSION_KEY, None)
    name = link.patient.user.first_name or link.patient.user.display_name
    messages.success(request, _("You no longer help %(name)s on Alliance Portal.")
                     % {"name": name})
    return redirect("caregiver_choose")


# What "People who help me" may be asked to do, and by whom (the patient's tier today).
ACTIONS_BY_TIER = {
    Tier.ADULT: {"invite", "end", "grant"},
    Tier.TEEN: {"assent_yes", "assent_no"},
    Tier.CHILD: set(),
}


@patient_required
def caregivers_mine(request: HttpRequest) -> HttpResponse:
    """"People who help me": the patient's caregivers, current and ended, with what each sees
    today; an adult invites, ends and lets back in, a teenager says yes or not now."""
    patient = own_patient_of(request.user)
    if patient is None:  # a caregiver acting for someone never gets here (role_required)
        raise Http404
    now = timezone.now()
    tier = patient_tier(patient, today=patient.local_date(now))
    allowed = ACTIONS_BY_TIER[tier]
    form = CaregiverInviteForm(request.POST or None) if "invite" in allowed else None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in allowed:
            return HttpResponseBadRequest(_("That is not something you can do here."))
        if action == "invite":
            if form.is_valid():
                data = form.cleaned_data
                services.caregiver_invite(
                    invited_by=request.user, patient=patient, email=data["email"],
                    first_name=data["first_name"], last_name=data["last_name"],
                    relationship=data["relationship"], called=data["called"], now=now)
                # The same answer whether or not the address could be linked (no account
                # is revealed): ``caregiver_invite`` links nothing to a clinic's address.
                messages.success(request, _("We have emailed %(email)s an invitation.")
                                 % {"email": data["email"]})
                return redirect("caregivers_mine")
            status = 400
        else:
            done = _link_action(request, patient, action, now)
            if done is not None:
                return done
    rows = [care_access(link, now=now) for link in links_of_patient(patient)]
    return render(request, "accounts/caregivers_mine.html", {
        "patient": patient, "tier": tier, "rows": [(row, caregiver_label(row.link))
                                                   for row in rows],
        "questions": {access.link.pk for access in assent_questions(request.user, now=now)},
        "form": form, "can_invite": "invite" in allowed,
    }, status=status)


def _link_action(request: HttpRequest, patient: object, action: str,
                 now: object) -> HttpResponse | None:
    chosen = request.POST.get("link", "")
    link = (links_of_patient(patient).filter(ended_at__isnull=True, pk=int(chosen)).first()
            if chosen.isdigit() and len(chosen) < 19 else None)
    if link is None:
        raise Http404
    label = caregiver_label(link)
    try:
        if action == "end":
            services.caregiver_link_end(link=link, ended_by=request.user, now=now)
            messages.success(request, _("%(name)s no longer sees your record.")
                             % {"name": label})
        elif action == "grant":
            services.caregiver_adult_grant(link=link, now=now)
            messages.success(request, _("%(name)s can help you again.") % {"name": label})
        else:
            given = action == "assent_yes"
            services.caregiver_assent_answer(link=link, given=given, now=now)
            messages.success(request, _("Thank you. %(name)s can keep helping you.")
                             % {"name": label} if given else
                             _("%(name)s will not see your plan, check-ins or reminders for "
                               "now. You can change this here at any time.") % {"name": label})
    except services.CaregiverError as error:
        messages.error(request, str(error))
    nxt = request.POST.get("next", "")
    return redirect("today" if nxt == "today" else "caregivers_mine")
