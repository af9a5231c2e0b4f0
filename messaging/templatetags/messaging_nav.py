"""The patient navigation's unread count ("Messages (2)"): one query, on patient pages only."""

from __future__ import annotations

from django import template

from accounts.selectors import patient_of

from ..selectors import unread_count_for_patient

register = template.Library()


@register.inclusion_tag("messaging/_unread_badge.html", takes_context=True)
def unread_messages_badge(context: template.Context) -> dict[str, int]:
    user = context["request"].user
    patient = patient_of(user)
    return {"unread_count": unread_count_for_patient(patient, viewer=user) if patient else 0}
