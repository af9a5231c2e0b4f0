from django import template

from core.pwa import pwa_user_tag as _pwa_user_tag

register = template.Library()


@register.simple_tag(takes_context=True)
def pwa_user_tag(context: template.Context) -> str:
    """The signed-in user's tag for the worker's copies (core/pwa.py); "" when signed out."""
    request = context.get("request")
    return _pwa_user_tag(getattr(request, "user", None))
