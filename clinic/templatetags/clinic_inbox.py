"""The clinicians' navigation: "Messages" with the count of conversations waiting for them."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from messaging.selectors import waiting_count_for_clinician

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_count(context: template.Context) -> SafeString:
    """The badge (one count query), updated on each page; htmx polls it where JS runs."""
    request = context["request"]
    return render_to_string("clinic/_inbox_count.html", {
        "inbox_waiting": waiting_count_for_clinician(request.user)}, request=request)
