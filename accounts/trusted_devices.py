"""Browsers that completed a two-step sign-in for an account recently ("trusted devices").

Such a browser counts its own failed passwords for that account, apart from everyone else's
(``accounts.adapters``): a stranger's wrong guesses cannot lock a clinician out of their own
browser, while a browser the account has never completed two-step sign-in on keeps allauth's
lockout. The proof is a signed, HttpOnly cookie per account. Its signature covers the
password hash, so a password change or reset retires every device of the account.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import salted_hmac

from .models import User

COOKIE_PREFIX = "alliance_device_"
_SALT = "accounts.trusted_device"


def lifetime_seconds() -> int:
    return settings.PORTAL_TRUSTED_DEVICE_DAYS * 24 * 60 * 60


def cookie_name(user: User) -> str:
    """One cookie per account, so colleagues sharing a workstation each keep theirs; the name
    does not show the account's id."""
    return COOKIE_PREFIX + salted_hmac(f"{_SALT}.name", str(user.pk)).hexdigest()[:16]


def _signer(user: User) -> signing.Signer:
    # Salted with the account and its password hash: valid for this account only, and
    # only until its password changes.
    password_digest = salted_hmac(f"{_SALT}.password", user.password).hexdigest()
    return signing.Signer(salt=f"{_SALT}:{user.pk}:{password_digest}")


def trusted_device_id(request: HttpRequest, user: User, *, now: float) -> str | None:
    """The id of this browser if it completed a two-step sign-in for ``user`` within the
    trusted-device lifetime before ``now`` (Unix seconds), else None."""
    value = request.COOKIES.get(cookie_name(user))
    if not value:
        return None
    try:
        device = _signer(user).unsign_object(value)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(device, dict) or not 0 <= now - device.get("at", -1) <= lifetime_seconds():
        return None
    return device.get("id")


def trusted_device_for_login(request: HttpRequest, login: str, *, now: float) -> str | None:
    """As ``trusted_device_id`` for the account the sign-in form names. A browser without any
    device cookie (every stranger) costs no query."""
    if not login or not any(name.startswith(COOKIE_PREFIX) for name in request.COOKIES):
        return None
    user = User.objects.filter(email__iexact=login.strip()).first()
    return trusted_device_id(request, user, now=now) if user else None


def trusted_device_remember(request: HttpRequest, response: HttpResponseBase, user: User, *,
                            now: float) -> None:
    """Set (or renew for another full lifetime) this browser's cookie for ``user``; a browser
    that already had one keeps its id, and so its count of failed passwords."""
    device_id = trusted_device_id(request, user, now=now) or secrets.token_urlsafe(16)
    response.set_cookie(
        cookie_name(user),
        _signer(user).sign_object({"id": device_id, "at": int(now)}),
        max_age=lifetime_seconds(),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        samesite="Lax",
    )
