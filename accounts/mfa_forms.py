"""allauth's two-step verification forms, telling a reused code apart from a wrong one.

A code from the authenticator app signs in once (allauth's replay protection); typing it again
inside its 30-second window is an honest mistake, so the answer says what to do instead.
Either way the attempt counts towards the rate limit, as in allauth.
"""

from __future__ import annotations

from allauth.mfa.base import forms as allauth_forms
from django.core.exceptions import ValidationError

from .security import totp_code_just_used

CODE_JUST_USED = (
    "This code has just been used. Wait for your authenticator app to show the next code, "
    "then enter that one."
)


class _UsedCodeMessageMixin:
    user: object
    cleaned_data: dict[str, object]

    def clean_code(self) -> str:
        try:
            return super().clean_code()
        except ValidationError as error:
            code = str(self.cleaned_data.get("code", ""))
            if error.code == "incorrect_code" and totp_code_just_used(self.user, code):
                raise ValidationError(CODE_JUST_USED, code="code_just_used") from error
            raise


class AuthenticateForm(_UsedCodeMessageMixin, allauth_forms.AuthenticateForm):
    """The code step of signing in."""


class ReauthenticateForm(_UsedCodeMessageMixin, allauth_forms.ReauthenticateForm):
    """The code asked for again before a sensitive change."""
