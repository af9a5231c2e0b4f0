"""Daily check-ins: what the patient did, skipped and why, how they feel, and the alliance pulse.

One check-in per patient per patient-local calendar date (database constraint). Each check-in
keeps counts of steps due and done, so adherence over many patients is one SQL aggregate.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Patient
from careplans.models import PlanItem, PlanRevision

# The alliance pulse's four questions, in our own words (not a licensed instrument). The full
# pulse asks all four every ``Clinic.pulse_interval_days``; in the weeks between, one of them a
# week (``CheckIn.partnership``), rotating.
PARTNERSHIP_QUESTIONS = {
    "heard": _("I feel heard by my dermatologist"),
    "shared_goals": _("We agree on what we are working toward"),
    "fits_life": _("This plan fits my life"),
    "safe_to_raise": _("I would feel comfortable raising a concern"),
}


class SideEffect(models.TextChoices):
    NONE = "none", _("None")
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")


class CheckIn(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="checkins")
    local_date = models.DateField(help_text="The patient's calendar date this check-in is for.")
    revision = models.ForeignKey(
        PlanRevision, on_delete=models.PROTECT, related_name="checkins",
        help_text="The plan revision in effect on that date.",
    )
    steps_due = models.PositiveSmallIntegerField()
    steps_done = models.PositiveSmallIntegerField()
    satisfaction = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Satisfaction with the plan, 1-5.",
    )
    itch = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)],
        help_text="Itch or discomfort, 0-10.",
    )
    side_effect = models.CharField(
        max_length=10, choices=SideEffect.choices, default=SideEffect.NONE
    )
    side_effect_item = models.ForeignKey(
        PlanItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    side_effect_text = models.CharField(max_length=300, blank=True)
    note = models.TextField(max_length=1000, blank=True)
    # The weekly partnership question (docs/flags.md, "Alliance"): one of the pulse's four
    # questions, rotating, answered 0-10 on a check-in in a week without a full pulse.
    partnership_question = models.CharField(
        max_length=20, blank=True, choices=list(PARTNERSHIP_QUESTIONS.items()),
        help_text="Which partnership question this check-in asked (blank: none).",
    )
    partnership = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)],
        help_text="The answer to the week's partnership question, 0-10.",
    )
    # Who saved it last: the patient, or a caregiver acting for them ("logged by Mum").
    # Empty on check-ins saved before caregivers existed (the patient's own).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # Set by the saving service from its ``now`` (not auto_now, which reads the clock itself).
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["patient", "-local_date"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "local_date"], name="one_checkin_per_day"),
            models.CheckConstraint(
                condition=Q(steps_done__lte=F("steps_due")), name="done_not_more_than_due"
            ),
        ]
        constraints += [
            models.CheckConstraint(
                condition=Q(partnership__isnull=True) | ~Q(partnership_question=""),
                name="partnership_answer_names_its_question",
            ),
        ]
        indexes = [models.Index(fields=["patient", "local_date"], include=["steps_due",
                                                                           "steps_done"],
                                name="checkin_adherence_idx")]

    def __str__(self) -> str:
        return f"Check-in {self.local_date} of patient {self.patient_id}"

    @property
    def adherence(self) -> float | None:
        return self.steps_done / self.steps_due if self.steps_due else None


class SkipReason(models.TextChoices):
    FORGOT = "forgot", _("Forgot")
    NO_TIME = "no_time", _("No time")
    RAN_OUT = "ran_out", _("Ran out")
    TOO_EXPENSIVE = "too_expensive", _("Too expensive")
    SIDE_EFFECTS = "side_effects", _("Side effects")
    CHOSE_NOT_TO = "chose_not_to", _("Chose not to")
    OTHER = "other", _("Other")


class StepLog(models.Model):
    """One step of a check-in: done, or skipped with a reason.

    ``counted`` logs are the day's ``steps_due`` (and the done ones its ``steps_done``): every
    step due that day, plus a windowed dose (an injection) logged done before its window's
    last day. An as-needed step's use is logged too, never counted (``counted=False``).
    ``taken_on`` is the date the patient says they did it (a windowed dose or an as-needed
    use; may be earlier than the check-in's day, within the dose's window)."""

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="steps")
    item = models.ForeignKey(PlanItem, on_delete=models.PROTECT, related_name="+")
    item_key = models.UUIDField(help_text="The step across revisions (PlanItem.key).")
    slot = models.CharField(max_length=10)
    done = models.BooleanField()
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True)
    # db_default too: bulk loaders that name their columns (the demo's COPY) need not know it.
    counted = models.BooleanField(
        default=True, db_default=True,
        help_text="In the day's steps due (False: an as-needed use).",
    )
    taken_on = models.DateField(
        null=True, blank=True, help_text="When the patient did it (windowed doses, as needed)."
    )

    class Meta:
        ordering = ["checkin", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checkin", "item", "slot"], name="one_log_per_step"),
            models.CheckConstraint(
                condition=Q(done=True, skip_reason="") | Q(done=False),
                name="skip_reason_only_when_skipped",
            ),
        ]
        indexes = [models.Index(fields=["item_key", "done"])]

    def __str__(self) -> str:
        return f"{self.item_key}/{self.slot}: {'done' if self.done else self.skip_reason}"


class AlliancePulse(models.Model):
    """Four 0-10 questions in our own words about the partnership (not a licensed instrument)."""

    QUESTIONS = PARTNERSHIP_QUESTIONS

    checkin = models.OneToOneField(CheckIn, on_delete=models.CASCADE, related_name="pulse")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="pulses")
    local_date = models.DateField()
    heard = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    shared_goals = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    fits_life = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    safe_to_raise = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    total = models.PositiveSmallIntegerField(validators=[MaxValueValidator(40)])

    class Meta:
        ordering = ["patient", "-local_date"]
        indexes = [models.Index(fields=["patient", "-local_date"])]

    def __str__(self) -> str:
        return f"Pulse {self.local_date} of patient {self.patient_id}: {self.total}/40"


class AttentionRequest(models.Model):
    """Work a check-in asks for that must not be lost (e.g. a severe side effect needs a human).

    Written in the same transaction as the check-in; a task processes it after commit, and a
    periodic sweep picks up any the broker never delivered. The flags app turns these into flags.
    """

    class Kind(models.TextChoices):
        SEVERE_SIDE_EFFECT = "severe_side_effect", _("Severe side effect")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    # What asked: a check-in, or a patient's message (messaging.Message, by id: messaging sits
    # below check-ins in the apps' order). Exactly one of the two.
    checkin = models.ForeignKey(CheckIn, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="attention")
    message_id = models.PositiveBigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkin", "kind"], name="one_request_per_kind"),
            models.UniqueConstraint(fields=["message_id", "kind"],
                                    condition=Q(message_id__isnull=False),
                                    name="one_request_per_message_kind"),
            models.CheckConstraint(
                condition=Q(checkin__isnull=False, message_id__isnull=True)
                | Q(checkin__isnull=True, message_id__isnull=False),
                name="attention_from_a_checkin_or_a_message"),
        ]
        indexes = [models.Index(fields=["processed_at"], condition=Q(processed_at__isnull=True),
                                name="attention_pending_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for patient {self.patient_id}"


class SubmissionKey(models.Model):
    """A check-in submission already applied, named by the key its phone generated
    (``crypto.randomUUID``): a check-in queued offline may be sent twice (Background Sync and
    the page both retrying, a lost response), and a replay must not save it again, nor
    overwrite what the patient changed since."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    key = models.UUIDField()
    checkin = models.ForeignKey(CheckIn, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "key"], name="one_submission_per_key"),
        ]

    def __str__(self) -> str:
        return f"Submission {self.key} of patient {self.patient_id}"
