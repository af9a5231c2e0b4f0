"""Writes for accounts, clinics, invitations and the audit trail."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import AuditEvent, Clinic, ClinicMembership, Invitation, Patient, Role, User


def audit_record(
    *,
    actor: User | None,
    patient: Patient | None,
    action: str,
    object_type: str,
    object_id: str = "",
    allowed: bool = True,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor,
        patient=patient,
        action=action,
        object_type=object_type,
        object_id=object_id,
        allowed=allowed,
    )


def invitation_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("invitation_accept", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


@transaction.atomic
def patient_invite(
    *,
    invited_by: User,
    clinic: Clinic,
    email: str,
    first_name: str,
    last_name: str,
    timezone_name: str,
) -> Patient:
    """Create a patient account without a usable password and email them a link to set one."""
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(
        email=email, password=None, first_name=first_name, last_name=last_name
    )
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    patient = Patient.objects.create(
        user=user, clinic=clinic, dermatologist=invited_by, timezone=timezone_name
    )
    Invitation.objects.create(patient=patient, invited_by=invited_by)
    audit_record(
        actor=invited_by, patient=patient, action=AuditEvent.Action.CREATE,
        object_type="patient", object_id=str(patient.pk),
    )
    transaction.on_commit(lambda: _send_invitation_email(patient_id=patient.pk))
    return patient


def _send_invitation_email(*, patient_id: int) -> None:
    patient = Patient.objects.select_related("user", "clinic", "dermatologist").get(pk=patient_id)
    context = {"patient": patient, "link": invitation_link(patient.user)}
    send_mail(
        subject="Your Alliance Portal invitation",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[patient.user.email],
    )


@transaction.atomic
def invitation_accept(*, user: User, password: str, now: datetime) -> None:
    """Set the invited patient's password; following the emailed link proves the address."""
    from allauth.account.models import EmailAddress

    user.set_password(password)
    user.save(update_fields=["password"])
    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)
    Invitation.objects.filter(patient__user=user, accepted_at__isnull=True).update(
        accepted_at=now
    )


# --- The admin site: what a clinic administrator does instead of setting passwords ----------


@transaction.atomic
def password_reset_email_send(*, request: HttpRequest, actor: User, user: User) -> bool:
    """Email ``user`` allauth's own password-reset link (the administrator never sees it, nor
    sets a password). Audited; False, and nothing sent, for a deactivated account."""
    from allauth.account.forms import ResetPasswordForm
    from allauth.core.context import request_context

    if not user.is_active:
        return False
    form = ResetPasswordForm(data={"email": user.email})
    if not form.is_valid():
        return False
    form.users = [user]  # this account only, whatever else the address might match
    with request_context(request):  # allauth builds the link from it (also after a commit)
        form.save(request)
    audit_record(
        actor=actor, patient=getattr(user, "patient", None),
        action=AuditEvent.Action.PASSWORD_RESET, object_type="admin_user",
        object_id=str(user.pk),
    )
    return True


@transaction.atomic
def clinician_invite(
    *, request: HttpRequest, invited_by: User, clinic: Clinic, user: User, role: str,
) -> User:
    """Save ``user`` (built, unsaved: email and name) as a new member of ``clinic`` without a
    usable password; once the transaction commits they are emailed allauth's link to choose
    one, and they must set up two-step verification before they reach anything."""
    from allauth.account.models import EmailAddress

    user.email = User.objects.normalize_email(user.email).lower()
    user.set_unusable_password()
    user.is_staff = role == Role.ADMIN
    user.is_superuser = False
    user.save()
    # Verified by the link it receives: only the holder of the address can use it.
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    ClinicMembership.objects.create(user=user, clinic=clinic, role=role)
    transaction.on_commit(
        lambda: password_reset_email_send(request=request, actor=invited_by, user=user)
    )
    return user


@transaction.atomic
def membership_role_set(*, membership: ClinicMembership, role: str) -> ClinicMembership:
    """Change a member's role; the admin site is open to clinic administrators only, so
    ``is_staff`` follows the role (a platform operator's own flags are left alone)."""
    membership.role = role
    membership.save(update_fields=["role"])
    user = membership.user
    if not user.is_superuser and user.is_staff != (role == Role.ADMIN):
        user.is_staff = role == Role.ADMIN
        user.save(update_fields=["is_staff"])
    return membership
