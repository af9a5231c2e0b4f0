"""Reminder settings and the delivery record that makes every reminder happen at most once.

The delivery row is claimed (inserted) before anything is sent; it is unique on
(patient, local date, kind), so a duplicate beat, two dispatchers or a redelivered task can
never produce a second reminder for the same day.
"""

from __future__ import annotations

import uuid
from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import CaregiverLink, Patient

DEFAULT_TIME = time(20, 0)
EVERY_DAY = "0123456"


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    # Not chosen in the settings form: a reminder goes to the patient's phones while they have a
    # push subscription (PushSubscription), by email otherwise. Recorded on Delivery.channel.
    PUSH = "push", _("Push notification")


class ReminderSettings(models.Model):
    """The patient's choices. A patient without a row gets the defaults (on, 20:00, every day)."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="reminder_settings"
    )
    enabled = models.BooleanField(_("Send me reminders"), default=True)
    local_time = models.TimeField(_("At (my local time)"), default=DEFAULT_TIME)
    weekdays = models.CharField(max_length=7, default=EVERY_DAY)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    include_goal = models.BooleanField(
        _("Quote my goal in reminder emails"), default=False,
        help_text=_("Email is not private: anyone who can see your inbox would read it. "
                    "Without this, reminders only say that a check-in is waiting."),
    )
    # An unsubscribe link issued before this instant no longer works (the patient changed
    # their mind since the email was sent).
    updated_at = models.DateTimeField(auto_now=True)
    # Who saved them last: the patient, or a caregiver acting for them (empty: never saved on
    # the Reminders page, e.g. turned off by an email's link).
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"Reminder settings of patient {self.patient_id}"


class Delivery(models.Model):
    class Kind(models.TextChoices):
        DAILY = "daily", _("Daily reminder")
        FOLLOW_UP = "follow_up", _("Next-morning follow-up")
        # The day before the next visit; its local date is the day it is sent
        # (reminders/visit_reminders.py).
        VISIT = "visit", _("Visit tomorrow")

    class Status(models.TextChoices):
        CLAIMED = "claimed", _("Waiting to send")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not needed")
        FAILED = "failed", _("Failed")

    class SkipReason(models.TextChoices):
        CHECKED_IN = "checked_in", _("Already checked in")
        NOTHING_DUE = "nothing_due", _("No steps due")
        TURNED_OFF = "turned_off", _("Reminders turned off")
        TOO_LATE = "too_late", _("Too late to send")
        # A young child's record without a mailbox, and no caregiver receiving their reminders.
        NO_RECIPIENT = "no_recipient", _("No one to remind")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="deliveries")
    local_date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DAILY)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLAIMED)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True)
    claim_token = models.UUIDField(
        default=uuid.uuid4, help_text="The dispatcher run that claimed it."
    )
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True, help_text="Error type only; no content.")

    class Meta:
        ordering = ["-local_date", "patient"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "local_date", "kind"], name="one_reminder_per_day_and_kind"
            ),
        ]
        indexes = [models.Index(fields=["status", "claimed_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.local_date} for patient {self.patient_id}"


class UnsubscribeLink(models.Model):
    """One per reminder email (one per child in a caregiver's combined email). The link carries
    a random token and nothing else; only its SHA-256 is stored, so neither the link nor a
    database copy tells whose it is or lets anyone rebuild it.

    A caregiver's link (``caregiver_link`` set) stops that caregiver's reminders for that child
    only (``CaregiverLink.receives_reminders``); a patient's stops the patient's reminders."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    caregiver_link = models.ForeignKey(CaregiverLink, null=True, blank=True,
                                       on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Unsubscribe link of patient {self.patient_id} issued {self.issued_at:%Y-%m-%d}"


class PushSubscription(models.Model):
    """One browser's Web Push subscription (``PushSubscription.toJSON()``), made when the patient
    asks for reminders on that phone. The endpoint is the push service's URL for it; the keys
    encrypt each payload for that browser alone (RFC 8291)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE,
                                related_name="push_subscriptions")
    endpoint = models.CharField(max_length=1024, unique=True)
    p256dh = models.CharField(max_length=100)  # base64url, uncompressed P-256 point (87 chars)
    auth = models.CharField(max_length=32)  # base64url, 16 bytes (22 chars)
    created_at = models.DateTimeField()
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Failed pushes since the last success; at PUSH_MAX_FAILURES the subscription is dropped.
    failure_count = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"Push subscription {self.pk} of patient {self.patient_id}"


class CaregiverReminderSettings(models.Model):
    """A caregiver's own choice, once for all the children they help (each child's link says
    whether that child's reminders come to them: ``CaregiverLink.receives_reminders``).
    A caregiver without a row gets the default: one combined reminder."""

    caregiver = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="caregiver_reminder_settings")
    combined = models.BooleanField(_("One reminder for all the children I help"), default=True)
    # A caregiver's unsubscribe link issued before this instant no longer works (they changed
    # their reminder choices since the email was sent).
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Caregiver reminder settings of user {self.caregiver_id}"


class CaregiverDelivery(models.Model):
    """One reminder email to a caregiver, claimed (inserted) before it is sent and committed on
    its own, so a retried or racing send never emails them twice: per child
    (caregiver, child, local date, kind), or the combined one naming every child they help
    (caregiver, local date, kind; ``patient`` empty), which a sibling's later reminder that
    evening finds taken."""

    caregiver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    local_date = models.DateField()
    kind = models.CharField(max_length=20, choices=Delivery.Kind.choices)
    # The child's reminder that sent it.
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["caregiver", "patient", "local_date", "kind"],
                condition=models.Q(patient__isnull=False),
                name="one_caregiver_reminder_per_child"),
            models.UniqueConstraint(
                fields=["caregiver", "local_date", "kind"],
                condition=models.Q(patient__isnull=True),
                name="one_combined_caregiver_reminder"),
        ]

    def __str__(self) -> str:
        return f"Caregiver reminder {self.local_date} to user {self.caregiver_id}"
