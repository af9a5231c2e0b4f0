"""Flags: explainable early warnings that a patient needs a person to reach out.

A flag belongs to one patient and one rule; at most one is open per (patient, rule) (database
constraint). It carries its evidence (the numbers compared, the windows, the check-ins behind
them) so a reader sees why without recomputing. Every change is a FlagEvent row (history).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Clinic, ImmutableModel, Patient


class Rule(models.TextChoices):
    """The rules (docs/flags.md). The values are internal (kept from earlier versions: flags
    of every version stay readable); the labels are what people read. ``BELOW_EXPECTED`` is no
    longer raised: the published curve moves each patient's usual level instead."""

    ADHERENCE_DROP = "adherence_drop", _("Adherence falling")
    BELOW_EXPECTED = "below_expected", _("Below expected adherence (earlier rule)")
    SATISFACTION_DROP = "satisfaction_drop", _("Satisfaction falling")
    ALLIANCE_DROP = "alliance_drop", _("Partnership falling")
    GONE_QUIET = "gone_quiet", _("Stopped checking in")
    SEVERE_SIDE_EFFECT = "severe_side_effect", _("Severe side effect")
    ALLIANCE_AT_RISK = "alliance_at_risk", _("Alliance at risk")
    MISSED_DOSE = "missed_dose", _("Missed injection or dated task")


class Sensitivity(models.TextChoices):
    EARLIER = "earlier", _("Earlier flags (more of them)")
    BALANCED = "balanced", _("Balanced")
    FEWER = "fewer", _("Fewer flags (a little later)")


class Severity(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


class State(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    SUPPORTED = "supported", _("Reached and supported")
    PLAN_CHANGED = "plan_changed", _("Plan changed")
    UNREACHABLE = "unreachable", _("Could not reach")
    NOT_A_CONCERN = "not_a_concern", _("Not a concern")
    OTHER = "other", _("Other")


class FlagSettings(models.Model):
    """A clinic's thresholds for every rule. Defaults are the documented ones
    (docs/flags.md); a clinic without a row uses them."""

    clinic = models.OneToOneField(Clinic, on_delete=models.PROTECT, related_name="flag_settings")
    # How readily a fall is called (docs/flags.md: each rule's decision interval).
    sensitivity = models.CharField(
        max_length=10, choices=Sensitivity.choices, default=Sensitivity.BALANCED,
        help_text="Earlier flags catch falls a day or two sooner and raise more flags about "
                  "patients who turn out to be fine; fewer flags, the other way round.")
    # Minimum data: a patient's usual level is learnt only from this much of their history;
    # with less, that rule waits instead of guessing.
    min_usual_logged_days = models.PositiveSmallIntegerField(
        "Logged days needed to learn usual adherence", default=10,
        validators=[MinValueValidator(5), MaxValueValidator(56)])
    min_usual_ratings = models.PositiveSmallIntegerField(
        "Ratings needed to learn usual satisfaction", default=5,
        validators=[MinValueValidator(3), MaxValueValidator(56)])
    min_usual_answers = models.PositiveSmallIntegerField(
        "Partnership answers needed to learn the usual partnership", default=3,
        validators=[MinValueValidator(2), MaxValueValidator(8)])
    # 7. Alliance at risk
    at_risk_within_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(56)],
        help_text="An adherence fall and a satisfaction or partnership fall whose newest data "
                  "is at most this many days old make 'Alliance at risk'.")
    # The nightly sweep, at this clinic-local hour.
    sweep_hour = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(0), MaxValueValidator(23)],
        help_text="The hour (0-23, the clinic's time zone) of the nightly look at every "
                  "patient's last days.")

    class Meta:
        verbose_name_plural = "flag settings"

    def __str__(self) -> str:
        return f"Flag settings of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic_id: int) -> FlagSettings:
        """The clinic's settings, or the defaults (unsaved) when it has none."""
        return cls.objects.filter(clinic_id=clinic_id).first() or cls(clinic_id=clinic_id)


class FlagQuerySet(models.QuerySet):
    def open(self) -> FlagQuerySet:
        return self.exclude(state=State.RESOLVED)


class Flag(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="flags")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="flags")
    rule = models.CharField(max_length=30, choices=Rule.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    state = models.CharField(max_length=15, choices=State.choices, default=State.NEW)
    evidence = models.JSONField(help_text="Rule, numbers compared, windows, check-ins behind it.")
    evidence_at = models.DateTimeField(
        help_text="When the newest data behind the evidence was recorded.")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="assigned_flags")
    escalated_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(max_length=2000, blank=True)

    objects = FlagQuerySet.as_manager()

    class Meta:
        ordering = ["-severity", "opened_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "rule"], condition=~Q(state="resolved"),
                                    name="one_open_flag_per_patient_rule"),
            models.CheckConstraint(
                condition=Q(state="resolved", resolved_at__isnull=False)
                | (~Q(state="resolved") & Q(resolved_at__isnull=True)),
                name="resolved_state_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "state", "-severity", "opened_at"],
                         name="flag_queue_idx"),
            models.Index(fields=["patient", "rule", "-resolved_at"], name="flag_history_idx"),
            # The queue's default list (open flags, flags.selectors.QUEUE_ORDER) read in order,
            # a page at a time, instead of sorting every open flag of the clinic.
            models.Index(fields=["clinic", "-severity", "opened_at", "id"],
                         condition=~Q(state="resolved"), name="flag_open_queue_idx"),
            # The queue's open counts per state (flags.selectors.flag_state_counts) from the
            # index alone, not from rows as wide as their evidence.
            models.Index(fields=["clinic", "state"], include=["patient", "id"],
                         condition=~Q(state="resolved"), name="flag_open_states_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} flag of patient {self.patient_id} ({self.state})"

    @property
    def title(self) -> str:
        """What the rule found, as its evidence says ("Satisfaction has stayed low"), in the
        reader's language; the
        rule's label for evidence written before findings had titles."""
        title = self.evidence.get("title") if isinstance(self.evidence, dict) else None
        # Titles are stored in English and read in the reader's language (flags/wording.py).
        return gettext(str(title)) if title else self.get_rule_display()

    @property
    def is_open(self) -> bool:
        return self.state != State.RESOLVED

    @property
    def routed_to_dermatologist(self) -> bool:
        return self.rule == Rule.ALLIANCE_AT_RISK or self.escalated_at is not None


class FlagEvent(ImmutableModel):
    """One transition or evidence update of a flag: who, when, what (history, never changed)."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        EVIDENCE = "evidence", _("New evidence")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        OUTREACH = "outreach", _("Outreach logged")
        ESCALATED = "escalated", _("Escalated to dermatologist")
        RESOLVED = "resolved", _("Resolved")

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+",
                              help_text="Empty for the system (sweep, check-in).")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, null=True, blank=True)
    evidence = models.JSONField(null=True, blank=True)
    note = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["flag", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on flag {self.flag_id}"


class Outreach(models.Model):
    """A staff member's attempt to reach the patient about a flag."""

    class Channel(models.TextChoices):
        CALL = "call", _("Phone call")
        EMAIL = "email", _("Email")
        MESSAGE = "message", _("Portal message")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached the patient")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        SENT = "sent", _("Message sent")

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="outreach")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outreach")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    note = models.TextField(max_length=2000, blank=True,
                            help_text="For the clinic only.")
    message_to_patient = models.TextField(
        max_length=2000, blank=True,
        help_text="Shown to the patient under Messages (never labelled as a flag).")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} about flag {self.flag_id}"
