"""Sign-in policy: who must use two-step verification, and how long a session may live.

The middleware (``accounts/middleware.py``) and the signal receivers (``accounts/receivers.py``)
apply these rules; the numbers live in settings (``PORTAL_SESSION_*``).
"""

from __future__ import annotations

from typing import Literal

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, validate_totp_code
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db.models import F
from django.http import HttpRequest

from .models import User
from .selectors import role_of

# Session keys: when the user signed in and when they were last seen (Unix seconds).
SIGNED_IN_AT = "accounts.signed_in_at"
SEEN_AT = "accounts.seen_at"
# "Last seen" is rewritten at most this often, so most requests do not save the session.
# Idle time is therefore measured up to this much early, never late.
SEEN_AT_RESOLUTION = 60

SessionEnd = Literal["idle", "absolute"]
CLINICAL_ROLES = ("dermatologist", "staff")


def mfa_required_for(user: User) -> bool:
    """Dermatologists, clinic staff and clinic administrators (admin site) must use MFA."""
    role = role_of(user)  # the patient check comes first and is cached on the user object
    if role == "patient":
        return False
    return role in CLINICAL_ROLES or role == "admin" or user.is_staff


def totp_enrolled(request: HttpRequest) -> bool:
    """Whether the signed-in user has an authenticator app; asked once per request."""
    if not hasattr(request, "_accounts_totp_enrolled"):
        request._accounts_totp_enrolled = Authenticator.objects.filter(
            user_id=request.user.pk, type=Authenticator.Type.TOTP
        ).exists()
    return request._accounts_totp_enrolled


def totp_code_just_used(user: User, code: str) -> bool:
    """Whether ``code`` is the user's current authenticator-app code but already signed in
    once: allauth refuses a code a second time inside its window (replay protection)."""
    authenticator = Authenticator.objects.filter(
        user_id=user.pk, type=Authenticator.Type.TOTP
    ).first()
    if authenticator is None:
        return False
    if not validate_totp_code(decrypt(authenticator.data["secret"]), code):
        return False
    # allauth's own marker of a used code (``TOTP._mark_code_used``): one definition of the key.
    return cache.get(TOTP(authenticator)._get_used_cache_key(code)) is not None


def idle_limit_for(user: User) -> int:
    """Seconds without a request before the session ends: patients get longer."""
    if role_of(user) in ("patient", "caregiver"):
        return settings.PORTAL_SESSION_IDLE_SECONDS_PATIENT
    return settings.PORTAL_SESSION_IDLE_SECONDS_CLINICIAN


def session_stamp(session: SessionBase, now: float) -> None:
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def session_end(session: SessionBase, user: User, now: float, *,
                activity: bool = True) -> SessionEnd | None:
    """Why this session must end now, or None. Unstamped sessions start counting now.

    ``activity=False`` (a page's background poll, e.g. the inbox count) checks the limits
    without counting as use: an open tab left alone still reaches the idle limit."""
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if signed_in_at is None or seen_at is None:
        session_stamp(session, now)
        return None
    if now - signed_in_at > settings.PORTAL_SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    if now - seen_at > idle_limit_for(user):
        return "idle"
    if activity and now - seen_at >= SEEN_AT_RESOLUTION:
        session[SEEN_AT] = now
    return None


def other_sessions_end(user: User) -> None:
    """Invalidate every session of ``user`` (their session hash includes the epoch)."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
