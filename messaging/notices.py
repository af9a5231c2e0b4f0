"""Telling a patient that the clinic wrote: an email that says only that there is a message and
where to sign in. Never the text, a medicine or a condition (email is not a private channel)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from .models import Message, MessageNotice


def message_notice_send(*, message_id: int, now: datetime) -> bool:
    """Email the patient about one clinic message, once (a redelivered task sends nothing).
    Returns whether an email went out. The row is written in the same transaction as the send,
    so a failed send leaves nothing recorded and the task's retry tries again."""
    with transaction.atomic():
        message = (Message.objects.select_related("thread__patient__user",
                                                  "thread__patient__clinic")
                   .filter(pk=message_id, from_clinic=True).first())
        if message is None:
            return False
        _notice, created = MessageNotice.objects.select_for_update().get_or_create(
            message=message, defaults={"sent_at": now})
        if not created:
            return False
        patient = message.thread.patient
        user = patient.user
        link = settings.SITE_URL.rstrip("/") + reverse("message_thread",
                                                       args=[message.thread_id])
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = gettext("New message from your care team")
            body = render_to_string("messaging/email/new_message.txt", {
                "first_name": user.first_name, "clinic_name": patient.clinic.name,
                "link": link})
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[user.email])
    return True


def pending_notice_ids(*, before: datetime) -> list[int]:
    """Clinic messages older than ``before`` never notified (their task was lost)."""
    return list(Message.objects.filter(from_clinic=True, created_at__lte=before,
                                       notice__isnull=True)
                .values_list("pk", flat=True)[:500])
