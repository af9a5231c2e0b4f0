"""Every page shows times in the zone it names: the patient's own zone on patient pages, the
clinic's zone on clinic pages.

One mechanism for every template: the middleware activates the viewer's zone for the request,
so ``|date``, ``|time`` and ``{{ instant }}`` convert aware datetimes to it (Django converts to
the *current* zone when rendering, whatever zone a view localised them to).
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.models import User
from accounts.selectors import membership_of, patient_of


def viewer_zone(user: User) -> ZoneInfo | None:
    """The zone a user's pages are shown in: a patient's own, a clinic member's clinic's.
    None for anyone else (anonymous visitors, administrators without a clinic)."""
    patient = patient_of(user)
    if patient is not None:
        return patient.zone
    membership = membership_of(user)
    if membership is not None:
        return membership.clinic.zone  # UTC while the stored name is not a zone
    return None


class ViewerTimezoneMiddleware:
    """Renders each signed-in request in its viewer's zone (after authentication, and after the
    session checks that may sign the user out)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = membership_of(request.user)
        # base.html says so when a clinic's stored zone is not a zone and times show in UTC.
        request.clinic_zone_unknown = membership is not None and not membership.clinic.zone_is_known
        zone = viewer_zone(request.user)
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
