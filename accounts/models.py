"""Identity, clinics, roles, the patient registry and the audit trail.

Every other app depends on this one; it depends on no other project app.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from .timezones import known_zone_names, validate_timezone_name, zone_or_utc


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in: patient, dermatologist, clinic staff or clinic administrator.

    ``is_staff`` keeps Django's meaning (may use the admin site); the role comes from
    :class:`ClinicMembership` or :class:`Patient`. A clinic administrator is a member with the
    ``admin`` role and ``is_staff``: the admin site shows them their own clinic only
    (``accounts.admin_scope``). ``is_superuser`` is the platform operator spanning clinics, a
    role no clinic screen hands out.
    """

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    # Bumped when the user signs out: every other session of theirs stops verifying (see
    # ``_get_session_auth_hash``). Password changes already do this through the password hash.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # The language the portal speaks to this user (pages, emails, reminders); blank follows
    # the browser's Accept-Language. Chosen on the Account page (accounts.views.language_choose)
    # from settings.LANGUAGES; no model choices, so adding a language needs no migration.
    language = models.CharField("language", max_length=10, blank=True, default="")
    # Set once the user cares for a patient (``CaregiverLink``): only such users pay for the
    # acting-for lookup on each request (``accounts.middleware.ActingForMiddleware``).
    is_caregiver = models.BooleanField(default=False, editable=False)

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django stores this hash in each session and logs the session out when it no longer
        # matches. Epoch 0 keeps Django's own value, so existing sessions survive the upgrade.
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def display_name(self) -> str:
        if not self.has_mailbox and (self.first_name or self.last_name):
            return name_to_display(self.first_name, self.last_name, "")
        return name_to_display(self.first_name, self.last_name, self.email)

    @property
    def has_mailbox(self) -> bool:
        """False for a young child's record kept without a login of their own: nothing is
        ever emailed to such an account (``no_login_email``)."""
        return not self.email.endswith(NO_LOGIN_EMAIL_SUFFIX)


# A young child may have no login: their account holds the name under an address in the
# reserved ``.invalid`` domain (RFC 2606), which no mail server delivers to.
NO_LOGIN_EMAIL_SUFFIX = "@no-login.invalid"


def no_login_email() -> str:
    return f"child-{uuid.uuid4().hex}{NO_LOGIN_EMAIL_SUFFIX}"


def name_to_display(first_name: str, last_name: str, email: str) -> str:
    """How the portal names a person: their full name, or their email when they gave none
    (``User.display_name``; lists read as values use it directly)."""
    return f"{first_name} {last_name}".strip() or email


class Role(models.TextChoices):
    DERMATOLOGIST = "dermatologist", _("Dermatologist")
    STAFF = "staff", _("Clinic staff")
    # Runs the clinic in the admin site (clinicians, registry, settings); reads no health data.
    ADMIN = "admin", _("Clinic administrator")


# The roles that see patients' records in the portal.
CLINICIAN_ROLES = (Role.DERMATOLOGIST, Role.STAFF)


class Currency(models.TextChoices):
    GBP = "GBP", "£ GBP"
    EUR = "EUR", "€ EUR"
    USD = "USD", "$ USD"
    AUD = "AUD", "$ AUD"
    NZD = "NZD", "$ NZD"
    INR = "INR", "₹ INR"
    BRL = "BRL", "R$ BRL"


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone_name],
        help_text="IANA timezone name (e.g. Europe/London): the clinic's pages, audit log and "
                  "nightly flag sweep hour follow it.",
    )
    currency = models.CharField(
        max_length=3, choices=Currency.choices, default=Currency.GBP,
        help_text="New patient profiles start in this currency (a patient may change theirs).",
    )
    pulse_interval_days = models.PositiveSmallIntegerField(
        default=28, validators=[MinValueValidator(7), MaxValueValidator(90)],
        help_text="How often check-ins ask the four alliance-pulse questions. In the weeks "
                  "between, a check-in asks one of them a week.",
    )
    reminder_follow_up = models.BooleanField(
        "Next-morning follow-up", default=False,
        help_text="Send one gentle reminder the next morning when a reminded day is still "
                  "unlogged.",
    )
    reminder_follow_up_time = models.TimeField(
        "Follow-up at (patient's local time)", default=time(9, 0),
    )
    reminder_step_names = models.BooleanField(
        "Name the steps in reminder emails", default=False,
        help_text="Off: a reminder says how many steps are due and names no medicine or "
                  "treatment. On: it lists each step by name (e.g. \"Doxycycline 100 mg "
                  "capsule\"). Email is not a secure channel: anyone who can read a patient's "
                  "inbox, on a shared or work account, a lock screen or a mail server, would "
                  "learn their treatment and so their condition.",
    )
    # Messages (messaging app): what patients are told about answers, in working days.
    message_reply_days = models.PositiveSmallIntegerField(
        "Messages answered within (working days)", default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Patients read \"The clinic usually answers within 2 working days\" before "
                  "they write. Promise what the clinic keeps.",
    )
    # Caregivers (parents, guardians): the ages at which a patient's record changes hands.
    caregiver_teen_age = models.PositiveSmallIntegerField(
        "Teenager's own say from age", default=12,
        validators=[MinValueValidator(10), MaxValueValidator(16)],
        help_text="From this birthday a caregiver sees the plan, check-ins, reminders and "
                  "messages not marked private, and only while the teenager agrees (asked "
                  "then, and again every year).",
    )
    caregiver_adult_age = models.PositiveSmallIntegerField(
        "Adult from age", default=18, validators=[MinValueValidator(16), MaxValueValidator(21)],
        help_text="On this birthday caregiver access ends unless the patient grants it again.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's zone; UTC while a name saved before validation is not a zone (its
        pages say so: ``zone_is_known``)."""
        return zone_or_utc(self.timezone)

    @property
    def zone_is_known(self) -> bool:
        return self.timezone in known_zone_names()


class ClinicMembership(models.Model):
    """A clinician's place in one clinic. One clinic per clinician keeps scoping unambiguous."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="membership"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic", "role", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.clinic})"

    def clean(self) -> None:
        if Patient.objects.filter(user_id=self.user_id).exists():
            raise ValidationError("A patient account cannot also be a clinic member.")


class Patient(models.Model):
    """A patient of one clinic, with one responsible dermatologist.

    The care-plan app adds the lifestyle/budget/preferences profile; this row is the
    registry entry that access control and audit hang on.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    dermatologist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="patients_in_care",
        limit_choices_to={"membership__role": Role.DERMATOLOGIST},
    )
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone_name],
        help_text="IANA timezone name; the patient's calendar days are counted in it.",
    )
    # Needed for caregivers' age tiers (``accounts.caregiving``); empty reads as an adult.
    date_of_birth = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name", "user__email"]
        indexes = [models.Index(fields=["clinic", "is_active"])]

    def __str__(self) -> str:
        return self.user.display_name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_today(self) -> date:
        """Today in the patient's calendar: a clock read, for views only."""
        return timezone.localdate(timezone=self.zone)

    def local_date(self, now: datetime) -> date:
        """The patient's calendar date at the instant ``now``."""
        return timezone.localdate(now, timezone=self.zone)

    def clean(self) -> None:
        membership = ClinicMembership.objects.filter(user_id=self.dermatologist_id).first()
        if membership is None or membership.role != Role.DERMATOLOGIST:
            raise ValidationError({"dermatologist": "Choose a dermatologist."})
        if membership.clinic_id != self.clinic_id:
            raise ValidationError({"dermatologist": "The dermatologist must work at this clinic."})


class Invitation(models.Model):
    """A dermatologist's invitation of a patient; accepted when the patient sets a password."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invitations")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of patient {self.patient_id}"


class Relationship(models.TextChoices):
    PARENT = "parent", _("Parent")
    GUARDIAN = "guardian", _("Guardian")
    OTHER = "other", _("Other")


class CaregiverLink(models.Model):
    """A caregiver (a parent, a guardian, someone an adult patient chose) acting for a patient.

    What the caregiver may see follows the patient's age on each request
    (``accounts.caregiving.care_access``): the whole record for a child, part of it with the
    teenager's yearly assent, and for an adult only after the adult grants it
    (``adult_granted_on``). Ending a link (``ended_at``) stops every session of the caregiver
    at their next request; links are kept, never deleted.
    """

    caregiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="caregiver_links",
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="caregiver_links")
    relationship = models.CharField(max_length=10, choices=Relationship.choices)
    # How the patient names this person in their record ("Mum", "Dad", "Grandma"); the
    # clinic's pages say "logged by Mum".
    called = models.CharField(max_length=40, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField()
    # The patient-local date an adult patient granted (or granted again) this access.
    adult_granted_on = models.DateField(null=True, blank=True)
    receives_reminders = models.BooleanField(default=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["patient", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["caregiver", "patient"], condition=models.Q(ended_at__isnull=True),
                name="one_current_caregiver_link",
            ),
        ]
        indexes = [models.Index(fields=["caregiver", "ended_at"])]

    def __str__(self) -> str:
        return f"Caregiver link {self.pk}"

    @property
    def name(self) -> str:
        """How pages name the caregiver: what the patient calls them, else their name."""
        return self.called or self.caregiver.display_name


class CaregiverAssent(models.Model):
    """A teenager's answer to "may this caregiver keep seeing my plan, check-ins and
    reminders?": yes lasts until ``valid_until`` (a year), no pauses the access. Answers are
    history: each is a new row and the newest counts."""

    link = models.ForeignKey(CaregiverLink, on_delete=models.PROTECT, related_name="assents")
    given = models.BooleanField()
    answered_at = models.DateTimeField()
    valid_until = models.DateField()

    class Meta:
        ordering = ["-answered_at", "-id"]

    def __str__(self) -> str:
        return f"Assent {self.pk} ({'yes' if self.given else 'no'})"


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise PermissionError("These rows are immutable.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("These rows are immutable.")


class ImmutableModel(models.Model):
    """Rows that are history (audit, plan revisions): written once, never updated or deleted
    through the ORM."""

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise PermissionError(f"{type(self).__name__} rows are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{type(self).__name__} rows are immutable.")


class AuditEvent(ImmutableModel):
    """Append-only record of a clinician's or staff member's access to a patient's record, and
    of every sign-in, failed sign-in, sign-out and two-step verification change, and of every
    change made in the admin site (``object_type`` ``admin_<model>``, ``object_id`` its pk).

    ``actor`` is empty only for a failed sign-in with an email address that has no account:
    the typed address is never stored, only a keyed hash of it in ``object_id``.

    ``clinic`` is whose log the event belongs to, written with the event (``audit_record``): the
    patient's clinic, else the actor's. It is empty where no clinic applies (an unknown address's
    failed sign-in, a patient's own sign-in, an operator's command). ``actor_clinic`` is set only
    when the actor is a member of another clinic than ``clinic`` (a refused attempt at another
    clinic's patient), so that both clinics' logs list it through an index.

    In PostgreSQL the table is partitioned by month of ``at`` (``core/audit_partitions.py``); its
    primary key there is ``(id, at)``.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        CREATE = "create", _("Created")
        CHANGE = "change", _("Changed")
        DELETE = "delete", _("Deleted")
        PASSWORD_RESET = "password_reset", _("Password reset sent")
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login_failed", _("Sign-in failed")
        LOGOUT = "logout", _("Signed out")
        MFA_ADDED = "mfa_added", _("Two-step verification added")
        MFA_REMOVED = "mfa_removed", _("Two-step verification removed")
        MFA_RESET = "mfa_reset", _("Recovery codes regenerated")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # No foreign key is indexed alone: the (key, -at, -id) indexes below serve every read.
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False,
    )
    actor_clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="audit_events", db_index=False,
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events",
        db_index=False,
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    allowed = models.BooleanField()

    class Meta:
        ordering = ["-at", "-id"]
        # One per screen, each in its order: the clinic log, a patient's reads, a person's acts.
        indexes = [
            models.Index(fields=["clinic", "-at", "-id"], name="audit_clinic_at_id"),
            models.Index(fields=["patient", "-at", "-id"], name="audit_patient_at_id"),
            models.Index(fields=["actor", "-at", "-id"], name="audit_actor_at_id"),
            models.Index(fields=["actor_clinic", "-at", "-id"], name="audit_actor_clinic_at_id",
                         condition=models.Q(actor_clinic__isnull=False)),
        ]

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "DENIED"
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {verdict}"
