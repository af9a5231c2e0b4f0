"""A caregiver's own pages: whom they act for, and switching between them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone

from .caregiving import access_for, accesses_of
from .middleware import ACTING_FOR_SESSION_KEY
from .selectors import own_patient_of


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
