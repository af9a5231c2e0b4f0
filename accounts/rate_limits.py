"""When a client that allauth has refused ("429 Too Many Requests") may try again.

allauth keeps, per rate and client, the times of the recent requests in the default cache and
refuses while a window holds as many as the rate allows; it does not say which rate refused.
The wait is therefore computed from allauth's own counters for this client: until every
exhausted per-address and per-account window has room again. Per-key windows (an email
address) cannot be looked up without the key, so if none is found the answer is the longest
window configured, after which every limit has room again.
"""

from __future__ import annotations

import math

from allauth.account import app_settings as account_settings
from allauth.core.internal.ratelimit import Rate, get_cache_key, get_rates
from django.core.cache import cache
from django.http import HttpRequest

_APP = "allauth.account"


def _configured() -> list[tuple[str, Rate]]:
    return [
        (action, rate)
        for action in account_settings.RATE_LIMITS
        for rate in get_rates(app=_APP, action=action)
    ]


def _wait_for(request: HttpRequest, action: str, rate: Rate, now: float) -> float:
    """Seconds until this window lets one more request through (0 if it already would)."""
    cache_key = get_cache_key(request, app=_APP, action=action, rate=rate)
    recent = [t for t in cache.get(cache_key, []) if t > now - rate.duration]  # newest first
    if len(recent) < rate.amount:
        return 0
    return recent[rate.amount - 1] + rate.duration - now


def retry_after_seconds(request: HttpRequest, *, now: float) -> int:
    """Whole seconds (at least 1) after ``now`` (Unix seconds) when this client's refused
    requests will be accepted again."""
    configured = _configured()
    traceable = [
        (action, rate) for action, rate in configured
        if rate.per == "ip" or (rate.per == "user" and request.user.is_authenticated)
    ]
    wait = max((_wait_for(request, action, rate, now) for action, rate in traceable), default=0)
    if wait <= 0:
        wait = max((rate.duration for _, rate in configured), default=60)
    return max(1, math.ceil(wait))


def wait_in_words(seconds: int) -> str:
    """'40 seconds', '1 minute', '5 minutes': rounded up, so waiting that long is enough."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
