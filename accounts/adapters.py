from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .trusted_devices import trusted_device_for_login, trusted_device_remember


class ClinicAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by clinics (admin for clinicians, invitations for patients).

    Failed passwords for an account count per address (allauth's ``login_failed`` limit),
    except on the account's trusted devices, which each count their own
    (``accounts.trusted_devices``).
    """

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        key = super()._get_login_attempts_cache_key(request, **credentials)
        login = str(credentials.get("email") or credentials.get("username") or "")
        device = trusted_device_for_login(request, login, now=timezone.now().timestamp())
        return key if device is None else f"{key}:device:{device}"

    def post_login(self, request: HttpRequest, user: AbstractBaseUser,
                   **kwargs: Any) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        records = get_authentication_records(request, user)
        if any(record.get("method") == "mfa" for record in records):
            trusted_device_remember(request, response, user, now=timezone.now().timestamp())
        return response
