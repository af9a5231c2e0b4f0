"""Protections every signed-in request passes: session lifetime, then required MFA.

Both sit after Django's authentication and messages middleware. For a patient they cost no
query beyond ``role_of``, which the views ask anyway (the answer is cached on ``request.user``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation

from .security import mfa_required_for, session_end, totp_enrolled

# What a clinician without an authenticator app may still open. Static files never reach
# Django's URL routing (WhiteNoise answers first), so they need no entry here.
MFA_ENROLMENT_URL_NAMES = frozenset({"account_login", "account_logout", "account_reauthenticate"})

# Sent by a page's own background polling (htmx ``hx-headers``): such a request is not the
# person using the portal. A client leaving it out only keeps its own session alive as any
# click would; sending it can only end a session sooner.
BACKGROUND_POLL_HEADER = "X-Background-Poll"


def _redirect(request: HttpRequest, response: HttpResponseRedirect) -> HttpResponse:
    """htmx requests get ``HX-Redirect`` so the whole page navigates, not a fragment."""
    if request.headers.get("HX-Request") == "true":
        return HttpResponse(status=204, headers={"HX-Redirect": response.url})
    return response


class SessionLifetimeMiddleware:
    """Ends a session after the idle limit of the user's role or the absolute limit.

    Sign-in time and last activity are kept in the session itself (set at login by
    ``accounts.receivers``); ``timezone.now`` is the only clock, so tests can move it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            reason = session_end(request.session, user, timezone.now().timestamp(),
                                 activity=request.headers.get(BACKGROUND_POLL_HEADER) != "1")
            if reason is not None:
                return self._sign_out(request, reason)
        return self.get_response(request)

    def _sign_out(self, request: HttpRequest, reason: str) -> HttpResponse:
        # Read by the logout receiver: an expired session must not end the user's others.
        request.session_end_reason = reason
        logout(request)
        if reason == "idle":
            text = "You were signed out because you had not used the portal for a while."
        else:
            hours = settings.PORTAL_SESSION_ABSOLUTE_SECONDS // 3600
            text = f"For your security, sessions end after {hours} hours. Please sign in again."
        messages.info(request, text)
        return _redirect(request, redirect_to_login(request.get_full_path()))


class MFARequiredMiddleware:
    """Clinicians, staff and clinic administrators reach nothing but the two-step verification
    set-up (and sign-out) until they have an authenticator app."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: object, view_args: object,
                     view_kwargs: object) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or not mfa_required_for(user):
            return None
        if _is_enrolment_page(request) or totp_enrolled(request):
            return None
        messages.warning(
            request,
            "Your clinic requires two-step verification. Set up an authenticator app to continue.",
        )
        return _redirect(request, HttpResponseRedirect(reverse("mfa_activate_totp")))


def _is_enrolment_page(request: HttpRequest) -> bool:
    name = request.resolver_match.url_name if request.resolver_match else None
    return bool(name) and (name.startswith("mfa_") or name in MFA_ENROLMENT_URL_NAMES)


class UserLanguageMiddleware:
    """Shows a signed-in user's pages in the language they chose on the Account page.

    Sits after authentication; ``LocaleMiddleware`` (earlier) has already chosen the browser's
    language, which stays when the user has not chosen (``language`` blank) or is signed out.
    ``activate`` rather than ``override``: ``LocaleMiddleware.process_response`` reads the active
    language for ``Content-Language``, and it activates afresh on every request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            user_language_activate(request, request.user)
        return self.get_response(request)


def user_language_activate(request: HttpRequest, user: Any) -> None:
    """The user's chosen language for the rest of this request (the browser's when they have
    not chosen). Also at sign-in (accounts/receivers.py), so the "signed in" message of that
    very request is in their language."""
    chosen = getattr(user, "language", "")
    if chosen and translation.check_for_language(chosen):
        translation.activate(chosen)
        request.LANGUAGE_CODE = translation.get_language()


# The patient a caregiver has chosen to act for, kept in their session (an id only).
ACTING_FOR_SESSION_KEY = "accounts.acting_for"


class ActingForMiddleware:
    """Puts a caregiver's open access to the patient they act for on ``request.user``.

    Checked on every request, so an ended link, a teenager's "no" or a birthday that ends the
    access takes effect at the caregiver's next request in every session of theirs. A caregiver
    with one open patient and no record of their own acts for that patient without choosing.
    Costs nothing for anyone who is not a caregiver (``User.is_caregiver``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_caregiver:
            user.acting_for = acting_for_request(request, now=timezone.now())
        return self.get_response(request)


def acting_for_request(request: HttpRequest, *, now: Any) -> Any:
    from .caregiving import access_for, accesses_of
    from .selectors import own_patient_of

    user = request.user
    patient_id = request.session.get(ACTING_FOR_SESSION_KEY)
    if patient_id is not None:
        access = access_for(user, patient_id=patient_id, now=now)
        if access is None:
            request.session.pop(ACTING_FOR_SESSION_KEY, None)
        return access
    if own_patient_of(user) is not None:
        return None
    open_accesses = [access for access in accesses_of(user, now=now) if access.is_open]
    if len(open_accesses) == 1:
        request.session[ACTING_FOR_SESSION_KEY] = open_accesses[0].patient.pk
        return open_accesses[0]
    return None
