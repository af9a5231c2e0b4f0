import pytest


@pytest.fixture
def admin_user(admin_user):
    """pytest-django's superuser, enrolled in two-step verification as administrators must be."""
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.factories import TOTP_SECRET

    TOTP.activate(admin_user, TOTP_SECRET)
    return admin_user
