"""``{% acting_for_field %}``: every patient-page form names whom it was filled in for."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from accounts.caregiving import ACTING_FOR_FIELD

register = template.Library()


@register.simple_tag(takes_context=True)
def acting_for_field(context: template.Context) -> str:
    """A hidden field with the patient a caregiver is acting for (nothing for anyone else), so
    a form left open for one child cannot be saved into a sibling's record after a switch in
    another tab (``accounts.decorators.caregiver_gate``)."""
    request = context.get("request")
    acting = getattr(getattr(request, "user", None), "acting_for", None)
    if acting is None:
        return ""
    return format_html('<input type="hidden" name="{}" value="{}">', ACTING_FOR_FIELD,
                       acting.patient.pk)
