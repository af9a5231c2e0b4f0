from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class ClinicAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by clinics (admin for clinicians, invitations for patients)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
