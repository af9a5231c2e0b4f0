"""Conversations between a patient and their care team, worked like a clinic inbox.

A thread is never deleted, only closed; its messages are history (append-only). Nothing here
holds a copy of a message anywhere else: notifications say only that there is a new message.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Clinic, ImmutableModel, Patient
from photos.models import Photo

BODY_MAX_LENGTH = 5000


class Topic(models.TextChoices):
    PLAN = "plan", _("A question about my plan")
    SIDE_EFFECT = "side_effect", _("A side effect")
    COST = "cost", _("Cost or supply")
    OTHER = "other", _("Something else")
    # Started by the clinic (e.g. reaching out after a flag): the patient never picks it.
    FROM_CLINIC = "from_clinic", _("From your care team")


PATIENT_TOPICS = [Topic.PLAN, Topic.SIDE_EFFECT, Topic.COST, Topic.OTHER]


class Severity(models.TextChoices):
    MILD = "mild", _("Mild: I notice it")
    MODERATE = "moderate", _("Moderate: it bothers me")
    SEVERE = "severe", _("Severe: I need help soon")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING_ON_PATIENT = "waiting_on_patient", _("Waiting on the patient")
    CLOSED = "closed", _("Closed")


class Thread(models.Model):
    """One conversation. ``waiting_since`` is when the patient's oldest unanswered message
    arrived (the clinic owes an answer); a clinic reply clears it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="threads")
    # The patient's clinic, kept on the row so the inbox reads one index.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    topic = models.CharField(max_length=20, choices=Topic.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="assigned_threads")
    # Handed to the dermatologist: a clinical question staff cannot answer.
    for_dermatologist = models.BooleanField(default=False)
    # The flag whose outreach started the thread, if one did (clinic-only context).
    flag_id_started = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    waiting_since = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Marked private by the patient themself: only they and their care team see it, never a
    # caregiver acting for them (the list, the unread count, the page, the notices). Only the
    # patient can make a conversation private, and nobody makes it shared again.
    private = models.BooleanField(default=False)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [
            # The inbox: a clinic's threads by state, newest first.
            models.Index(fields=["clinic", "status", "-last_message_at", "-id"],
                         name="thread_inbox_idx"),
            models.Index(fields=["patient", "-last_message_at"], name="thread_patient_idx"),
            # The rate limit: a patient's threads started lately.
            models.Index(fields=["patient", "created_at"], name="thread_started_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity="") | Q(topic="side_effect"),
                name="severity_only_for_side_effects"),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk} of patient {self.patient_id}"

    @property
    def is_open(self) -> bool:
        return self.status != Status.CLOSED


class Message(ImmutableModel):
    """One message: the patient's or the clinic's (``from_clinic``), with an optional photo from
    the patient's diary and an optional mention of a plan step (its key and its name then)."""

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    from_clinic = models.BooleanField()
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    created_at = models.DateTimeField()
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    plan_item_key = models.UUIDField(null=True, blank=True)
    plan_item_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["thread", "created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"], name="message_thread_idx")]

    def __str__(self) -> str:
        return f"Message {self.pk} in thread {self.thread_id}"


class ThreadRead(models.Model):
    """Up to when one person has read one thread: unread counts and "new" marks come from it."""

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"],
                                               name="one_read_mark_per_person")]

    def __str__(self) -> str:
        return f"User {self.user_id} read thread {self.thread_id}"


class MessageNotice(models.Model):
    """That the patient was told of a clinic message (an email saying only that there is one):
    keyed, so a redelivered task sends nothing twice."""

    message = models.OneToOneField(Message, on_delete=models.PROTECT, related_name="notice")
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Notice of message {self.message_id}"


class ReplyTemplate(models.Model):
    """A clinic's ready answer (e.g. "How to apply the gel"), editable, never deleted."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="reply_templates")
    title = models.CharField(max_length=80)
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["clinic", "title", "id"]
        constraints = [models.UniqueConstraint(fields=["clinic", "title"],
                                               name="unique_reply_template_title")]

    def __str__(self) -> str:
        return self.title
