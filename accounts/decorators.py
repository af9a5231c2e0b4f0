"""View guards. A user outside the required role gets a 404, never a hint that the page exists."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .caregiving import ACTING_FOR_FIELD, caregiver_read_type, section_of_url
from .models import AuditEvent
from .selectors import PortalRole, role_of
from .services import audit_record

View = Callable[..., HttpResponse]


def role_required(*roles: PortalRole) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            role = role_of(request.user)
            if role not in roles:
                raise Http404
            if role == "patient":
                refused = caregiver_gate(request)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# The patient pages a page's own timer polls (with ``X-Background-Poll``): not a read of the
# record by the person, so not audited. Any other page with the header is audited as usual.
BACKGROUND_POLL_URL_NAMES = frozenset({"messages_unread"})


def caregiver_gate(request: HttpRequest) -> HttpResponse | None:
    """A caregiver acting for a patient opens only the sections their tier opens (404 for the
    rest), and each of their requests is an audit event carrying both people: the caregiver as
    actor, the patient as whose record it is. A form filled in for another of their patients
    (a tab left open before switching) is refused, nothing saved."""
    acting = getattr(request.user, "acting_for", None)
    if acting is None:
        return None
    match = request.resolver_match
    section = section_of_url(match.url_name if match else None)
    if section is None or not acting.opens(section):
        raise Http404
    if (match and match.url_name in BACKGROUND_POLL_URL_NAMES and request.method == "GET"
            and request.headers.get("X-Background-Poll") == "1"):
        return None  # the unread badge's poll is not the caregiver reading the record
    reading = request.method in ("GET", "HEAD")
    if not reading:
        filled_for = request.POST.get(ACTING_FOR_FIELD)
        if filled_for is not None and filled_for != str(acting.patient.pk):
            return render(request, "accounts/caregiver_other_person.html",
                          {"acting": acting}, status=409)
    audit_record(
        actor=request.user, patient=acting.patient,
        action=AuditEvent.Action.VIEW if reading else AuditEvent.Action.CHANGE,
        object_type=caregiver_read_type(section), object_id=str(acting.link.pk),
    )
    return None


clinician_required = role_required("dermatologist", "staff")
dermatologist_required = role_required("dermatologist")
patient_required = role_required("patient")
