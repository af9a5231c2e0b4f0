"""The patient pages' frame for a caregiver: the "You are acting for: Mia (8)" bar and which
sections the navigation shows (only those the caregiver's tier opens today)."""

from __future__ import annotations

from django import template

from accounts.caregiving import Section, current_links_of
from accounts.selectors import own_patient_of

register = template.Library()


@register.simple_tag(takes_context=True)
def open_sections(context: template.Context) -> frozenset[str]:
    """The sections the navigation shows: every one to the patient themself, a caregiver's
    tier's while they act for someone (``CareAccess.opens``)."""
    user = context["request"].user
    acting = getattr(user, "acting_for", None)
    if acting is None:
        return frozenset(Section)
    return frozenset(section for section in Section if acting.opens(section))


@register.inclusion_tag("accounts/_acting_bar.html", takes_context=True)
def acting_bar(context: template.Context) -> dict:
    """The bar above every page while a caregiver acts for someone: whom, and "Switch" when
    there is anyone else to switch to (another person they help, or their own record)."""
    user = context["request"].user
    acting = getattr(user, "acting_for", None)
    if acting is None:
        return {"acting": None}
    others = (current_links_of(user).exclude(pk=acting.link.pk).exists()
              or own_patient_of(user) is not None)
    patient_user = acting.patient.user
    return {"acting": acting, "can_switch": others,
            "name": patient_user.first_name or patient_user.display_name}


@register.inclusion_tag("accounts/_assent_card.html", takes_context=True)
def assent_card(context: template.Context) -> dict:
    """At the top of a teenager's Today: each caregiver waiting for their yes (or whose yes
    runs out soon), in plain words, with Yes and Not now."""
    from django.utils import timezone

    from accounts.caregiving import caregiver_label
    from accounts.selectors import assent_questions

    request = context["request"]
    questions = assent_questions(request.user, now=timezone.now())
    return {"questions": [(access, caregiver_label(access.link)) for access in questions],
            "csrf_token": context.get("csrf_token"), "next": "today"}
