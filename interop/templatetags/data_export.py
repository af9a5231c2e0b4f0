"""``{% data_export_section %}``: the Account page's "Download my data" section (the Account page
is allauth's view, extended in ``templates/account/email.html``)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from accounts.caregiving import Section
from accounts.selectors import patient_of

register = template.Library()


@register.inclusion_tag("interop/_account_section.html", takes_context=True)
def data_export_section(context: template.Context) -> dict:
    """Shown to a patient, and to a caregiver acting for someone whose tier opens the download
    (a young child's); to nobody else (a teenager's caregiver, the clinic's people)."""
    from interop.account_views import export_state

    request = context["request"]
    patient = patient_of(request.user)
    acting = getattr(request.user, "acting_for", None)
    if patient is None or (acting is not None and not acting.opens(Section.DATA_EXPORT)):
        return {"shown": False}
    return {"shown": True, "acting": acting, "csrf_token": context.get("csrf_token"),
            "request": request, **export_state(patient, now=timezone.now())}
