"""Sign-in events: audit rows, session stamps and ending a user's other sessions at sign-out.

Connected in ``AccountsConfig.ready``. Nothing here logs or stores a typed password, and a
failed sign-in for an unknown address stores only a keyed hash of it.
"""

from __future__ import annotations

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.signals import user_logged_in as allauth_user_logged_in
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
)
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .middleware import user_language_activate
from .models import AuditEvent, User
from .security import other_sessions_end, session_stamp
from .services import audit_record


@receiver(user_logged_in, dispatch_uid="accounts.session_started")
def session_started(sender: type, request: HttpRequest | None, user: User,
                    **kwargs: object) -> None:
    """Every login (allauth, invitation, admin, tests): start the session's clocks."""
    if request is None or not hasattr(request, "session"):
        return
    session_stamp(request.session, timezone.now().timestamp())
    user_language_activate(request, user)
    # The user object may predate a sign-out elsewhere that moved the epoch on; a session
    # hashed with the old epoch would end at its first request.
    epoch = User.objects.filter(pk=user.pk).values_list("session_epoch", flat=True).first()
    if epoch is not None and epoch != user.session_epoch:
        user.session_epoch = epoch
        request.session[HASH_SESSION_KEY] = user.get_session_auth_hash()


@receiver(allauth_user_logged_in, dispatch_uid="accounts.audit_login")
def audit_login(sender: type, request: HttpRequest, user: User, **kwargs: object) -> None:
    """A sign-in through allauth's flow, after every stage (MFA included) has passed."""
    methods = sorted({r.get("method", "") for r in get_authentication_records(request, user)})
    audit_record(
        actor=user, patient=None, action=AuditEvent.Action.LOGIN, object_type="session",
        object_id="+".join(m for m in methods if m),
    )


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def audit_login_failed(sender: object, credentials: dict[str, object],
                       request: HttpRequest | None = None, **kwargs: object) -> None:
    """A wrong password. Refusals by the rate limit never reach here, which bounds the writes
    an anonymous client can cause."""
    login = str(credentials.get("email") or credentials.get("username") or "").strip().lower()
    user = User.objects.filter(email__iexact=login).first() if login else None
    audit_record(
        actor=user, patient=None, action=AuditEvent.Action.LOGIN_FAILED,
        object_type="password", object_id="" if user else unknown_login_id(login),
        allowed=False,
    )


def unknown_login_id(login: str) -> str:
    """Correlates repeated attempts on one unknown address without storing the address."""
    return salted_hmac("accounts.unknown_login", login, algorithm="sha256").hexdigest()


@receiver(user_logged_out, dispatch_uid="accounts.signed_out")
def signed_out(sender: type, request: HttpRequest | None, user: User | None,
               **kwargs: object) -> None:
    if user is None:
        return
    reason = getattr(request, "session_end_reason", "signed_out")
    audit_record(
        actor=user, patient=None, action=AuditEvent.Action.LOGOUT, object_type="session",
        object_id=reason,
    )
    # Signing out signs out everywhere; a session that merely timed out leaves the others.
    if reason == "signed_out":
        other_sessions_end(user)


@receiver(authentication_failed, dispatch_uid="accounts.audit_mfa_failed")
def audit_mfa_failed(sender: type, user: User, authenticator: Authenticator,
                     **kwargs: object) -> None:
    audit_record(
        actor=user, patient=None, action=AuditEvent.Action.LOGIN_FAILED, object_type="mfa",
        object_id=authenticator.type, allowed=False,
    )


def _audit_authenticator(action: str, user: User, authenticator: Authenticator) -> None:
    audit_record(
        actor=user, patient=None, action=action, object_type=authenticator.type,
        object_id=str(authenticator.pk or ""),  # empty once the authenticator is deleted
    )


@receiver(authenticator_added, dispatch_uid="accounts.audit_mfa_added")
def audit_mfa_added(sender: type, user: User, authenticator: Authenticator,
                    **kwargs: object) -> None:
    _audit_authenticator(AuditEvent.Action.MFA_ADDED, user, authenticator)


@receiver(authenticator_removed, dispatch_uid="accounts.audit_mfa_removed")
def audit_mfa_removed(sender: type, user: User, authenticator: Authenticator,
                      **kwargs: object) -> None:
    _audit_authenticator(AuditEvent.Action.MFA_REMOVED, user, authenticator)


@receiver(authenticator_reset, dispatch_uid="accounts.audit_mfa_reset")
def audit_mfa_reset(sender: type, user: User, authenticator: Authenticator,
                    **kwargs: object) -> None:
    _audit_authenticator(AuditEvent.Action.MFA_RESET, user, authenticator)
