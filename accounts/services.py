"""Writes for accounts, clinics, invitations and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from .mfa_adapter import mfa_fernet
from .models import (
    AuditEvent,
    CaregiverAssent,
    CaregiverLink,
    Clinic,
    ClinicMembership,
    Invitation,
    Patient,
    Role,
    User,
    no_login_email,
)


def audit_record(
    *,
    actor: User | None,
    patient: Patient | None,
    action: str,
    object_type: str,
    object_id: str = "",
    allowed: bool = True,
) -> AuditEvent:
    """Write one audit event with the clinic whose log it belongs to (see ``AuditEvent``)."""
    clinic_id, actor_clinic_id = audit_clinics(actor=actor, patient=patient)
    return AuditEvent.objects.create(
        actor=actor,
        patient=patient,
        clinic_id=clinic_id,
        actor_clinic_id=actor_clinic_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        allowed=allowed,
    )


def audit_clinics(*, actor: User | None, patient: Patient | None) -> tuple[int | None, int | None]:
    """``(clinic_id, actor_clinic_id)`` of an event: the patient's clinic, else the actor's; and
    the actor's own clinic when it is another one. At most one query (the actor's membership,
    cached on the user object for the rest of the request)."""
    member_of = None
    if actor is not None:
        try:
            member_of = actor.membership.clinic_id
        except ClinicMembership.DoesNotExist:
            member_of = None
    if patient is None:
        return member_of, None
    return patient.clinic_id, member_of if member_of not in (None, patient.clinic_id) else None


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
    date_of_birth: date | None = None,
) -> Patient | None:
    """Create a patient account without a usable password and email them a link to set one.

    If the address already has an account (in any clinic, of any role), nothing is created and
    its owner is emailed that they already have an account; the caller shows the same answer
    either way (None here), so an invitation does not reveal who uses the portal elsewhere.

    An empty ``email`` makes a young child's record without a login of their own
    (``no_login_email``): nothing is emailed, and a caregiver acts for them
    (``child_invite``, which also checks the child's age).
    """
    from allauth.account.models import EmailAddress

    if email:
        existing = User.objects.filter(email__iexact=email).values_list("pk", flat=True).first()
        if existing is not None:
            transaction.on_commit(lambda: _send_existing_account_email(user_id=existing))
            return None
    user = User.objects.create_user(
        email=email or no_login_email(), password=None, first_name=first_name,
        last_name=last_name,
    )
    if email:
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    patient = Patient.objects.create(
        user=user, clinic=clinic, dermatologist=invited_by, timezone=timezone_name,
        date_of_birth=date_of_birth,
    )
    audit_record(
        actor=invited_by, patient=patient, action=AuditEvent.Action.CREATE,
        object_type="patient", object_id=str(patient.pk),
    )
    if email:
        Invitation.objects.create(patient=patient, invited_by=invited_by)
        transaction.on_commit(lambda: _send_invitation_email(patient_id=patient.pk))
    return patient


@dataclass(frozen=True)
class CaregiverDetails:
    """Who the clinic invites to care for a patient (``caregiver_invite``'s arguments)."""

    email: str
    first_name: str
    last_name: str
    relationship: str
    called: str = ""


@transaction.atomic
def patient_invite_with_caregiver(
    *,
    invited_by: User,
    clinic: Clinic,
    email: str,
    first_name: str,
    last_name: str,
    timezone_name: str,
    date_of_birth: date | None,
    caregiver: CaregiverDetails | None,
    now: datetime,
) -> Patient | None:
    """Invite a patient and, in the same step, their parent or guardian: both or neither.

    Without ``email`` the patient is a young child without a login of their own; they must be
    under the clinic's teenager age on their own calendar date and have a caregiver
    (``CaregiverError`` otherwise; nothing is saved). With an email that already has an
    account nothing is created (``patient_invite``: the same answer either way).
    """
    from .caregiving import Tier, tier_on
    from .timezones import zone_or_utc

    if not email:
        today = now.astimezone(zone_or_utc(timezone_name)).date()
        if caregiver is None or date_of_birth is None or date_of_birth > today:
            raise CaregiverError(gettext("A young child needs a date of birth and a parent or "
                                         "guardian."))
        if tier_on(born=date_of_birth, day=today, teen_age=clinic.caregiver_teen_age,
                   adult_age=clinic.caregiver_adult_age) != Tier.CHILD:
            raise CaregiverError(
                gettext("From age %(age)s a patient needs their own email address.")
                % {"age": clinic.caregiver_teen_age})
    patient = patient_invite(invited_by=invited_by, clinic=clinic, email=email,
                             first_name=first_name, last_name=last_name,
                             timezone_name=timezone_name, date_of_birth=date_of_birth)
    if patient is not None and caregiver is not None:
        caregiver_invite(invited_by=invited_by, patient=patient, email=caregiver.email,
                         first_name=caregiver.first_name, last_name=caregiver.last_name,
                         relationship=caregiver.relationship, called=caregiver.called, now=now)
    return patient


@transaction.atomic
def patient_birth_date_set(*, patient: Patient, date_of_birth: date | None, changed_by: User
                           ) -> Patient:
    """The clinic records (or corrects) a patient's date of birth, which sets their caregivers'
    tier from the next request; audited."""
    if patient.date_of_birth != date_of_birth:
        patient.date_of_birth = date_of_birth
        patient.save(update_fields=["date_of_birth"])
        audit_record(actor=changed_by, patient=patient, action=AuditEvent.Action.CHANGE,
                     object_type="patient_date_of_birth", object_id=str(patient.pk))
    return patient


@transaction.atomic
def patient_login_give(*, patient: Patient, email: str, by: User) -> bool:
    """Give a patient who had no login (a young child, now old enough) their own sign-in: the
    address becomes theirs and they are emailed a link to set a password. Their caregivers
    keep what the patient's age allows (a teenager is then asked about them).

    An address that already has an account changes nothing and its owner is emailed that they
    have one; the caller answers the same either way (False here)."""
    from allauth.account.models import EmailAddress

    if patient.user.has_mailbox:
        raise CaregiverError(gettext("This patient already has a sign-in of their own."))
    existing = User.objects.filter(email__iexact=email).values_list("pk", flat=True).first()
    if existing is not None:
        transaction.on_commit(lambda: _send_existing_account_email(user_id=existing))
        return False
    user = patient.user
    user.email = User.objects.normalize_email(email).lower()
    user.save(update_fields=["email"])
    # The placeholder address (if one was recorded) is no address: the new one replaces it.
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    Invitation.objects.create(patient=patient, invited_by=by)
    audit_record(actor=by, patient=patient, action=AuditEvent.Action.CHANGE,
                 object_type="patient_login", object_id=str(patient.pk))
    transaction.on_commit(lambda: _send_invitation_email(patient_id=patient.pk))
    return True


def _send_invitation_email(*, patient_id: int) -> None:
    patient = Patient.objects.select_related("user", "clinic", "dermatologist").get(pk=patient_id)
    context = {"patient": patient, "link": invitation_link(patient.user)}
    # The invitee's language if they have one, else the portal's default (not the inviter's).
    with translation.override(patient.user.language or settings.LANGUAGE_CODE):
        subject = gettext("Your Alliance Portal invitation")
        message = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject=subject, message=message, from_email=None,
              recipient_list=[patient.user.email])


def _send_existing_account_email(*, user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    site = settings.SITE_URL.rstrip("/")
    context = {"user": user, "login_url": f"{site}{reverse('account_login')}",
               "reset_url": f"{site}{reverse('account_reset_password')}"}
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = gettext("Your Alliance Portal invitation")
        message = render_to_string("accounts/email/invitation_existing_account.txt", context)
    send_mail(subject=subject, message=message, from_email=None, recipient_list=[user.email])


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


# The values allauth passes through the MFA adapter's encrypt (accounts.mfa_adapter).
MFA_ENCRYPTED_FIELDS = ("secret", "seed")
MFA_ENCRYPTED_LIST_FIELDS = ("migrated_codes",)


@transaction.atomic
def authenticator_secrets_rotate() -> int:
    """Re-encrypt every authenticator's secrets with the newest MFA_ENCRYPTION_KEYS key (each
    decrypted with whichever configured key it was made with); returns how many were rewritten.

    Raises ``cryptography.fernet.InvalidToken``, changing nothing, if a value cannot be
    decrypted with any configured key. Rows are locked, so a recovery code used meanwhile
    (allauth locks the row too) is not lost.
    """
    fernet = mfa_fernet()

    def rotate(token: str) -> str:
        return fernet.rotate(token.encode("ascii")).decode("ascii")

    count = 0
    for authenticator in Authenticator.objects.select_for_update().order_by("pk"):
        data = authenticator.data
        fields = [name for name in MFA_ENCRYPTED_FIELDS if isinstance(data.get(name), str)]
        lists = [name for name in MFA_ENCRYPTED_LIST_FIELDS if isinstance(data.get(name), list)]
        if not fields and not lists:
            continue
        for name in fields:
            data[name] = rotate(data[name])
        for name in lists:
            data[name] = [rotate(value) for value in data[name]]
        authenticator.save(update_fields=["data"])
        count += 1
    return count


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
) -> User | None:
    """Save ``user`` (built, unsaved: email and name) as a new member of ``clinic`` without a
    usable password; once the transaction commits they are emailed allauth's link to choose
    one, and they must set up two-step verification before they reach anything.

    If the address already has an account (any clinic, any role), nothing is created and its
    owner is emailed that they already have one; None, and the caller answers as for a new
    address, so an invitation does not reveal who uses the portal elsewhere (as
    ``patient_invite``)."""
    from allauth.account.models import EmailAddress

    user.email = User.objects.normalize_email(user.email).lower()
    existing = User.objects.filter(email__iexact=user.email).values_list("pk", flat=True).first()
    if existing is not None:
        transaction.on_commit(lambda: _send_existing_account_email(user_id=existing))
        return None
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


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language the portal speaks to ``user``; blank follows their browser."""
    user.language = language
    user.save(update_fields=["language"])


class CaregiverError(ValueError):
    """A caregiver change that cannot be made; the message is for the person asking."""


@transaction.atomic
def caregiver_invite(
    *,
    invited_by: User,
    patient: Patient,
    email: str,
    first_name: str,
    last_name: str,
    relationship: str,
    called: str = "",
    now: datetime,
) -> CaregiverLink | None:
    """Link a caregiver to ``patient``, creating their account (no password yet) when the
    address has none, and email them: a set-password link, or a note that they can now act
    for one more person. Invited by the clinic, or by the patient themselves (an adult, whose
    invitation is also their grant of access).

    An address that belongs to a clinic member or to the patient is linked to nothing; the
    caller answers the same either way (None), so an invitation reveals no account.
    """
    from allauth.account.models import EmailAddress

    user = User.objects.filter(email__iexact=email).first()
    if user is not None and (ClinicMembership.objects.filter(user=user).exists()
                             or user.pk == patient.user_id):
        return None
    current = CaregiverLink.objects.filter(
        caregiver=user, patient=patient, ended_at__isnull=True).first() if user else None
    if current is not None:
        return current
    new_account = user is None
    if new_account:
        user = User.objects.create_user(email=email, password=None, first_name=first_name,
                                        last_name=last_name, is_caregiver=True)
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    elif not user.is_caregiver:
        User.objects.filter(pk=user.pk).update(is_caregiver=True)
    by_patient = invited_by.pk == patient.user_id
    link = CaregiverLink.objects.create(
        caregiver=user, patient=patient, relationship=relationship, called=called.strip(),
        invited_by=invited_by, created_at=now,
        adult_granted_on=patient.local_date(now) if by_patient else None,
    )
    audit_record(actor=invited_by, patient=patient, action=AuditEvent.Action.CREATE,
                 object_type="caregiver_link", object_id=str(link.pk))
    transaction.on_commit(
        lambda: _send_caregiver_email(link_id=link.pk, new_account=new_account))
    return link


def _send_caregiver_email(*, link_id: int, new_account: bool) -> None:
    link = CaregiverLink.objects.select_related(
        "caregiver", "patient__user", "patient__clinic").get(pk=link_id)
    site = settings.SITE_URL.rstrip("/")
    context = {"link": link, "patient_name": link.patient.user.first_name or
               link.patient.user.display_name, "clinic": link.patient.clinic.name,
               "set_password_url": invitation_link(link.caregiver) if new_account else "",
               "login_url": f"{site}{reverse('account_login')}"}
    with translation.override(link.caregiver.language or settings.LANGUAGE_CODE):
        subject = gettext("Your Alliance Portal invitation")
        message = render_to_string("accounts/email/caregiver_invitation.txt", context)
    send_mail(subject=subject, message=message, from_email=None,
              recipient_list=[link.caregiver.email])


@transaction.atomic
def caregiver_link_end(*, link: CaregiverLink, ended_by: User, now: datetime) -> CaregiverLink:
    """End a caregiver's access (the clinic, the patient or the caregiver). Their sessions
    lose it at their next request (``ActingForMiddleware`` reads the link each time)."""
    link = CaregiverLink.objects.select_for_update().get(pk=link.pk)
    if link.ended_at is None:
        link.ended_at = now
        link.ended_by = ended_by
        link.save(update_fields=["ended_at", "ended_by"])
        audit_record(actor=ended_by, patient=link.patient, action=AuditEvent.Action.CHANGE,
                     object_type="caregiver_link", object_id=str(link.pk))
    return link


@transaction.atomic
def caregiver_assent_answer(*, link: CaregiverLink, given: bool, now: datetime
                            ) -> CaregiverAssent:
    """A teenager's yes (for a year) or no to a caregiver seeing their routine."""
    from .caregiving import Tier, assent_valid_until, patient_tier

    today = link.patient.local_date(now)
    if link.ended_at is not None or patient_tier(link.patient, today=today) != Tier.TEEN:
        raise CaregiverError(gettext("This question is no longer open."))
    assent = CaregiverAssent.objects.create(
        link=link, given=given, answered_at=now, valid_until=assent_valid_until(today))
    audit_record(actor=link.patient.user, patient=link.patient,
                 action=AuditEvent.Action.CHANGE, object_type="caregiver_assent",
                 object_id=str(link.pk))
    return assent


@transaction.atomic
def caregiver_adult_grant(*, link: CaregiverLink, now: datetime) -> CaregiverLink:
    """An adult patient lets a caregiver (back) in, from today in their own calendar."""
    from .caregiving import Tier, patient_tier

    today = link.patient.local_date(now)
    if link.ended_at is not None or patient_tier(link.patient, today=today) != Tier.ADULT:
        raise CaregiverError(gettext("This question is no longer open."))
    link.adult_granted_on = today
    link.save(update_fields=["adult_granted_on"])
    audit_record(actor=link.patient.user, patient=link.patient,
                 action=AuditEvent.Action.CHANGE, object_type="caregiver_grant",
                 object_id=str(link.pk))
    return link
